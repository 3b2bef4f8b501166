import { type DefaultJobOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { connectionStatusSchema, finalExecutionStatusSchema, labelsSchema, toolkitSlugSchema } from "./domain.js";
import { ERROR_STATUS, type ErrorCode } from "./errors.js";
import { bulkCompletedEventDataSchema, triggerStatusSchema } from "./events/schemas.js";
import { executionFairShare } from "./fair-share.js";

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
  /** Repeatable: re-adds accepted jobs (accepted_jobs rows) that Redis lost, and other durable work without a job. */
  sweeper: "accepted-sweeper",
  /** create, enable, disable, update, delete: a trigger at Composio and its row. */
  triggerOps: "trigger-ops",
  /** Repeatable: compares our triggers with Composio's trigger instances and corrects what drifted. */
  triggerReconcile: "trigger-reconcile",
  /** Attempts of outbound webhooks that wait (retries, a busy endpoint) or were recovered; first attempts go by the lane (webhooks-out/lane.ts). */
  webhookDelivery: "webhook-delivery",
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
  sweepAccepted: "sweep-accepted",
  triggerOp: "trigger-op",
  deliverWebhook: "deliver-webhook",
  reconcileTriggers: "reconcile-triggers",
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
  status: connectionStatusSchema,
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
  // Failed jobs stay in Redis for inspection only (outcomes are in Postgres): three days, and at most 2,000 per queue,
  // so that what a tenant's failures can keep in Redis is bounded (an execution's params: EXECUTION_PARAMS_MAX_BYTES).
  removeOnFail: { age: 3 * 24 * 3600, count: 2_000 },
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
export type ConnectionOp = (typeof CONNECTION_OPS)[number];
const connectionOpBase = z.object({
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  actor: z.string(),
  bulkId: z.uuid().optional(),
});
/** A change to an existing connection, tagged by `op`: update_labels carries the new full set of labels. */
export const connectionOpJobSchema = z.discriminatedUnion("op", [
  connectionOpBase.extend({ op: z.literal("enable") }),
  connectionOpBase.extend({ op: z.literal("disable") }),
  connectionOpBase.extend({ op: z.literal("refresh") }),
  connectionOpBase.extend({ op: z.literal("delete") }),
  connectionOpBase.extend({ op: z.literal("update_labels"), labels: labelsSchema }),
]);
export type ConnectionOpJob = z.infer<typeof connectionOpJobSchema>;

export const AUTH_CONFIG_OPS = ["create", "update", "delete", "set_enabled"] as const;
const authConfigOpBase = z.object({ tenantId: z.uuid(), actor: z.string() });
/** Client id/secret and scopes, sealed with `sealJobSecret`: a secret never sits in Redis in clear text. */
const sealedCredentialsSchema = z.string().min(1);
/** A change to a custom auth config, tagged by `op`: each op carries exactly what it needs. */
export const authConfigJobSchema = z.discriminatedUnion("op", [
  authConfigOpBase.extend({
    op: z.literal("create"),
    toolkit: toolkitSlugSchema,
    name: z.string().min(1),
    authScheme: z.string().min(1),
    sealedCredentials: sealedCredentialsSchema,
  }),
  authConfigOpBase.extend({
    op: z.literal("update"),
    authConfigId: z.string().min(1),
    name: z.string().optional(),
    sealedCredentials: sealedCredentialsSchema.optional(),
  }),
  authConfigOpBase.extend({ op: z.literal("delete"), authConfigId: z.string().min(1) }),
  authConfigOpBase.extend({ op: z.literal("set_enabled"), authConfigId: z.string().min(1), enabled: z.boolean() }),
]);
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
/** The repeatable trigger reconciliation's scheduler id. */
export const TRIGGER_RECONCILE_SCHEDULER_ID = "reconcile-triggers";

export const reconcileTriggersJobSchema = z.object({ tenantId: z.uuid().optional() });
export type ReconcileTriggersJob = z.infer<typeof reconcileTriggersJobSchema>;
export const reconcileTriggersResultSchema = z.object({
  /** Connections whose trigger instances were compared. */
  connections: z.number().int(),
  /** Trigger rows changed to what Composio says (FAILED when gone there, DISABLED or ACTIVE). */
  corrected: z.number().int(),
  /** Instances on our connections that no trigger of ours is: reported, left alone (docs/triggers.md). */
  orphans: z.number().int(),
  errors: z.number().int(),
  /** True when this run reached the last connection (the next one starts again from the first). */
  wrapped: z.boolean(),
});
export type ReconcileTriggersResult = z.infer<typeof reconcileTriggersResultSchema>;

/** The sweeper's job (a scheduled pass; see services/worker/src/sweeper). */
export const sweepAcceptedJobSchema = z.object({});
export const sweepReportSchema = z.object({
  /** Accepted jobs found finished (in Redis, or final in their own table), now marked so. */
  finished: z.number().int(),
  /** Accepted jobs Redis did not have: added again, with their ids. */
  redriven: z.number().int(),
  /** Stored webhook deliveries without a job or a live claim: enqueued again. */
  webhooksRedriven: z.number().int(),
  /** INITIATED connections whose status poll was gone: polled again. */
  pollsRedriven: z.number().int(),
});
export type SweepReport = z.infer<typeof sweepReportSchema>;

/** The repeatable sweep of accepted jobs (see services/worker/src/sweeper). */
export const SWEEPER_SCHEDULER_ID = "sweep-accepted";

/** What a connection-ops job returns. `status` is null once the connection is deleted. */
export const connectionOpResultSchema = z.object({
  connection_id: z.string(),
  status: connectionStatusSchema.nullable(),
  /** Set by refresh: the new hosted link the user must open. */
  redirect_url: z.string().nullable(),
});
export type ConnectionOpResult = z.infer<typeof connectionOpResultSchema>;

/** What an auth-config job returns; the gateway answers with the stored row. */
export const authConfigOpResultSchema = z.object({ auth_config_id: z.string(), deleted: z.boolean() });
export type AuthConfigOpResult = z.infer<typeof authConfigOpResultSchema>;

/** What a tool-execution job returns; the gateway answers with the stored execution. */
/** A final status, or AWAITING_AUTH: the user must sign in first (sign-in on demand parked it). */
export const executeToolJobResultSchema = z.object({
  execution_id: z.string(),
  status: z.union([finalExecutionStatusSchema, z.literal("AWAITING_AUTH")]),
});
export type ExecuteToolJobResult = z.infer<typeof executeToolJobResultSchema>;

/** What a status-poll job returns when it stops polling (null: no such connection); a pending one is delayed. */
export const pollConnectionStatusResultSchema = z.object({ status: connectionStatusSchema.nullable() });
export type PollConnectionStatusResult = z.infer<typeof pollConnectionStatusResultSchema>;

/** What one reconciliation run did. */
export const reconcileConnectionsResultSchema = z.object({
  checked: z.number().int(),
  corrected: z.number().int(),
  errors: z.number().int(),
  /** True when this run reached the end of the table (the next one starts again from the beginning). */
  wrapped: z.boolean(),
});
export type ReconcileConnectionsResult = z.infer<typeof reconcileConnectionsResultSchema>;

export const processWebhookEventResultSchema = z.object({
  webhook_id: z.string(),
  outcome: z.string(),
  /** True when the event had been processed before: nothing was done again. */
  duplicate: z.boolean(),
});
export type ProcessWebhookEventResult = z.infer<typeof processWebhookEventResultSchema>;

export const TRIGGER_OPS = ["create", "enable", "disable", "update", "delete"] as const;
export type TriggerOp = (typeof TRIGGER_OPS)[number];
const triggerOpBase = z.object({ tenantId: z.uuid(), triggerId: z.uuid(), actor: z.string() });
/** A trigger operation, tagged by `op`: update carries the new config (already checked by the gateway) and/or labels. */
export const triggerOpJobSchema = z.discriminatedUnion("op", [
  triggerOpBase.extend({ op: z.literal("create") }),
  triggerOpBase.extend({ op: z.literal("enable") }),
  triggerOpBase.extend({ op: z.literal("disable") }),
  triggerOpBase.extend({
    op: z.literal("update"),
    config: z.record(z.string(), z.unknown()).optional(),
    labels: labelsSchema.optional(),
  }),
  triggerOpBase.extend({ op: z.literal("delete") }),
]);
export type TriggerOpJob = z.infer<typeof triggerOpJobSchema>;

/** What a trigger-ops job returns; the gateway answers with the row read back. `status` is null once deleted. */
export const triggerOpResultSchema = z.object({ trigger_id: z.string(), status: triggerStatusSchema.nullable() });
export type TriggerOpResult = z.infer<typeof triggerOpResultSchema>;
export const deliverWebhookJobSchema = z.object({
  deliveryId: z.uuid(),
  /** Its endpoint, so a worker can bound the attempts in flight per endpoint before reading the row. */
  endpointId: z.uuid(),
});
export type DeliverWebhookJob = z.infer<typeof deliverWebhookJobSchema>;
/** Nothing: the delivery row records the outcome. */
export const deliverWebhookResultSchema = z.undefined();

/** BullMQ's options for a job, as far as the contracts set them. */
export interface ContractJobOptions {
  attempts?: number;
  backoff?: { type: "exponential" | "fixed"; delay: number; jitter?: number };
  removeOnComplete?: boolean | number | { age?: number; count?: number };
  removeOnFail?: boolean | number | { age?: number; count?: number };
}

/** One queue's contract: its name, the one job name it carries, its data and result schemas and default options. */
export interface QueueContract<
  Name extends QueueName = QueueName,
  JobName extends string = string,
  Data extends z.ZodType = z.ZodType,
  Result extends z.ZodType = z.ZodType,
> {
  name: Name;
  job: JobName;
  data: Data;
  result: Result;
  /** Applied by createQueue() to every job added to the queue, unless the job says otherwise. */
  options: ContractJobOptions;
}

const contract = <Name extends QueueName, JobName extends string, Data extends z.ZodType, Result extends z.ZodType>(
  c: QueueContract<Name, JobName, Data, Result>,
) => c;

const withDefaults = (overrides: ContractJobOptions = {}): ContractJobOptions => ({
  ...DEFAULT_JOB_OPTIONS,
  backoff: { ...DEFAULT_JOB_OPTIONS.backoff },
  ...overrides,
});

/**
 * Every queue, tied to its job: the gateway and the webhooks service add jobs typed from this table, the worker's
 * job registry must have exactly one handler per entry (checked at start-up). A new job kind starts here.
 */
export const QUEUE_CONTRACTS = {
  connection: contract({
    name: QUEUES.connection,
    job: JOBS.initiateConnection,
    data: initiateConnectionJobSchema,
    result: initiateConnectionResultSchema,
    options: withDefaults(),
  }),
  statusPoll: contract({
    name: QUEUES.statusPoll,
    job: JOBS.pollConnectionStatus,
    data: pollConnectionStatusJobSchema,
    result: pollConnectionStatusResultSchema,
    options: withDefaults({ removeOnComplete: true }),
  }),
  connectionOps: contract({
    name: QUEUES.connectionOps,
    job: JOBS.connectionOp,
    data: connectionOpJobSchema,
    result: connectionOpResultSchema,
    options: withDefaults(),
  }),
  reconcile: contract({
    name: QUEUES.reconcile,
    job: JOBS.reconcileConnections,
    data: reconcileConnectionsJobSchema,
    result: reconcileConnectionsResultSchema,
    // One try: the next scheduled run is the retry.
    options: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  }),
  authConfig: contract({
    name: QUEUES.authConfig,
    job: JOBS.authConfigOp,
    data: authConfigJobSchema,
    result: authConfigOpResultSchema,
    // The sealed credentials do not stay in Redis once the job has ended.
    options: withDefaults({ removeOnComplete: true, removeOnFail: true }),
  }),
  toolExecution: contract({
    name: QUEUES.toolExecution,
    job: JOBS.executeTool,
    data: executeToolJobSchema,
    result: executeToolJobResultSchema,
    options: withDefaults(),
  }),
  bulk: contract({
    name: QUEUES.bulk,
    job: JOBS.completeBulk,
    data: completeBulkJobSchema,
    result: bulkCompletedEventDataSchema,
    options: withDefaults(),
  }),
  webhookEvent: contract({
    name: QUEUES.webhookEvent,
    job: JOBS.processWebhookEvent,
    data: processWebhookEventJobSchema,
    result: processWebhookEventResultSchema,
    options: withDefaults(),
  }),
  sweeper: contract({
    name: QUEUES.sweeper,
    job: JOBS.sweepAccepted,
    data: sweepAcceptedJobSchema,
    result: sweepReportSchema,
    // One try: the next scheduled run is the retry.
    options: { removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } },
  }),
  triggerOps: contract({
    name: QUEUES.triggerOps,
    job: JOBS.triggerOp,
    data: triggerOpJobSchema,
    result: triggerOpResultSchema,
    options: withDefaults(),
  }),
  /**
   * Its job id is the delivery's, so adding it again while it exists (the sweeper, a retry) adds nothing; finished
   * jobs are removed at once, so the row alone records the outcome and the id is free for a later retry. The HTTP
   * attempts follow WEBHOOK_RETRY_SCHEDULE (the job moves itself to delayed); these attempts only cover the
   * worker's own failures (Postgres unreachable...), after which the sweeper takes the row over.
   */
  triggerReconcile: contract({
    name: QUEUES.triggerReconcile,
    job: JOBS.reconcileTriggers,
    data: reconcileTriggersJobSchema,
    result: reconcileTriggersResultSchema,
    // One try: the next scheduled run is the retry.
    options: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  }),
  webhookDelivery: contract({
    name: QUEUES.webhookDelivery,
    job: JOBS.deliverWebhook,
    data: deliverWebhookJobSchema,
    result: deliverWebhookResultSchema,
    options: withDefaults({ removeOnComplete: true, removeOnFail: true }),
  }),
} as const satisfies { [K in keyof typeof QUEUES]: QueueContract<(typeof QUEUES)[K]> };

