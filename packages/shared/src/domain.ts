import { z } from "zod";

/** Composio's connected-account statuses (REVOKED exists on v3.1 only). */
export const CONNECTION_STATUSES = ["INITIALIZING", "INITIATED", "ACTIVE", "FAILED", "EXPIRED", "INACTIVE", "REVOKED"] as const;
export const connectionStatusSchema = z.enum(CONNECTION_STATUSES);
export type ConnectionStatus = z.infer<typeof connectionStatusSchema>;

/**
 * Where the tenant's confirmation of a sign-in stands (the user verifier, docs/security.md): null when the tenant has
 * no verifier. AWAITING_SIGN_IN: the user has not finished at the provider; AWAITING_CONFIRMATION: Composio reports
 * the account ACTIVE, the tenant's backend has not confirmed the user yet (the connection stays INITIATED);
 * CONFIRMED: it did (the connection is ACTIVE once Composio's account is); REFUSED: it named another user (FAILED).
 */
export const CONNECTION_VERIFICATIONS = ["AWAITING_SIGN_IN", "AWAITING_CONFIRMATION", "CONFIRMED", "REFUSED"] as const;
export const connectionVerificationSchema = z.enum(CONNECTION_VERIFICATIONS);
export type ConnectionVerification = z.infer<typeof connectionVerificationSchema>;
/** Verifications that keep a connection from becoming ACTIVE, whatever Composio says. */
export const UNCONFIRMED_VERIFICATIONS = ["AWAITING_SIGN_IN", "AWAITING_CONFIRMATION"] as const satisfies readonly ConnectionVerification[];
export const isAwaitingVerification = (verification: ConnectionVerification | null): boolean =>
  verification !== null && (UNCONFIRMED_VERIFICATIONS as readonly string[]).includes(verification);

/** Statuses after which polling stops: nothing will change without a new action by the user or by us. */
export const SETTLED_CONNECTION_STATUSES: readonly ConnectionStatus[] = ["ACTIVE", "FAILED", "EXPIRED", "INACTIVE", "REVOKED"];

/**
 * An execution's lifecycle: QUEUED → [AWAITING_AUTH] → [AWAITING_APPROVAL] → RUNNING → SUCCEEDED | FAILED, and also
 * DENIED (a person refused it), EXPIRED (the sign-in link or the approval ran out), CANCELLED (cancelled while
 * queued or parked). OUTCOME_UNKNOWN: the call to Composio may or may not have happened (a worker died during it) and
 * is not repeated. See docs/agents.md.
 */
export const EXECUTION_STATUSES = [
  "QUEUED",
  "AWAITING_AUTH",
  "AWAITING_APPROVAL",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "DENIED",
  "EXPIRED",
  "CANCELLED",
  "OUTCOME_UNKNOWN",
] as const;
export const executionStatusSchema = z.enum(EXECUTION_STATUSES);
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

/** Parked: waiting for a person (to sign in, or to approve), not for a worker. */
export const PARKED_EXECUTION_STATUSES = ["AWAITING_AUTH", "AWAITING_APPROVAL"] as const satisfies readonly ExecutionStatus[];
export type ParkedExecutionStatus = (typeof PARKED_EXECUTION_STATUSES)[number];
export const isParkedExecutionStatus = (status: string): status is ParkedExecutionStatus =>
  (PARKED_EXECUTION_STATUSES as readonly string[]).includes(status);

/** The statuses that end an execution: nothing changes it afterwards, and `execution.completed` is published once. */
export const FINAL_EXECUTION_STATUSES = [
  "SUCCEEDED",
  "FAILED",
  "DENIED",
  "EXPIRED",
  "CANCELLED",
  "OUTCOME_UNKNOWN",
] as const satisfies readonly ExecutionStatus[];
export const finalExecutionStatusSchema = z.enum(FINAL_EXECUTION_STATUSES);
export type FinalExecutionStatus = z.infer<typeof finalExecutionStatusSchema>;
export const isFinalExecutionStatus = (status: string): status is FinalExecutionStatus =>
  (FINAL_EXECUTION_STATUSES as readonly string[]).includes(status);

/** Every transition the lifecycle allows: the one rule the gateway and the worker check before they change a status. */
export const EXECUTION_TRANSITIONS: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  QUEUED: ["AWAITING_AUTH", "AWAITING_APPROVAL", "RUNNING", "FAILED", "CANCELLED"],
  AWAITING_AUTH: ["AWAITING_APPROVAL", "QUEUED", "RUNNING", "FAILED", "EXPIRED", "CANCELLED"],
  AWAITING_APPROVAL: ["QUEUED", "RUNNING", "DENIED", "EXPIRED", "CANCELLED"],
  // RUNNING → AWAITING_AUTH: the worker found no usable connection and started one (sign-in on demand).
  RUNNING: ["AWAITING_AUTH", "SUCCEEDED", "FAILED", "OUTCOME_UNKNOWN", "RUNNING"],
  SUCCEEDED: [],
  FAILED: [],
  DENIED: [],
  EXPIRED: [],
  CANCELLED: [],
  OUTCOME_UNKNOWN: [],
};
export const canTransition = (from: ExecutionStatus, to: ExecutionStatus): boolean => EXECUTION_TRANSITIONS[from].includes(to);

/** The toolkit of a tool: the slug's prefix before the first "_", lower-cased (GITHUB_CREATE_ISSUE -> github). */
export function toolkitOfTool(toolSlug: string): string {
  const at = toolSlug.indexOf("_");
  return (at > 0 ? toolSlug.slice(0, at) : toolSlug).toLowerCase();
}

/** Whether a connection's status is settled (see SETTLED_CONNECTION_STATUSES). */
export const isSettled = (status: ConnectionStatus) => SETTLED_CONNECTION_STATUSES.includes(status);

/** A UUID (any version), as our ids are: the one pattern used to tell our ids from Composio's. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID_PATTERN.test(value);

/** The actor of what no caller asked for directly (a worker's sign-in, a wake-up, an expiry), in audit rows and events. */
export const SYSTEM_ACTOR = "system";

export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, "may contain letters, digits and . _ @ + - only");
export const toolkitSlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9_-]+$/i, "must be a toolkit slug such as github")
  .transform((s) => s.toLowerCase());
export const labelSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:/-]+$/, "may contain letters, digits and . _ : / - only");
export const labelsSchema = z
  .array(labelSchema)
  .max(20)
  .transform((labels) => [...new Set(labels)]);

/**
 * The user id we send to Composio: one Composio project serves every tenant, so a tenant's "alice" and another's
 * never share an account. Tenant ids are UUIDs, so the first ":" always ends the tenant part.
 */
export function composioUserId(tenantId: string, userId: string): string {
  return `${tenantId}:${userId}`;
}

/** The inverse of composioUserId; null for a user id that is not one of ours (a tenant UUID, ":", the user). */
export function parseComposioUserId(value: string): { tenantId: string; userId: string } | null {
  const at = value.indexOf(":");
  if (at !== 36 || !isUuid(value.slice(0, at))) return null;
  return { tenantId: value.slice(0, at).toLowerCase(), userId: value.slice(at + 1) };
}
