import { z } from "zod";
import { labelsSchema } from "./domain.js";
import { ERROR_STATUS, type ErrorCode } from "./errors.js";

/** Every BullMQ queue, by its one name. */
export const QUEUES = {
  connection: "connection",
  statusPoll: "connection-status-poll",
  /** enable, disable, refresh, delete, labels: changes to an existing connection. */
  connectionOps: "connection-ops",
  /** Repeatable: compares local connections with Composio and corrects what changed there. */
  reconcile: "connection-reconcile",
  authConfig: "auth-config",
  toolExecution: "tool-execution",
  /** Parent jobs of bulk requests: they run when every item (a child job) has finished. */
  bulk: "bulk",
  webhookEvent: "webhook-event",
  /** create, enable, disable, update, delete: a trigger at Composio and its row. */
  triggerOps: "trigger-ops",
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Job names within the queues. */
export const JOBS = {
  initiateConnection: "initiate-connection",
  pollConnectionStatus: "poll-connection-status",
  connectionOp: "connection-op",
  reconcileConnections: "reconcile-connections",
  authConfigOp: "auth-config-op",
  executeTool: "execute-tool",
  completeBulk: "complete-bulk",
  processWebhookEvent: "process-webhook-event",
  triggerOp: "trigger-op",
} as const;

export const initiateConnectionJobSchema = z.object({
  connectionId: z.uuid(),
  tenantId: z.uuid(),
  userId: z.string(),
  toolkit: z.string(),
  authConfigId: z.string().optional(),
  /** Where the user's browser should land after Composio's callback. */
  returnUrl: z.string().optional(),
  labels: labelsSchema,
  /** Who asked: "api_key:<id>" or "user:<user_id>", for the audit log. */
  actor: z.string(),
  /** Set when the job is an item of a bulk request. */
  bulkId: z.uuid().optional(),
});
export type InitiateConnectionJob = z.infer<typeof initiateConnectionJobSchema>;

export const initiateConnectionResultSchema = z.object({
  connection_id: z.string(),
  redirect_url: z.string().nullable(),
  status: z.string(),
  expires_at: z.string().nullable(),
});
export type InitiateConnectionResult = z.infer<typeof initiateConnectionResultSchema>;

export const pollConnectionStatusJobSchema = z.object({
  connectionId: z.uuid(),
  tenantId: z.uuid(),
  /** How many reads so far; drives the backoff. */
  attempt: z.number().int().min(0).default(0),
});
export type PollConnectionStatusJob = z.infer<typeof pollConnectionStatusJobSchema>;

/** One poll job per connection at a time: its id is derived from the connection. */
export const statusPollJobId = (connectionId: string) => `poll-${connectionId}`;

/**
 * Options every queue uses unless a job says otherwise: bounded history, retries with exponential backoff and
 * jitter (BullMQ's own: up to half of each delay is random, so jobs that failed together during a Composio outage
 * do not all come back in the same second). Workers cap the attempts of Composio jobs at COMPOSIO_MAX_ATTEMPTS.
 */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * Why a job gave up, in a form the gateway can turn into an HTTP error: workers throw
 * `new UnrecoverableError(encodeJobFailure(...))`, the gateway reads `job.failedReason` with `decodeJobFailure`.
 */
export interface JobFailure {
  code: ErrorCode;
  message: string;
}

export function encodeJobFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeJobFailure(failedReason: string | undefined): JobFailure {
  if (failedReason) {
    try {
      const parsed = JSON.parse(failedReason) as Partial<JobFailure>;
      if (typeof parsed.code === "string" && parsed.code in ERROR_STATUS && typeof parsed.message === "string") {
        return { code: parsed.code as ErrorCode, message: parsed.message };
      }
    } catch {
      // Not one of ours (a crash, a stalled job): fall through to the generic answer.
    }
  }
  return { code: "UPSTREAM_ERROR", message: "The job failed" };
}

export const CONNECTION_OPS = ["enable", "disable", "refresh", "delete", "update_labels"] as const;
export const connectionOpJobSchema = z.object({
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  op: z.enum(CONNECTION_OPS),
  /** For update_labels: the new full set. */
  labels: labelsSchema.optional(),
  actor: z.string(),
  bulkId: z.uuid().optional(),
});
export type ConnectionOpJob = z.infer<typeof connectionOpJobSchema>;

export const AUTH_CONFIG_OPS = ["create", "update", "delete", "set_enabled"] as const;
export const authConfigJobSchema = z.object({
  tenantId: z.uuid(),
  op: z.enum(AUTH_CONFIG_OPS),
  authConfigId: z.string().optional(),
  toolkit: z.string().optional(),
  name: z.string().optional(),
  authScheme: z.string().optional(),
  /** Client id/secret and scopes, sealed with `sealJobSecret`: a secret never sits in Redis in clear text. */
  sealedCredentials: z.string().optional(),
  enabled: z.boolean().optional(),
  actor: z.string(),
});
export type AuthConfigJob = z.infer<typeof authConfigJobSchema>;

export const executeToolJobSchema = z.object({
  executionId: z.uuid(),
  tenantId: z.uuid(),
  userId: z.string(),
  toolSlug: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  /** Composio's connected account id ("ca_...") or our connection id; resolved and checked by the worker. */
  connectedAccountId: z.string().optional(),
  idempotencyKey: z.string().optional(),
  actor: z.string(),
});
export type ExecuteToolJob = z.infer<typeof executeToolJobSchema>;

export const BULK_KINDS = ["connect", "disable", "delete"] as const;
export const completeBulkJobSchema = z.object({
  bulkId: z.uuid(),
  tenantId: z.uuid(),
  userId: z.string().nullable(),
  kind: z.enum(BULK_KINDS),
  /** The item jobs (children) in request order, so results are reported in that order. */
  items: z.array(z.object({ queue: z.string(), jobId: z.string(), connectionId: z.string().nullable() })).min(1),
  /** Items the gateway refused before any job ran (not the caller's, a foreign auth config...), with why. */
  rejected: z.array(z.object({ index: z.number().int().min(0), code: z.string(), message: z.string() })).default([]),
});
export type CompleteBulkJob = z.infer<typeof completeBulkJobSchema>;

/** The reconciliation job; `tenantId` limits one run to a tenant. */
export const reconcileConnectionsJobSchema = z.object({ tenantId: z.uuid().optional() });
export type ReconcileConnectionsJob = z.infer<typeof reconcileConnectionsJobSchema>;

export const processWebhookEventJobSchema = z.object({ webhookId: z.string() });
export type ProcessWebhookEventJob = z.infer<typeof processWebhookEventJobSchema>;

/** The repeatable reconciliation job's scheduler id. */
export const RECONCILE_SCHEDULER_ID = "reconcile-connections";

/** What a connection-ops job returns. `status` is null once the connection is deleted. */
export const connectionOpResultSchema = z.object({
  connection_id: z.string(),
  status: z.string().nullable(),
  /** Set by refresh: the new hosted link the user must open. */
  redirect_url: z.string().nullable(),
});
export type ConnectionOpResult = z.infer<typeof connectionOpResultSchema>;

/** What an auth-config job returns; the gateway answers with the stored row. */
export const authConfigOpResultSchema = z.object({ auth_config_id: z.string(), deleted: z.boolean() });
export type AuthConfigOpResult = z.infer<typeof authConfigOpResultSchema>;

/** What a tool-execution job returns; the gateway answers with the stored execution. */
export const executeToolJobResultSchema = z.object({ execution_id: z.string(), status: z.enum(["SUCCEEDED", "FAILED"]) });
export type ExecuteToolJobResult = z.infer<typeof executeToolJobResultSchema>;

export const TRIGGER_OPS = ["create", "enable", "disable", "update", "delete"] as const;
export type TriggerOp = (typeof TRIGGER_OPS)[number];
export const triggerOpJobSchema = z.object({
  tenantId: z.uuid(),
  triggerId: z.uuid(),
  op: z.enum(TRIGGER_OPS),
  /** For update: the new config (already checked against the trigger type's schema) and/or labels. */
  config: z.record(z.string(), z.unknown()).optional(),
  labels: labelsSchema.optional(),
  actor: z.string(),
});
export type TriggerOpJob = z.infer<typeof triggerOpJobSchema>;

/** What a trigger-ops job returns; the gateway answers with the row read back. `status` is null once deleted. */
export const triggerOpResultSchema = z.object({ trigger_id: z.string(), status: z.string().nullable() });
export type TriggerOpResult = z.infer<typeof triggerOpResultSchema>;
