import type { PrismaClient, Sql } from "@kronos/db";
import {
  type ComposioPort,
  type Config,
  createRedis,
  DEFAULT_JOB_OPTIONS,
  decodeJobFailure,
  type EventBus,
  encodeJobFailure,
  executeToolJobSchema,
  initiateConnectionJobSchema,
  instrumentQueues,
  JOBS,
  jobMetrics,
  type Logger,
  lazyChildLogger,
  type PollConnectionStatusJob,
  QUEUES,
  type QueueName,
  RECONCILE_SCHEDULER_ID,
  type Redis,
  type Registry,
  reconcileConnectionsJobSchema,
  statusPollJobId,
} from "@kronos/shared";
import { DelayedError, type Job, Queue, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import { runAuthConfigOp } from "./auth-config-ops.js";
import { completeBulk } from "./complete-bulk.js";
import { runConnectionOp } from "./connection-ops.js";
import { markConnectionFailed } from "./connection-status.js";
import { executeTool, markExecutionFailed } from "./execute-tool.js";
import { describeError, isLastAttempt, isRateLimited, rateLimitPauseMs } from "./failures.js";
import { initiateConnection, isSettled } from "./initiate-connection.js";
import { pollConnectionStatus } from "./poll-connection-status.js";
import { processWebhookEvent } from "./process-webhook-event.js";
import { type ReconcileCursor, reconcileConnections } from "./reconcile-connections.js";
import { attemptOf } from "./retries.js";
import { runTriggerOp } from "./triggers/trigger-ops.js";

export interface WorkerDeps {
  config: Config;
  prisma: PrismaClient;
  /** The pg pool behind `prisma`, for the hot statements (`createDatabase`); without it they go through `prisma`. */
  sql?: Sql;
  /** Wrapped with the shared rate budget by main.ts (withRateBudget), so every call counts against it. */
  composio: ComposioPort;
  bus: EventBus;
  logger: Logger;
  /** A factory of Redis connections suitable for BullMQ (`createRedis`), or a redis:// URL. */
  connection: (() => Redis) | string;
  /** Where job durations, outcomes and queue depths are recorded (served on GET /metrics). */
  metrics?: Registry;
}

export interface RunningWorkers {
  /** One Queue per queue this service works on (for tests and the metrics). */
  queues: Record<keyof typeof QUEUES, Queue>;
  /** Stops taking jobs, waits for the active ones to finish, then closes every connection it opened. */
  close(): Promise<void>;
}

/** Outcomes counted by kronos_jobs_finished_total. */
type JobOutcome = "completed" | "failed" | "retried" | "rate_limited" | "delayed";

/**
 * Starts one BullMQ worker per queue this service owns. Every worker whose jobs call Composio:
 * - pauses its whole queue for Retry-After when Composio answers 429 (worker.rateLimit + RateLimitError: the job goes
 *   back to waiting without counting as an attempt), instead of each job retrying on its own;
 * - has a limiter (needed for a manual rate limit to hold in every process; at most COMPOSIO_REQUESTS_PER_MINUTE
 *   jobs a minute, which the shared budget bounds anyway); retries use the jittered exponential backoff of the job options;
 * - gives up after COMPOSIO_MAX_ATTEMPTS at the latest, with a reason its row and event show.
 */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const { config, logger } = deps;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = typeof deps.connection === "string" ? createRedis(deps.connection) : deps.connection();
    connections.push(redis);
    return redis;
  };
  const prefix = config.REDIS_KEY_PREFIX;
  const metrics = deps.metrics ? jobMetrics(deps.metrics) : null;

  // One non-blocking connection for every Queue (adding jobs, counts, the scheduler) and the reconcile cursor.
  const shared = connect();
  const queues = Object.fromEntries(
    (Object.keys(QUEUES) as Array<keyof typeof QUEUES>).map((key) => [key, new Queue(QUEUES[key], { connection: shared, prefix })]),
  ) as Record<keyof typeof QUEUES, Queue>;
  if (deps.metrics) instrumentQueues(deps.metrics, Object.values(queues));

  const enqueueStatusPoll = async ({ connectionId, tenantId }: { connectionId: string; tenantId: string }) => {
    // The job id is derived from the connection: a retry or a second caller adds nothing.
    await queues.statusPoll.add(
      JOBS.pollConnectionStatus,
      { connectionId, tenantId, attempt: 0 },
      { ...DEFAULT_JOB_OPTIONS, jobId: statusPollJobId(connectionId), delay: config.STATUS_POLL_INITIAL_DELAY_MS, removeOnComplete: true },
    );
  };

  const jobLogger = (queue: string, job: Job) => {
    const data = job.data as { connectionId?: unknown; executionId?: unknown } | undefined;
    // Made only if the job logs at an enabled level: pino's child() serialises and redacts its bindings at once.
    return lazyChildLogger(logger, {
      queue,
      jobId: job.id,
      jobName: job.name,
      ...(typeof data?.connectionId === "string" ? { connectionId: data.connectionId } : {}),
      ...(typeof data?.executionId === "string" ? { executionId: data.executionId } : {}),
    });
  };

  const executionDeps = {
    config,
    prisma: deps.prisma,
    composio: deps.composio,
    bus: deps.bus,
    ...(deps.sql ? { sql: deps.sql } : {}),
  };

  const composioOptions: Partial<WorkerOptions> = {
    limiter: { max: config.COMPOSIO_REQUESTS_PER_MINUTE, duration: 60_000 },
  };

  type Handler = (job: Job, token: string | undefined, log: Logger) => Promise<unknown>;
  const workers: Worker[] = [];
  const startWorker = (queue: QueueName, jobName: string, handler: Handler, options: { callsComposio: boolean; concurrency?: number }) => {
    const duration = metrics?.duration.series({ queue, name: jobName });
    const worker: Worker = new Worker(
      queue,
      async (job, token) => {
        const log = jobLogger(queue, job);
        if (job.name !== jobName) {
          log.error("unknown job name");
          throw new UnrecoverableError(encodeJobFailure({ code: "BAD_REQUEST", message: `Unknown job "${job.name}"` }));
        }
        const started = performance.now();
        let outcome: JobOutcome = "completed";
        try {
          return await handler(job, token, log);
        } catch (error) {
          if (isRateLimited(error)) {
            const pauseMs = rateLimitPauseMs(error);
            log.warn({ pauseMs }, "Composio rate limit: pausing the queue");
            outcome = "rate_limited";
            // The whole queue (every process) waits; this job goes back to waiting, not counted as an attempt.
            await worker.rateLimit(pauseMs);
            throw Worker.RateLimitError();
          }
          if (error instanceof DelayedError) outcome = "delayed";
          else if (error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) outcome = "failed";
          else outcome = "retried";
          throw error;
        } finally {
          duration?.observe((performance.now() - started) / 1000);
          metrics?.finished.inc({ queue, outcome });
        }
      },
      {
        connection: connect(),
        prefix,
        concurrency: options.concurrency ?? config.WORKER_CONCURRENCY,
        ...(options.callsComposio ? composioOptions : {}),
      },
    );
    workers.push(worker);
    return worker;
  };

  const connectionWorker = startWorker(
    QUEUES.connection,
    JOBS.initiateConnection,
    async (job, _token, log) => {
      log.info({ attemptsMade: job.attemptsMade }, "connection job started");
      const result = await initiateConnection(
        { config, prisma: deps.prisma, composio: deps.composio, bus: deps.bus, logger: log, enqueueStatusPoll },
        job.data,
        attemptOf(job, config),
      );
      log.info({ status: result.status }, "connection job done");
      return result;
    },
    { callsComposio: true },
  );

  startWorker(
    QUEUES.statusPoll,
    JOBS.pollConnectionStatus,
    async (job, token, log) => {
      const connectionId = (job.data as { connectionId?: unknown })?.connectionId;
      const isMainPoller = typeof connectionId === "string" && job.id === statusPollJobId(connectionId);
      const outcome = await pollConnectionStatus(
        { config, prisma: deps.prisma, composio: deps.composio, bus: deps.bus, logger: log },
        job.data,
        { isMainPoller },
      );
      if (outcome.kind === "done") {
        log.debug({ status: outcome.status, reason: outcome.reason }, "status poll done");
        return { status: outcome.status };
      }
      log.debug({ delayMs: outcome.delayMs, attempt: outcome.attempt }, "connection still pending; polling again later");
      await job.updateData({ ...(job.data as PollConnectionStatusJob), attempt: outcome.attempt });
      await job.moveToDelayed(Date.now() + outcome.delayMs, token);
      throw new DelayedError();
    },
    { callsComposio: true },
  );

  startWorker(
    QUEUES.connectionOps,
    JOBS.connectionOp,
    async (job, _token, log) => {
      const result = await runConnectionOp(
        { config, prisma: deps.prisma, composio: deps.composio, bus: deps.bus, logger: log, enqueueStatusPoll },
        job.data,
        attemptOf(job, config),
      );
      log.info({ status: result.status }, "connection op done");
      return result;
    },
    { callsComposio: true },
  );

  startWorker(
    QUEUES.authConfig,
    JOBS.authConfigOp,
    async (job, _token, log) => {
      const attempt = attemptOf(job, config);
      let over = false;
      try {
        const result = await runAuthConfigOp({ config, prisma: deps.prisma, composio: deps.composio, logger: log }, job.data, attempt);
        over = true;
        return result;
      } catch (error) {
        over = error instanceof UnrecoverableError || (!isRateLimited(error) && isLastAttempt(attempt));
        throw error;
      } finally {
        // The sealed secret has no use once the job is over (done or given up): it does not stay in Redis.
        if (over) await forgetSealedCredentials(job, log);
      }
    },
    { callsComposio: true },
  );

  const executionWorker = startWorker(
    QUEUES.toolExecution,
    JOBS.executeTool,
    (job, _token, log) => executeTool({ ...executionDeps, logger: log }, job.data, attemptOf(job, config)),
    { callsComposio: true },
  );

  startWorker(
    QUEUES.bulk,
    JOBS.completeBulk,
    async (job, _token, log) => {
      const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
      return completeBulk({ prisma: deps.prisma, bus: deps.bus, logger: log }, job.data, { values, failures });
    },
    { callsComposio: false },
  );

  startWorker(
    QUEUES.reconcile,
    JOBS.reconcileConnections,
    async (job, _token, log) => {
      const data = reconcileConnectionsJobSchema.safeParse(job.data ?? {});
      if (!data.success) throw new UnrecoverableError(encodeJobFailure({ code: "VALIDATION_FAILED", message: "Invalid reconcile job" }));
      const tenantId = data.data.tenantId;
      return reconcileConnections({
        prisma: deps.prisma,
        composio: deps.composio,
        bus: deps.bus,
        logger: log,
        cursor: redisCursor(shared, `${prefix}:reconcile:cursor${tenantId ? `:${tenantId}` : ""}`),
        ...(tenantId ? { tenantId } : {}),
      });
    },
    // One run at a time per process; runs in several processes are safe (conditional status changes).
    { callsComposio: true, concurrency: 1 },
  );

  startWorker(
    QUEUES.triggerOps,
    JOBS.triggerOp,
    async (job, _token, log) => {
      const result = await runTriggerOp(
        { prisma: deps.prisma, composio: deps.composio, bus: deps.bus, logger: log },
        job.data,
        attemptOf(job, config),
      );
      log.info({ status: result.status }, "trigger op done");
      return result;
    },
    { callsComposio: true },
  );

  startWorker(
    QUEUES.webhookEvent,
    JOBS.processWebhookEvent,
    (job, _token, log) => processWebhookEvent({ prisma: deps.prisma, bus: deps.bus, logger: log }, job.data),
    { callsComposio: false },
  );

  // Safety nets for jobs that failed for good without reaching their own handler (e.g. they stalled too often):
  // their connection or execution must not stay pending. Both calls do nothing to what is already settled.
  connectionWorker.on("failed", (job) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1) || job.name !== JOBS.initiateConnection) return;
    const data = initiateConnectionJobSchema.safeParse(job.data);
    if (!data.success) return;
    markConnectionFailed(
      { prisma: deps.prisma, bus: deps.bus, logger: jobLogger(QUEUES.connection, job) },
      {
        connectionId: data.data.connectionId,
        tenantId: data.data.tenantId,
        reason: decodeJobFailure(job.failedReason).message,
        actor: "worker",
      },
      isSettled,
    ).catch((error: unknown) => logger.error({ err: describeError(error), jobId: job.id }, "could not mark the connection FAILED"));
  });
  executionWorker.on("failed", (job) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1) || job.name !== JOBS.executeTool) return;
    const data = executeToolJobSchema.safeParse(job.data);
    if (!data.success) return;
    markExecutionFailed(
      { ...executionDeps, logger: jobLogger(QUEUES.toolExecution, job) },
      data.data,
      decodeJobFailure(job.failedReason),
    ).catch((error: unknown) => logger.error({ err: describeError(error), jobId: job.id }, "could not mark the execution FAILED"));
  });

  for (const worker of workers) {
    worker.on("failed", (job, error) => {
      const log = job ? jobLogger(worker.name, job) : logger.child({ queue: worker.name });
      log.warn({ err: describeError(error), attemptsMade: job?.attemptsMade }, "job failed");
    });
    worker.on("error", (error) => logger.error({ queue: worker.name, err: describeError(error) }, "worker error"));
  }
  for (const queue of Object.values(queues)) {
    queue.on("error", (error) => logger.error({ queue: queue.name, err: describeError(error) }, "queue error"));
  }
  await Promise.all([...workers.map((w) => w.waitUntilReady()), ...Object.values(queues).map((q) => q.waitUntilReady())]);

  await scheduleReconciliation(queues.reconcile, config.RECONCILE_INTERVAL_SECONDS);
  logger.info(
    {
      queues: workers.map((w) => w.name),
      concurrency: config.WORKER_CONCURRENCY,
      reconcileEverySeconds: config.RECONCILE_INTERVAL_SECONDS,
    },
    "workers started",
  );

  let closing: Promise<void> | undefined;
  return {
    queues,
    close() {
      closing ??= (async () => {
        // Active jobs finish; what has not started stays in Redis for the next worker.
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all(Object.values(queues).map((q) => q.close()));
        await Promise.all(connections.map((c) => (c.status === "end" ? undefined : c.quit().catch(() => c.disconnect()))));
        logger.info("workers stopped");
      })();
      return closing;
    },
  };
}

