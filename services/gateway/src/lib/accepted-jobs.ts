import { type AcceptedJobRecord, insertAcceptedJob, recordAcceptedJob } from "@kronos/db";
import { isInfrastructureError, markLatency, withDeadline } from "@kronos/shared";
import type { Job, Queue } from "bullmq";
import type { GatewayContext } from "../context.js";
import { addAndWait, type JobOutcome } from "./job-wait.js";
import type { QueueEventsOnDemand } from "./queue-events-on-demand.js";

/**
 * Records the job durably (one prepared statement on the pg pool: it is on every execution's path), then adds it with
 * `add` (within REDIS_COMMAND_TIMEOUT_MS): whether it was added. Once recorded, the request is accepted whatever Redis
 * does: a Redis that is down or too slow gives false (202; the sweeper adds the job when Redis is back), never an
 * error the caller would retry into a second job. Throws when Postgres cannot take it (nothing accepted: 503).
 */
export async function acceptJob(ctx: GatewayContext, record: AcceptedJobRecord, add: () => Promise<unknown>): Promise<boolean> {
  await insertAcceptedJob(ctx.sql, ctx.config.REDIS_KEY_PREFIX, record);
  markLatency(record.jobId, "g.recorded");
  try {
    await withDeadline(add(), ctx.config.REDIS_COMMAND_TIMEOUT_MS, "Redis (adding the job)");
    return true;
  } catch (error) {
    if (!isInfrastructureError(error)) {
      await forgetAcceptedJob(ctx, record);
      throw error;
    }
    return false;
  }
}

/** Refused for another reason than Redis being away: nothing was accepted, the record goes. */
async function forgetAcceptedJob(ctx: GatewayContext, record: AcceptedJobRecord): Promise<void> {
  await ctx.prisma.acceptedJob
    .deleteMany({ where: { keyPrefix: ctx.config.REDIS_KEY_PREFIX, queue: record.queue, jobId: record.jobId } })
    .catch(() => undefined);
}

/**
 * Records the job durably, then adds it (within REDIS_COMMAND_TIMEOUT_MS) and waits up to `waitMs` for its outcome.
 * Once recorded, the request is accepted whatever Redis does: a Redis that is down or too slow gives "pending" (202;
 * the sweeper adds the job when Redis is back), never an error the caller would retry into a second job.
 */
export async function acceptAndWait(
  ctx: GatewayContext,
  record: AcceptedJobRecord,
  target: { queue: Queue; events: QueueEventsOnDemand },
  waitMs: number,
  add: () => Promise<unknown>,
): Promise<JobOutcome> {
  // Postgres has it before the caller hears 2xx: a Redis that loses the job (a restart without its data, an
  // eviction) cannot lose the request. Throws when Postgres cannot take it (then nothing was accepted: 503).
  await recordAcceptedJob(ctx.prisma, ctx.config.REDIS_KEY_PREFIX, record);
  const redisMs = ctx.config.REDIS_COMMAND_TIMEOUT_MS;
  try {
    return await withDeadline(
      addAndWait({ ...target, jobId: record.jobId }, waitMs, () => withDeadline(add(), redisMs, "Redis (adding the job)")),
      waitMs + 2 * redisMs,
      "the job's outcome",
    );
  } catch (error) {
    if (!isInfrastructureError(error)) {
      await forgetAcceptedJob(ctx, record);
      throw error;
    }
    return { state: "pending" };
  }
}

/** An accepted job's record, while Redis has no job for it (lost, or not added yet): what the caller may see. */
export async function findAcceptedJob(ctx: GatewayContext, queue: string, jobId: string) {
  return ctx.prisma.acceptedJob.findUnique({ where: { keyPrefix_queue_jobId: { keyPrefix: ctx.config.REDIS_KEY_PREFIX, queue, jobId } } });
}

/** A queue's job, or undefined when it has none or Redis cannot say in time (the accepted record then speaks). */
export async function jobOrNothing(queue: Queue, jobId: string, ms = 1_000): Promise<Job | undefined> {
  try {
    return await withDeadline(queue.getJob(jobId), ms, "Redis (reading a job)");
  } catch (error) {
    if (isInfrastructureError(error)) return undefined;
    throw error;
  }
}
