import { EXECUTION_STATUSES, type ExecutionStatus } from "./domain.js";

/**
 * The audit log's schema of actions: every action any service writes, what kind of resource it is about, and what it
 * records. The one list: writers take an `AuditAction` (a typo does not compile), the read API's `action` filter and
 * the docs (docs/audit-log.md) are checked against it. Add an action here before writing it.
 */
export const AUDIT_RESOURCE_TYPES = [
  "tenant",
  "api_key",
  "agent_session",
  "auth_config",
  "connection",
  "execution",
  "tool_policy",
  "trigger",
] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

const executionActions = Object.fromEntries(
  EXECUTION_STATUSES.map((status) => [executionAuditAction(status), { resource: "execution", what: `the execution became ${status}` }]),
) as Record<`execution.${Lowercase<ExecutionStatus>}`, AuditActionInfo>;

interface AuditActionInfo {
  resource: AuditResourceType;
  /** What the record says happened, for the docs. */
  what: string;
}

export const AUDIT_ACTIONS = {
  "tenant.created": { resource: "tenant", what: "an admin created the tenant (and its first API key)" },
  "tenant.rate_limits_updated": { resource: "tenant", what: "the tenant's request-limit overrides changed" },
  "tenant.settings_updated": { resource: "tenant", what: "the tenant's settings (its verification URL) changed" },
  "api_key.created": { resource: "api_key", what: "an API key was created (its prefix and scopes, never the key)" },
  "api_key.revoked": { resource: "api_key", what: "an API key was revoked" },
  "api_key.rotated": { resource: "api_key", what: "an API key was rotated: a new key, the old one expiring after the overlap" },
  "agent_session.created": {
    resource: "agent_session",
    what: "an agent session was opened for a user (its limits and expiry, never the token)",
  },
  "agent_session.revoked": { resource: "agent_session", what: "an agent session was revoked" },
  "auth_config.created": { resource: "auth_config", what: "a custom auth config was created at Composio" },
  "auth_config.managed_created": {
    resource: "auth_config",
    what: "the tenant's Composio-managed auth config of a toolkit was created on first use",
  },
  "auth_config.updated": {
    resource: "auth_config",
    what: "an auth config's name or credentials changed (never the credentials themselves)",
  },
  "auth_config.enabled": { resource: "auth_config", what: "an auth config was enabled" },
  "auth_config.disabled": { resource: "auth_config", what: "an auth config was disabled" },
  "auth_config.deleted": { resource: "auth_config", what: "an auth config was deleted" },
  "connection.initiated": { resource: "connection", what: "a connection was started at Composio (its link issued)" },
  "connection.status_changed": {
    resource: "connection",
    what: "a connection's status changed (poll, callback, webhook or reconciliation)",
  },
  "connection.refreshed": { resource: "connection", what: "a connection was re-authorised" },
  "connection.verification_pending": {
    resource: "connection",
    what: "Composio reported the sign-in done; the connection stays INITIATED until the tenant confirms the user",
  },
  "connection.verification_code_issued": {
    resource: "connection",
    what: "the browser back from Composio was sent to the tenant's verification URL with a one-time code (never the code)",
  },
  "connection.verified": { resource: "connection", what: "the tenant's backend confirmed the sign-in for the user who asked" },
  "connection.verification_refused": {
    resource: "connection",
    what:
      "a confirmation was refused: another user (the connection failed), a used, expired or unknown code, a sign-in not finished yet; " +
      "or a code was refused to a callback without the link's callback secret",
  },
  "connection.labels_updated": { resource: "connection", what: "a connection's labels changed" },
  "connection.deleted": { resource: "connection", what: "a connection was deleted (at Composio and here)" },
  ...executionActions,
  "tool_policy.updated": { resource: "tool_policy", what: "a tool policy (the tenant's or one user's) was replaced" },
  "tool_policy.deleted": { resource: "tool_policy", what: "a tool policy was deleted" },
  "trigger.status_changed": { resource: "trigger", what: "a trigger's status changed" },
  "trigger.updated": { resource: "trigger", what: "a trigger's config or labels changed" },
  "trigger.disabled": { resource: "trigger", what: "Composio disabled a trigger" },
} as const satisfies Record<string, AuditActionInfo>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;
export const ALL_AUDIT_ACTIONS = Object.keys(AUDIT_ACTIONS) as AuditAction[];

/** The action of an execution's move to `status` ("execution.awaiting_approval", ...). */
export function executionAuditAction(status: ExecutionStatus): `execution.${Lowercase<ExecutionStatus>}` {
  return `execution.${status.toLowerCase() as Lowercase<ExecutionStatus>}`;
}

/** One audit record, as every writer hands it over: who did what, to which resource, with which details. */
export interface AuditEntry<A extends AuditAction = AuditAction> {
  tenantId: string;
  /** "admin", "api_key:<id>", "user:<id>", "worker", "system", ... */
  actor: string;
  action: A;
  resourceId: string;
  /** Details; never a secret. */
  data?: Record<string, unknown>;
}

/** The resource type an action is about: fixed by the action, so a record cannot name the wrong one. */
export const auditResourceTypeOf = (action: AuditAction): AuditResourceType => AUDIT_ACTIONS[action].resource;
