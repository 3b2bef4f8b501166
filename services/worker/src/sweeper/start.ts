import { JOBS, type Logger, SWEEPER_SCHEDULER_ID, warnAboutRedisRequirements } from "@kronos/shared";
import type { Queue } from "bullmq";
import type { JobContext } from "../jobs/context.js";
import { sweepOnce } from "./jobs.js";

export interface RunningSweeper {
  close(): void;
}

/** The sweep's job scheduler (SWEEP_INTERVAL_SECONDS; 0 removes it). */
export async function scheduleSweeps(queue: Queue, intervalSeconds: number): Promise<void> {
  if (intervalSeconds > 0) {
    await queue.upsertJobScheduler(
      SWEEPER_SCHEDULER_ID,
      { every: intervalSeconds * 1000 },
      { name: JOBS.sweepAccepted, data: {}, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 10 } } },
    );
  } else {
    await queue.removeJobScheduler(SWEEPER_SCHEDULER_ID);
  }
}

/**
 * What the sweeper does besides its scheduled job: at start-up, warns when Redis is not set up as the queues need,
 * ensures the job schedulers and sweeps once; after every Redis reconnection (the Redis may be a new one: restarted
 * without its data, failed over), ensures every job scheduler again (`schedulers`: its own and the others') and sweeps
 * at once.
 */
export async function startSweeper(ctx: JobContext, schedulers: Array<() => Promise<void>>, logger: Logger): Promise<RunningSweeper> {
  await warnAboutRedisRequirements(ctx.redis, logger);
  if (ctx.config.SWEEP_INTERVAL_SECONDS === 0) {
    // Off (tests that share one database between deployments): no pass now, none on reconnection either.
    await scheduleSweeps(ctx.queues.sweeper as unknown as Queue, 0);
    return { close: () => undefined };
  }
  const ensure = async () => {
    await scheduleSweeps(ctx.queues.sweeper as unknown as Queue, ctx.config.SWEEP_INTERVAL_SECONDS);
    for (const schedule of schedulers) await schedule();
  };
  await ensure();
  await sweepOnce(ctx, logger).catch((error: unknown) => logger.error({ err: error }, "the start-up sweep failed"));

  let busy = false;
  const onReady = () => {
    if (busy) return;
    busy = true;
    logger.info("Redis is back, or lost its data: ensuring the job schedulers and sweeping for lost jobs");
    ensure()
      .then(() => sweepOnce(ctx, logger))
      .catch((error: unknown) => logger.error({ err: error }, "could not ensure the schedulers after a reconnection"))
      .finally(() => {
        busy = false;
      });
  };
  // The first "ready" has passed (the queues waited for it): every one from now on is a reconnection.
  ctx.redis.on("ready", onReady);
  // A Redis can also lose its data without this process seeing a reconnection (a failover to an empty replica, a
  // flush): when the sweeper's own scheduler is gone, every scheduler is, so the same repair runs.
  const sweeperQueue = ctx.queues.sweeper as unknown as Queue;
  const watchdog = setInterval(() => {
    sweeperQueue
      .getJobScheduler(SWEEPER_SCHEDULER_ID)
      .then((scheduler) => {
        if (!scheduler) onReady();
      })
      .catch(() => undefined); // Redis away: the reconnection will do it
  }, ctx.config.SWEEP_INTERVAL_SECONDS * 1000);
  watchdog.unref();
  return {
    close: () => {
      clearInterval(watchdog);
      ctx.redis.off("ready", onReady);
    },
  };
}
