import type { PrismaClient } from "@kronos/db";
import {
  type Config,
  DEFAULT_JOB_OPTIONS,
  JOBS,
  type Logger,
  QUEUES,
  type Redis,
  SWEEPER_SCHEDULER_ID,
  warnAboutRedisRequirements,
} from "@kronos/shared";
import { FlowProducer, Queue, Worker } from "bullmq";
import { type SweepReport, sweepAcceptedJobs } from "./sweep.js";

export interface SweeperDeps {
  config: Pick<Config, "REDIS_KEY_PREFIX" | "SWEEP_INTERVAL_SECONDS" | "SWEEP_GRACE_MS">;
  prisma: PrismaClient;
  /** Makes a Redis connection suitable for BullMQ (`createRedis`). */
  connection: () => Redis;
  logger: Logger;
  /**
   * Repeatable jobs of other capabilities (the reconciliation...) to ensure again whenever Redis comes back: a Redis
   * that restarted without its data has forgotten every job scheduler.
   */
  ensureSchedulers?: Array<() => Promise<void>>;
}

export interface RunningSweeper {
  /** One pass now (also what the repeatable job runs). Concurrent calls share the pass under way. */
  sweep(): Promise<SweepReport>;
  close(): Promise<void>;
}

/**
 * The sweeper capability: a repeatable job (SWEEP_INTERVAL_SECONDS) and a pass at start-up and after every Redis
 * reconnection, each re-adding what Redis lost (see `sweepAcceptedJobs`). On every reconnection it also ensures the
 * job schedulers again (its own and `ensureSchedulers`), and warns when Redis is not set up as the queues need.
 */
export async function startSweeper(deps: SweeperDeps): Promise<RunningSweeper> {
  const { config, logger } = deps;
  const prefix = config.REDIS_KEY_PREFIX;
  const shared = deps.connection();
  const blocking = deps.connection();
  const queues = new Map<string, Queue>(
    Object.values(QUEUES).map((name) => [
      name,
      new Queue(name, {
        connection: shared,
        prefix,
        defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } },
      }),
    ]),
  );
  const flows = new FlowProducer({ connection: shared, prefix });
  const own = queues.get(QUEUES.sweeper) as Queue;
  const onError = (error: Error) => logger.debug({ err: error }, "sweeper queue error");
  for (const queue of queues.values()) queue.on("error", onError);
  flows.on("error", onError);

  let running: Promise<SweepReport> | undefined;
  const sweep = () => {
    running ??= sweepAcceptedJobs({ prisma: deps.prisma, redis: shared, prefix, queues, flows, logger, graceMs: config.SWEEP_GRACE_MS })
      .then((report) => {
        if (report.redriven + report.webhooksRedriven + report.pollsRedriven > 0) logger.warn({ ...report }, "sweeper re-drove lost work");
        return report;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const ensureSchedulers = async () => {
    if (config.SWEEP_INTERVAL_SECONDS > 0) {
      await own.upsertJobScheduler(
        SWEEPER_SCHEDULER_ID,
        { every: config.SWEEP_INTERVAL_SECONDS * 1000 },
        { name: JOBS.sweepAccepted, data: {}, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } } },
      );
    } else {
      await own.removeJobScheduler(SWEEPER_SCHEDULER_ID);
    }
    for (const ensure of deps.ensureSchedulers ?? []) await ensure();
  };

  const worker = new Worker(QUEUES.sweeper, () => sweep(), { connection: blocking, prefix, concurrency: 1 });
  worker.on("error", (error) => logger.debug({ err: error }, "sweeper worker error"));
  await Promise.all([worker.waitUntilReady(), own.waitUntilReady()]);

  await warnAboutRedisRequirements(shared, logger);
  await ensureSchedulers();
  await sweep().catch((error: unknown) => logger.error({ err: error }, "start-up sweep failed"));

  // Every reconnection after the first: the Redis may be a new one (restarted, failed over, flushed).
  let reconnecting = false;
  const onReady = () => {
    if (reconnecting) return;
    reconnecting = true;
    logger.info("Redis is back: ensuring the job schedulers and sweeping for lost jobs");
    ensureSchedulers()
      .then(() => sweep())
      .catch((error: unknown) => logger.error({ err: error }, "could not ensure the schedulers after a reconnection"))
      .finally(() => {
        reconnecting = false;
      });
  };
  shared.on("ready", onReady);

  let closing: Promise<void> | undefined;
  return {
    sweep,
    close() {
      closing ??= (async () => {
        shared.off("ready", onReady);
        await worker.close();
        await Promise.allSettled([...[...queues.values()].map((q) => q.close()), flows.close()]);
        for (const redis of [shared, blocking]) if (redis.status !== "end") redis.disconnect();
      })();
      return closing;
    },
  };
}