export type QueueKey = keyof typeof QUEUE_CONTRACTS;
/** The data a job of queue K is added with (before the schema's defaults apply). */
export type JobDataOf<K extends QueueKey> = z.input<(typeof QUEUE_CONTRACTS)[K]["data"]>;
/** The data a handler of queue K receives (parsed by the schema). */
export type ParsedJobDataOf<K extends QueueKey> = z.output<(typeof QUEUE_CONTRACTS)[K]["data"]>;
export type JobResultOf<K extends QueueKey> = z.output<(typeof QUEUE_CONTRACTS)[K]["result"]>;
export type JobNameOf<K extends QueueKey> = (typeof QUEUE_CONTRACTS)[K]["job"];
/** A BullMQ queue typed from its contract: `add` takes the queue's one job name and its data. */
export type TypedQueue<K extends QueueKey> = Queue<JobDataOf<K>, JobResultOf<K>, JobNameOf<K>>;

export const QUEUE_KEYS = Object.keys(QUEUE_CONTRACTS) as QueueKey[];

/**
 * The one way to open a queue (gateway, webhooks, worker): its contract's name and default options, on the given
 * connection and key prefix. BullMQ does not close a connection it was given.
 */
export function createQueue<K extends QueueKey>(key: K, options: { connection: Redis; prefix: string }): TypedQueue<K> {
  const c = QUEUE_CONTRACTS[key];
  return new Queue(c.name, {
    connection: options.connection,
    prefix: options.prefix,
    defaultJobOptions: structuredClone(c.options) as DefaultJobOptions,
  }) as TypedQueue<K>;
}

