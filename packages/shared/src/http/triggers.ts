import { z } from "zod";
import { labelSchema, labelsSchema, toolkitSlugSchema, userIdSchema } from "../domain.js";
import { triggerStatusSchema } from "../events/schemas.js";
import { cacheInfoSchema } from "./catalogue.js";
import { paginationQuerySchema } from "./common.js";

export const triggerSlugSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_]+$/, "must be a trigger slug such as GITHUB_COMMIT_EVENT")
  .transform((s) => s.toUpperCase());

/** Bounds of a trigger config: it is stored in Postgres and sent to Composio as it is. */
export const TRIGGER_CONFIG_MAX_BYTES = 16 * 1024;
export const TRIGGER_CONFIG_MAX_DEPTH = 8;

/** A NUL character (Postgres' jsonb refuses it) or a UTF-16 surrogate without its pair (not valid Unicode). */
const unstorable = (text: string) => text.includes("\0") || /\p{Cs}/u.test(text);

/** The first problem of a JSON value that we would refuse to store or send on, with where it is; null if none. */
function jsonProblem(value: unknown, path: string[], depth: number): { path: string[]; message: string } | null {
  if (typeof value === "string") return unstorable(value) ? { path, message: "contains a NUL character or an unpaired surrogate" } : null;
  if (value === null || typeof value !== "object") return null;
  if (depth >= TRIGGER_CONFIG_MAX_DEPTH) return { path, message: `is nested deeper than ${TRIGGER_CONFIG_MAX_DEPTH} levels` };
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, child] of entries) {
    if (unstorable(key)) return { path, message: "has a key with a NUL character or an unpaired surrogate" };
    const problem = jsonProblem(child, [...path, key], depth + 1);
    if (problem) return problem;
  }
  return null;
}

/** A trigger's config: a JSON object, storable, at most TRIGGER_CONFIG_MAX_BYTES and TRIGGER_CONFIG_MAX_DEPTH deep. */
export const triggerConfigSchema = z.record(z.string(), z.unknown()).superRefine((config, ctx) => {
  const problem = jsonProblem(config, [], 1);
  if (problem) {
    ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
    return;
  }
  // TextEncoder, not Buffer: the console checks bodies with this schema too.
  if (new TextEncoder().encode(JSON.stringify(config)).length > TRIGGER_CONFIG_MAX_BYTES) {
    ctx.addIssue({ code: "custom", message: `must be at most ${TRIGGER_CONFIG_MAX_BYTES} bytes of JSON` });
  }
});

export const createTriggerBodySchema = z
  .object({
    user_id: userIdSchema,
    trigger_slug: triggerSlugSchema,
    /** Our connection id; without it, the user's newest ACTIVE connection of the trigger's toolkit. */
    connection_id: z.uuid().optional(),
    config: triggerConfigSchema.default({}),
    labels: labelsSchema.default([]),
  })
  .strict();
export type CreateTriggerBody = z.infer<typeof createTriggerBodySchema>;

export const updateTriggerBodySchema = z
  .object({ config: triggerConfigSchema.optional(), labels: labelsSchema.optional() })
  .strict()
  .refine((body) => body.config !== undefined || body.labels !== undefined, { message: "Give config, labels or both" });
export type UpdateTriggerBody = z.infer<typeof updateTriggerBodySchema>;

export const triggerViewSchema = z
  .object({
    trigger_id: z.uuid(),
    user_id: z.string(),
    toolkit: z.string(),
    trigger_slug: z.string(),
    connection_id: z.uuid().nullable(),
    /** Composio's trigger instance id ("ti_..."), once created there. */
    composio_trigger_id: z.string().nullable(),
    status: triggerStatusSchema,
    status_reason: z.string().nullable(),
    config: z.record(z.string(), z.unknown()),
    labels: z.array(z.string()),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "Trigger" });
export type TriggerView = z.infer<typeof triggerViewSchema>;

/** A trigger operation still running when the wait ended: GET poll_url for the trigger's state. */
export const triggerOpAcceptedSchema = z.object({
  trigger_id: z.uuid(),
  op: z.string(),
  status: z.literal("PENDING"),
  poll_url: z.string(),
});

export const listTriggersQuerySchema = paginationQuerySchema.extend({
  user_id: userIdSchema.optional(),
  toolkit: toolkitSlugSchema.optional(),
  status: triggerStatusSchema.optional(),
  label: labelSchema.optional(),
});

export const triggerIdParamsSchema = z.object({ id: z.uuid() });

export const listTriggerTypesQuerySchema = paginationQuerySchema.extend({ toolkit: toolkitSlugSchema.optional() });
export const triggerTypeSlugParamsSchema = z.object({ slug: triggerSlugSchema });

export const triggerTypeViewSchema = z
  .object({
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    instructions: z.string().nullable(),
    /** "webhook" or "poll". */
    type: z.string().nullable(),
    toolkit: z.string(),
    /** JSON Schema of the config a trigger of this type needs (POST /triggers checks it). */
    config: z.record(z.string(), z.unknown()),
    /** JSON Schema of the payload its trigger.message events carry. */
    payload: z.record(z.string(), z.unknown()),
    version: z.string().nullable(),
  })
  .meta({ id: "TriggerType" });
export type TriggerTypeView = z.infer<typeof triggerTypeViewSchema>;

export const triggerTypePageSchema = z.object({
  items: z.array(triggerTypeViewSchema),
  next_cursor: z.string().nullable(),
  cache: cacheInfoSchema,
});
export const triggerTypeResponseSchema = triggerTypeViewSchema.extend({ cache: cacheInfoSchema });
