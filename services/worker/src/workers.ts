import type { PrismaClient } from "@kronos/db";
import {
  type ComposioPort,
  type Config,
  createRedis,
  DEFAULT_JOB_OPTIONS,
  decodeJobFailure,
  type EventBus,
  encodeJobFailure,
  initiateConnectionJobSchema,
  JOBS,
  type Logger,
  type PollConnectionStatusJob,
  QUEUES,
  type Redis,
  statusPollJobId,
} from "@kronos/shared";
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { markConnectionFailed } from "./connection-status.js";
import { describeError } from "./failures.js";
import { initiateConnection, isSettled } from "./initiate-connection.js";
import { pollConnectionStatus } from "./poll-connection-status.js";

export interface WorkerDeps {
  config: Config;
  prisma: PrismaClient;
  composio: ComposioPort;
  bus: EventBus;
  logger: Logger;
  /** A factory of Redis connections suitable for BullMQ (`createRedis`), or a redis:// URL. */
  connection: (() => Redis) | string;
}

export interface RunningWorkers {
  /** Stops taking jobs, waits for the active ones to finish, then closes every connection it opened. */
  close(): Promise<void>;
}

/** Starts one BullMQ worker per queue this service owns: the connection job and the status poll. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const { config, logger } = deps;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = typeof deps.connection === "string" ? createRedis(deps.connection) : deps.connection();
    connections.push(redis);
    return redis;
  };
  const prefix = config.REDIS_KEY_PREFIX;

  const statusPollQueue = new Queue<PollConnectionStatusJob>(QUEUES.statusPoll, { connection: connect(), prefix });
  const enqueueStatusPoll = async ({ connectionId, tenantId }: { connectionId: string; tenantId: string }) => {
    // The job id is derived from the connection: a retry or a second caller adds nothing.
    await statusPollQueue.add(
      JOBS.pollConnectionStatus,
      { connectionId, tenantId, attempt: 0 },
      { ...DEFAULT_JOB_OPTIONS, jobId: statusPollJobId(connectionId), delay: config.STATUS_POLL_INITIAL_DELAY_MS, removeOnComplete: true },
    );
  };

  const jobLogger = (queue: string, job: Job) => {
    const connectionId = (job.data as { connectionId?: unknown } | undefined)?.connectionId;
    return logger.child({ queue, jobId: job.id, jobName: job.name, ...(typeof connectionId === "string" ? { connectionId } : {}) });
  };

  const connectionWorker = new Worker(
    QUEUES.connection,
    async (job) => {
      const log = jobLogger(QUEUES.connection, job);
      if (job.name !== JOBS.initiateConnection) {
        log.error("unknown job name");
        throw new UnrecoverableError(encodeJobFailure({ code: "BAD_REQUEST", message: `Unknown job "${job.name}"` }));
      }
      log.info({ attemptsMade: job.attemptsMade }, "connection job started");
      const result = await initiateConnection(
        { config, prisma: deps.prisma, composio: deps.composio, bus: deps.bus, logger: log, enqueueStatusPoll },
        job.data,
        { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 },
      );
      log.info({ status: result.status }, "connection job done");
      return result;
    },
    { connection: connect(), prefix, concurrency: config.WORKER_CONCURRENCY },
  );

  const statusPollWorker = new Worker(
    QUEUES.statusPoll,
    async (job, token) => {
      const log = jobLogger(QUEUES.statusPoll, job);
      if (job.name !== JOBS.pollConnectionStatus) {
        log.error("unknown job name");
        throw new UnrecoverableError(encodeJobFailure({ code: "BAD_REQUEST", message: `Unknown job "${job.name}"` }));
      }
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
    { connection: connect(), prefix, concurrency: config.WORKER_CONCURRENCY },
  );

  // Safety net for a connection job that failed for good without reaching its own handler (e.g. it stalled too
  // often): its connection must not stay pending. markConnectionFailed does nothing to a settled connection.
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

  const workers = [connectionWorker, statusPollWorker];
  for (const worker of workers) {
    worker.on("failed", (job, error) => {
      const log = job ? jobLogger(worker.name, job) : logger.child({ queue: worker.name });
      log.warn({ err: describeError(error), attemptsMade: job?.attemptsMade }, "job failed");
    });
    worker.on("error", (error) => logger.error({ queue: worker.name, err: describeError(error) }, "worker error"));
  }
  await Promise.all([...workers.map((w) => w.waitUntilReady()), statusPollQueue.waitUntilReady()]);
  logger.info({ queues: workers.map((w) => w.name), concurrency: config.WORKER_CONCURRENCY }, "workers started");

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await statusPollQueue.close();
        await Promise.all(connections.map((c) => (c.status === "end" ? undefined : c.quit().catch(() => c.disconnect()))));
        logger.info("workers stopped");
      })();
      return closing;
    },
  };
}