/** Opens every queue of the contracts, by key. */
export function createQueues(options: { connection: Redis; prefix: string }): { [K in QueueKey]: TypedQueue<K> } {
  return Object.fromEntries(QUEUE_KEYS.map((key) => [key, createQueue(key, options)])) as { [K in QueueKey]: TypedQueue<K> };
}

/** The job of one outbound webhook delivery (see the webhookDelivery contract). */
export function webhookDeliveryJob(delivery: { id: string; endpointId: string }) {
  return {
    name: JOBS.deliverWebhook,
    data: { deliveryId: delivery.id, endpointId: delivery.endpointId } satisfies DeliverWebhookJob,
    opts: { ...structuredClone(QUEUE_CONTRACTS.webhookDelivery.options), jobId: delivery.id } as DefaultJobOptions & { jobId: string },
  };
}

/**
 * Queues a stored execution to run (again: approved, or woken after sign-in), with its tenant's fair-share priority
 * like any accepted execution (a job without one would run before every other). An earlier job of the same id (the
 * run that parked it) is removed first: BullMQ ignores an add whose job id exists.
 */
export async function queueExecution(queue: TypedQueue<"toolExecution">, job: ExecuteToolJob, attempts?: number): Promise<void> {
  await queue.remove(job.executionId).catch(() => 0);
  // The queue's own connection and prefix (REDIS_KEY_PREFIX) are the fair share's.
  const fairShare = executionFairShare((await queue.client) as unknown as Redis, queue.opts.prefix ?? "bull");
  const { priority, counted } = await fairShare.admitOrLast(job.tenantId);
  try {
    await queue.add(JOBS.executeTool, job, { jobId: job.executionId, priority, ...(attempts === undefined ? {} : { attempts }) });
  } catch (error) {
    if (counted) await fairShare.release(job.tenantId).catch(() => undefined);
    throw error;
  }
}
