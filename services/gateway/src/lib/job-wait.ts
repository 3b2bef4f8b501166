import { decodeJobFailure, type JobFailure } from "@kronos/shared";
import type { Queue } from "bullmq";
import type { QueueEventsOnDemand } from "./queue-events-on-demand.js";

export type JobOutcome = { state: "completed"; value: unknown } | { state: "failed"; failure: JobFailure } | { state: "pending" };

/**
 * Adds a job (or a flow) with `add`, then waits up to `waitMs` for it to complete or fail (reading the queue's events
 * only then: no wait, no reader). It listens before adding, so a job that finishes at once (and is removed on completion) is not missed; when the wait ends, the
 * job's state is read once more in case an event was lost.
 */
export async function addAndWait(
  target: { queue: Queue; events: QueueEventsOnDemand; jobId: string },
  waitMs: number,
  add: () => Promise<unknown>,
): Promise<JobOutcome> {
  const { queue, jobId } = target;
  if (waitMs <= 0) {
    await add();
    return { state: "pending" };
  }
  return target.events.use(async (events) => {
    let stop = () => {};
    const finished = new Promise<JobOutcome>((resolve) => {
      const onCompleted = (args: { returnvalue?: unknown }) => resolve({ state: "completed", value: args.returnvalue });
      const onFailed = (args: { failedReason?: string }) => resolve({ state: "failed", failure: decodeJobFailure(args.failedReason) });
      const timer = setTimeout(() => resolve({ state: "pending" }), waitMs);
      events.on(`completed:${jobId}` as "completed", onCompleted as never);
      events.on(`failed:${jobId}` as "failed", onFailed as never);
      stop = () => {
        clearTimeout(timer);
        events.off(`completed:${jobId}` as "completed", onCompleted as never);
        events.off(`failed:${jobId}` as "failed", onFailed as never);
      };
    });
    try {
      await add();
      const outcome = await finished;
      return outcome.state === "pending" ? await currentOutcome(queue, jobId) : outcome;
    } finally {
      stop();
    }
  });
}

/** What a job's stored state says (pending when it is still running or already gone). */
export async function currentOutcome(queue: Queue, jobId: string): Promise<JobOutcome> {
  const job = await queue.getJob(jobId);
  if (!job) return { state: "pending" };
  const state = await job.getState();
  if (state === "completed") return { state: "completed", value: job.returnvalue };
  if (state === "failed") return { state: "failed", failure: decodeJobFailure(job.failedReason) };
  return { state: "pending" };
}
