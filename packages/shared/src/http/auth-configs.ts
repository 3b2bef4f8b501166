import { z } from "zod";
import { toolkitSlugSchema } from "../domain.js";
import { paginationQuerySchema } from "./common.js";

/** "true"/"false" (and 1/0) in a query string. */
const queryBoolean = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

/** Composio's auth config ids ("ac_..."). */
export const authConfigIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, "must be an auth config id such as ac_...");
export const authConfigIdParamsSchema = z.object({ id: authConfigIdSchema });

export const authSchemeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_]+$/, "must be an auth scheme such as OAUTH2")
  .transform((s) => s.toUpperCase());

/** The seed's filters of GET /auth-configs. */
export const listAuthConfigsQuerySchema = paginationQuerySchema.extend({
  is_composio_managed: queryBoolean.optional(),
  toolkit_slug: toolkitSlugSchema.optional(),
  show_disabled: queryBoolean.default(false),
  /** Case-insensitive "name contains". */
  search: z.string().trim().min(1).max(200).optional(),
});

const OAUTH_SCHEMES = new Set(["OAUTH2", "OAUTH1"]);

/** Client id/secret, scopes and whatever else the scheme needs; passed to Composio sealed, never stored by us. */
export const authConfigCredentialsSchema = z.looseObject({
  client_id: z.string().min(1).max(1_000).optional(),
  client_secret: z.string().min(1).max(4_000).optional(),
  scopes: z.union([z.array(z.string().min(1).max(500)).max(100), z.string().max(5_000)]).optional(),
});

export const createAuthConfigBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    toolkit_slug: toolkitSlugSchema,
    auth_scheme: authSchemeSchema,
    credentials: authConfigCredentialsSchema,
  })
  .strict()
  .superRefine((body, context) => {
    if (!OAUTH_SCHEMES.has(body.auth_scheme)) return;
    for (const field of ["client_id", "client_secret"] as const) {
      if (body.credentials[field] === undefined)
        context.addIssue({ code: "custom", path: ["credentials", field], message: `is required for ${body.auth_scheme}` });
    }
  });
export type CreateAuthConfigBody = z.infer<typeof createAuthConfigBodySchema>;

export const updateAuthConfigBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    credentials: authConfigCredentialsSchema.optional(),
  })
  .strict()
  .refine((body) => body.name !== undefined || body.credentials !== undefined, { message: "Give name or credentials" });
export type UpdateAuthConfigBody = z.infer<typeof updateAuthConfigBodySchema>;

/** An auth config as we answer it: never a credential. */
export const authConfigViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    toolkit_slug: z.string(),
    auth_scheme: z.string(),
    is_composio_managed: z.boolean(),
    enabled: z.boolean(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "AuthConfig" });
export type AuthConfigView = z.infer<typeof authConfigViewSchema>;

/** The job took longer than the wait: GET poll_url to see the outcome. */
export const authConfigAcceptedSchema = z.object({
  auth_config_id: z.string().nullable(),
  status: z.literal("PENDING"),
  poll_url: z.string(),
});
