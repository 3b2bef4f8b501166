import { z } from "zod";
import { userIdSchema } from "../domain.js";

/**
 * A tool pattern: "*" (every tool), a toolkit slug in lower case ("github": every action of the toolkit), or an
 * action slug in upper case where "*" stands for any run of characters ("GMAIL_SEND_*", "*_DELETE_*").
 */
export const toolPatternSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => p === "*" || /^[a-z0-9][a-z0-9_-]*$/.test(p) || (/^[A-Z0-9_*]+$/.test(p) && /[A-Z0-9]/.test(p)), {
    message: 'must be "*", a toolkit slug in lower case (github) or an action pattern in upper case (GMAIL_SEND_*)',
  });

/** A Composio tool tag, e.g. "destructiveHint", "readOnlyHint", "important". */
export const toolTagSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, "must be a tool tag such as destructiveHint");

const patterns = z.array(toolPatternSchema).max(500);

/**
 * A tool policy as a tenant PUTs it (for itself, or as one user's override). Absent fields: for the tenant, the
 * defaults (every tool allowed, none denied, no approvals, only the user approves, sign-in on demand on); for a
 * user, the tenant's. A field the override sets replaces the tenant's field as a whole.
 */
export const toolPolicySchema = z
  .object({
    /** Only these tools may run; null or absent: every tool. An empty list allows nothing. */
    allow: patterns.nullable().optional(),
    /** These never run, even if allowed. */
    deny: patterns.optional(),
    /** These park AWAITING_APPROVAL until a person approves: by tool pattern, or by Composio's tool tags. */
    require_approval: z
      .object({ tools: patterns.optional(), tags: z.array(toolTagSchema).max(100).optional() })
      .strict()
      .optional(),
    /** Whether a tenant API key may approve and deny; otherwise only the user's own token may. */
    api_key_may_approve: z.boolean().optional(),
    /** Whether a tool of a toolkit the user has not connected parks AWAITING_AUTH (with a sign-in link) or fails. */
    sign_in_on_demand: z.boolean().optional(),
  })
  .strict()
  .meta({ id: "ToolPolicy" });
export type ToolPolicyDocument = z.infer<typeof toolPolicySchema>;

/** The policy that applies to a user: the tenant's, with the user's override on top, every field resolved. */
export const effectiveToolPolicySchema = z
  .object({
    allow: z.array(z.string()).nullable(),
    deny: z.array(z.string()),
    require_approval: z.object({ tools: z.array(z.string()), tags: z.array(z.string()) }),
    api_key_may_approve: z.boolean(),
    sign_in_on_demand: z.boolean(),
  })
  .meta({ id: "EffectiveToolPolicy" });
export type EffectiveToolPolicy = z.infer<typeof effectiveToolPolicySchema>;

export const toolPolicyQuerySchema = z.object({ user_id: userIdSchema.optional() });

export const toolPolicyResponseSchema = z
  .object({
    /** null: the tenant's own policy. */
    user_id: z.string().nullable(),
    /** As stored (null: none is stored). */
    policy: toolPolicySchema.nullable(),
    /** What applies (to the user, with `user_id`). */
    effective: effectiveToolPolicySchema,
    updated_at: z.iso.datetime().nullable(),
    updated_by: z.string().nullable(),
  })
  .meta({ id: "ToolPolicyAnswer" });
export type ToolPolicyResponse = z.infer<typeof toolPolicyResponseSchema>;
