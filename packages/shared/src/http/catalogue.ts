import { z } from "zod";
import { toolkitSlugSchema, userIdSchema } from "../domain.js";
import { paginationQuerySchema } from "./common.js";

/** Where a catalogue answer came from: stale is true when Composio failed and an expired copy was served. */
export const cacheInfoSchema = z.object({ stale: z.boolean(), fetched_at: z.iso.datetime() });

export const listToolkitsQuerySchema = paginationQuerySchema.extend({
  search: z.string().trim().min(1).max(200).optional(),
  category: z.string().trim().min(1).max(100).optional(),
});
export const listActionsQuerySchema = paginationQuerySchema.extend({
  search: z.string().trim().min(1).max(200).optional(),
  /** Adds `access`: what the tool policy lets this user do with each action. */
  user_id: userIdSchema.optional(),
});

/** What the tool policy lets one user do with an action. */
export const actionAccessSchema = z.object({
  allowed: z.boolean(),
  requires_approval: z.boolean(),
  /** The rule that refuses it ("deny:github", "allow"), or those that ask for an approval ("tag:destructiveHint"). */
  rules: z.array(z.string()),
});
export type ActionAccess = z.infer<typeof actionAccessSchema>;
export const toolkitSlugParamsSchema = z.object({ slug: toolkitSlugSchema });

export const toolkitViewSchema = z
  .object({
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    logo: z.string().nullable(),
    categories: z.array(z.string()),
    auth_schemes: z.array(z.string()),
    composio_managed_auth_schemes: z.array(z.string()),
    no_auth: z.boolean(),
    tools_count: z.number().nullable(),
  })
  .meta({ id: "Toolkit" });
export type ToolkitView = z.infer<typeof toolkitViewSchema>;

export const actionViewSchema = z
  .object({
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    toolkit: z.string(),
    input_parameters: z.unknown(),
    output_parameters: z.unknown(),
    version: z.string().nullable(),
    tags: z.array(z.string()),
    no_auth: z.boolean(),
    /** Only with ?user_id=. */
    access: actionAccessSchema.optional(),
  })
  .meta({ id: "Action" });
export type ActionView = z.infer<typeof actionViewSchema>;

export const toolkitPageSchema = z.object({
  items: z.array(toolkitViewSchema),
  next_cursor: z.string().nullable(),
  cache: cacheInfoSchema,
});
export const actionPageSchema = z.object({ items: z.array(actionViewSchema), next_cursor: z.string().nullable(), cache: cacheInfoSchema });
export const toolkitResponseSchema = toolkitViewSchema.extend({ cache: cacheInfoSchema });
