import type { PrismaClient, Sql } from "@kronos/db";
import {
  type ComposioPort,
  type Config,
  createQueues,
  createRedis,
  type EventBus,
  instrumentQueues,
  JOBS,
  jobMetrics,
  type Logger,
  QUEUE_KEYS,
  type QueueKey,
  RECONCILE_SCHEDULER_ID,
  type Redis,
  type Registry,
  statusPollJobId,
  TRIGGER_RECONCILE_SCHEDULER_ID,
  type TypedQueue,
} from "@kronos/shared";
import type { Queue, Worker } from "bullmq";
import type { JobContext } from "./jobs/context.js";
import { describeError } from "./jobs/failure-policy.js";
import { JOB_HANDLERS } from "./jobs/handlers.js";
import { checkRegistry, type JobHandler, type JobRegistry } from "./jobs/registry.js";
import { startJobWorker } from "./jobs/run-job.js";
import { startSweeper } from "./sweeper/start.js";

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
  /** The job registry (default JOB_HANDLERS); checked against the queue contracts before anything starts. */
  handlers?: Partial<JobRegistry>;
}

export interface RunningWorkers {
  /** One Queue per queue this service works on (for tests and the metrics). */
  queues: { [K in QueueKey]: TypedQueue<K> };
  /** The one dependency object every handler receives. */
  context: JobContext;
  /** Stops taking jobs in this process (the active ones finish); `resume` takes them again. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops taking jobs, waits for the active ones to finish, then closes every connection it opened. */
  close(): Promise<void>;
}

/**
 * Starts one BullMQ worker per queue of the job registry (jobs/handlers.ts), after checking that the registry has
 * exactly one handler per queue contract. Builds the one JobContext every handler receives. How a job runs, fails
 * and ends its record is the failure policy's (jobs/run-job.ts), the same for every queue.
 */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const handlers = deps.handlers ?? JOB_HANDLERS;
  checkRegistry(handlers);
  const registry = handlers as JobRegistry;
  const { config, logger } = deps;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = typeof deps.connection === "string" ? createRedis(deps.connection) : deps.connection();
    connections.push(redis);
    return redis;
  };
  const prefix = config.REDIS_KEY_PREFIX;

  // One non-blocking connection for every Queue (adding jobs, counts, the scheduler) and the reconcile cursor.
  const shared = connect();
  const queues = createQueues({ connection: shared, prefix });
  const allQueues = Object.values(queues) as Queue[];
  if (deps.metrics) instrumentQueues(deps.metrics, allQueues);

  const ctx: JobContext = {
    config,
    prisma: deps.prisma,
    ...(deps.sql ? { sql: deps.sql } : {}),
    composio: deps.composio,
    bus: deps.bus,
    logger,
    redis: shared,
    queues,
    attemptsInFlight: new Map(),
    async enqueueStatusPoll({ connectionId, tenantId }) {
      // The job id is derived from the connection: a retry or a second caller adds nothing.
      await queues.statusPoll.add(
        JOBS.pollConnectionStatus,
        { connectionId, tenantId, attempt: 0 },
        { jobId: statusPollJobId(connectionId), delay: config.STATUS_POLL_INITIAL_DELAY_MS },
      );
    },
  };

  const metrics = deps.metrics ? jobMetrics(deps.metrics) : null;
  const workers: Worker[] = QUEUE_KEYS.map((key) => startJobWorker(key, registry[key] as never, ctx, { connection: connect(), metrics }));
  const companions = QUEUE_KEYS.flatMap((key) => {
    const handler = registry[key] as JobHandler;
    return handler.alongside ? [handler.alongside(ctx, connect())] : [];
  });
  for (const queue of allQueues) {
    queue.on("error", (error) => logger.error({ queue: queue.name, err: describeError(error) }, "queue error"));
  }
  await Promise.all([...workers.map((w) => w.waitUntilReady()), ...allQueues.map((q) => q.waitUntilReady())]);

  const schedulers = [
    () => scheduleReconciliation(queues.reconcile, config.RECONCILE_INTERVAL_SECONDS),
    () => scheduleTriggerReconciliation(queues.triggerReconcile, config.TRIGGER_RECONCILE_INTERVAL_SECONDS),
  ];
  for (const schedule of schedulers) await schedule();
  // Re-adds what Redis lost (accepted jobs, webhook jobs, status polls), and ensures the schedulers again after
  // every Redis reconnection.
  const sweeper = await startSweeper(ctx, schedulers, logger);
  logger.info(
    {
      queues: workers.map((w) => w.name),
      concurrency: config.WORKER_CONCURRENCY,
      reconcileEverySeconds: config.RECONCILE_INTERVAL_SECONDS,
      triggerReconcileEverySeconds: config.TRIGGER_RECONCILE_INTERVAL_SECONDS,
    },
    "workers started",
  );

  let closing: Promise<void> | undefined;
  return {
    queues,
    context: ctx,
    async pause() {
      for (const companion of companions) companion.pause();
      await Promise.all(workers.map((w) => w.pause()));
    },
    resume() {
      for (const worker of workers) worker.resume();
      for (const companion of companions) companion.resume();
    },
    close() {
      closing ??= (async () => {
        // Active jobs finish; what has not started stays in Redis for the next worker.
        sweeper.close();
        await Promise.all([...workers.map((w) => w.close()), ...companions.map((c) => c.close())]);
        await Promise.all(allQueues.map((q) => q.close()));
        await Promise.all(connections.map((c) => (c.status === "end" ? undefined : c.quit().catch(() => c.disconnect()))));
        logger.info("workers stopped");
      })();
      return closing;
    },
  };
}

/**
 * A repeatable job: one scheduler (its id) whatever the number of workers, upserted at start-up and after every Redis
 * reconnection so that a changed interval takes effect and a lost scheduler comes back; 0 removes it. BullMQ runs the
 * first one right away.
 */
async function ensureRepeatable(queue: Queue, schedulerId: string, jobName: string, intervalSeconds: number): Promise<void> {
  if (intervalSeconds > 0) {
    await queue.upsertJobScheduler(
      schedulerId,
      { every: intervalSeconds * 1000 },
      { name: jobName, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
  } else {
    await queue.removeJobScheduler(schedulerId);
  }
}

/** The connections' reconciliation (RECONCILE_INTERVAL_SECONDS). */
export function scheduleReconciliation(queue: Queue | TypedQueue<"reconcile">, intervalSeconds: number): Promise<void> {
  return ensureRepeatable(queue as Queue, RECONCILE_SCHEDULER_ID, JOBS.reconcileConnections, intervalSeconds);
}

/** The triggers' reconciliation (TRIGGER_RECONCILE_INTERVAL_SECONDS). */
export function scheduleTriggerReconciliation(queue: Queue | TypedQueue<"triggerReconcile">, intervalSeconds: number): Promise<void> {
  return ensureRepeatable(queue as Queue, TRIGGER_RECONCILE_SCHEDULER_ID, JOBS.reconcileTriggers, intervalSeconds);
}
