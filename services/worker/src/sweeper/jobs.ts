import type { Logger, Redis } from "@kronos/shared";
import { FlowProducer, type Queue } from "bullmq";
import type { JobContext } from "../jobs/context.js";
import type { JobHandler } from "../jobs/registry.js";
import { type SweepDeps, sweepAcceptedJobs } from "./sweep.js";

// One flow producer per shared connection (bulk requests are re-added as flows), made on first use.
const flowProducers = new WeakMap<Redis, FlowProducer>();

/** What a sweep needs, from a job context. */
export function sweepDeps(ctx: JobContext, log: Logger): SweepDeps {
  let flows = flowProducers.get(ctx.redis);
  if (!flows) {
    flows = new FlowProducer({ connection: ctx.redis, prefix: ctx.config.REDIS_KEY_PREFIX });
    flows.on("error", (error: Error) => log.debug({ err: error }, "sweeper flow producer error"));
    flowProducers.set(ctx.redis, flows);
  }
  const queues = new Map<string, Queue>(Object.values(ctx.queues).map((queue) => [queue.name, queue as unknown as Queue]));
  return {
    prisma: ctx.prisma,
    bus: ctx.bus,
    redis: ctx.redis,
    prefix: ctx.config.REDIS_KEY_PREFIX,
    queues,
    flows,
    logger: log,
    graceMs: ctx.config.SWEEP_GRACE_MS,
  };
}

/** One pass of the sweeper over what Redis may have lost (see `sweepAcceptedJobs`). */
export function sweepOnce(ctx: JobContext, log: Logger) {
  return sweepAcceptedJobs(sweepDeps(ctx, log));
}

/** The scheduled sweep (SWEEP_INTERVAL_SECONDS): one pass at a time per process; passes in several processes are safe. */
export const sweepAcceptedJob: JobHandler<"sweeper"> = {
  callsComposio: false,
  concurrency: () => 1,
  async run(_data, { log }, ctx) {
    const report = await sweepOnce(ctx, log);
    if (report.redriven + report.webhooksRedriven + report.pollsRedriven > 0) log.warn({ ...report }, "the sweeper re-drove lost work");
    return report;
  },
};
