import { z } from "zod";
import { executionStatusSchema, userIdSchema } from "../domain.js";
import { executionAuthorizationSchema } from "../events/schemas.js";
import { pageOf, paginationQuerySchema } from "./common.js";

/** The seed's tool execution request. */
export const executeToolBodySchema = z
  .object({
    user_id: userIdSchema,
    action_name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9_]+$/, "must be an action slug such as GITHUB_CREATE_AN_ISSUE")
      .transform((s) => s.toUpperCase()),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Our connection id or Composio's "ca_..." id; without it the user's ACTIVE connection for the toolkit is used. */
    connected_account_id: z.string().min(1).max(100).optional(),
  })
  .strict();
export type ExecuteToolBody = z.infer<typeof executeToolBodySchema>;

/** `wait` in seconds, at most EXECUTE_MAX_WAIT_SECONDS (checked against the config by the gateway). */
export const executeToolQuerySchema = z.object({ wait: z.coerce.number().positive().optional() });

/** 1..255 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, "must be 1 to 255 printable characters");

/** The approval an execution asked for: until when, why, for which arguments, and who decided. */
export const executionApprovalSchema = z.object({
  expires_at: z.iso.datetime().nullable(),
  rules: z.array(z.string()),
  arguments_hash: z.string().nullable(),
  /** The arguments to approve, values the tool's schema marks secret redacted ("[REDACTED]"). */
  arguments: z.record(z.string(), z.unknown()).nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.iso.datetime().nullable(),
});

export const executionViewSchema = z
  .object({
    execution_id: z.uuid(),
    user_id: z.string(),
    action_name: z.string(),
    connected_account_id: z.string().nullable(),
    status: executionStatusSchema,
    successful: z.boolean().nullable(),
    data: z.unknown(),
    result_truncated: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    log_id: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    attempts: z.number().int(),
    created_at: z.iso.datetime(),
    started_at: z.iso.datetime().nullable(),
    completed_at: z.iso.datetime().nullable(),
    /** Present when the tool policy asked for an approval (see docs/agents.md). */
    approval: executionApprovalSchema.optional(),
    /** Present while the execution is AWAITING_AUTH (sign-in on demand). */
    authorization: executionAuthorizationSchema.optional(),
  })
  .meta({ id: "Execution" });
export type ExecutionView = z.infer<typeof executionViewSchema>;

/** 202: queued, or parked waiting for a person (then with what it waits for). */
export const executionAcceptedSchema = z.object({
  execution_id: z.uuid(),
  status: z.enum(["QUEUED", "AWAITING_AUTH", "AWAITING_APPROVAL"]),
  poll_url: z.string(),
  approval: executionApprovalSchema.optional(),
  /** AWAITING_AUTH: where the user signs in; the execution runs by itself once the connection is ACTIVE. */
  authorization: executionAuthorizationSchema.optional(),
});
export type ExecutionAccepted = z.infer<typeof executionAcceptedSchema>;

const reasonSchema = z.string().trim().min(1).max(1000);
export const approveExecutionBodySchema = z
  .object({
    /** The arguments_hash of the approval request the approver saw: refused (409) if it is not the execution's. */
    arguments_hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the arguments_hash of the approval request")
      .optional(),
    reason: reasonSchema.optional(),
  })
  .strict();
export const denyExecutionBodySchema = z.object({ reason: reasonSchema.optional() }).strict();
export const cancelExecutionBodySchema = z.object({ reason: reasonSchema.optional() }).strict();
export const executionIdParamsSchema = z.object({ id: z.uuid() });

/** `GET /executions`: newest first; a user token sees its own user's only (the approvals inbox lists the parked ones). */
export const listExecutionsQuerySchema = paginationQuerySchema.extend({
  status: executionStatusSchema.optional(),
  user_id: userIdSchema.optional(),
});
export type ListExecutionsQuery = z.infer<typeof listExecutionsQuerySchema>;
export const executionPageSchema = pageOf(executionViewSchema);