/**
 * The repeatable reconciliation: one scheduler (RECONCILE_SCHEDULER_ID) whatever the number of workers, upserted at
 * start-up so that a changed interval takes effect; 0 removes it. BullMQ runs the first one right away.
 */
export async function scheduleReconciliation(queue: Queue, intervalSeconds: number): Promise<void> {
  if (intervalSeconds > 0) {
    await queue.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: intervalSeconds * 1000 },
      { name: JOBS.reconcileConnections, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
  } else {
    await queue.removeJobScheduler(RECONCILE_SCHEDULER_ID);
  }
}

/** Drops the sealed credentials from a finished auth-config job's data (kept while a retry may need them). */
async function forgetSealedCredentials(job: Job, log: Logger): Promise<void> {
  const data = job.data as { sealedCredentials?: unknown } | undefined;
  if (!data || data.sealedCredentials === undefined) return;
  const { sealedCredentials: _dropped, ...rest } = data;
  await job.updateData(rest).catch((error: unknown) => log.warn({ err: describeError(error) }, "could not drop the sealed credentials"));
}

function redisCursor(redis: Redis, key: string): ReconcileCursor {
  return {
    get: () => redis.get(key),
    async set(lastId) {
      if (lastId) await redis.set(key, lastId, "EX", 7 * 24 * 3600);
      else await redis.del(key);
    },
  };
}
