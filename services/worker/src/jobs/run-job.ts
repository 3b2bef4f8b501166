import {
  type Config,
  decodeJobFailure,
  encodeJobFailure,
  type JobFailure,
  type jobMetrics,
  type Logger,
  lazyChildLogger,
  QUEUE_CONTRACTS,
  type QueueKey,
  type Redis,
} from "@kronos/shared";
import { DelayedError, type Job, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import type { JobContext } from "./context.js";
import { attemptOf, describeError, isRateLimited, rateLimitPauseMs } from "./failure-policy.js";
import type { JobHandler } from "./registry.js";

/** Outcomes counted by kronos_jobs_finished_total. */
type JobOutcome = "completed" | "failed" | "retried" | "rate_limited" | "delayed";

/** The job's logger: made only if the job logs at an enabled level (pino's child() serialises its bindings at once). */
export function jobLogger(logger: Logger, queue: string, job: Job): Logger {
  const data = job.data as { connectionId?: unknown; executionId?: unknown } | undefined;
  return lazyChildLogger(logger, {
    queue,
    jobId: job.id,
    jobName: job.name,
    ...(typeof data?.connectionId === "string" ? { connectionId: data.connectionId } : {}),
    ...(typeof data?.executionId === "string" ? { executionId: data.executionId } : {}),
  });
}

/**
 * Starts the BullMQ worker of one queue with its handler, under the one failure policy:
 * - the job's name and data are checked against the queue's contract (a mismatch is refused, never retried);
 * - a Composio 429 pauses the whole queue for Retry-After (worker.rateLimit + RateLimitError: the job goes back to
 *   waiting without counting as an attempt), instead of each job retrying on its own;
 * - jobs that call Composio get a limiter (needed for a manual rate limit to hold in every process; at most
 *   COMPOSIO_REQUESTS_PER_MINUTE jobs a minute, which the shared budget bounds anyway);
 * - a job that fails for good, by whatever path (refused, out of attempts, stalled too often), has its record ended
 *   by the handler's `endRecord` with the stored reason, and that write is itself retried.
 */
export function startJobWorker<K extends QueueKey>(
  key: K,
  handler: JobHandler<K>,
  ctx: JobContext,
  options: { connection: Redis; metrics: ReturnType<typeof jobMetrics> | null },
): Worker {
  const contract = QUEUE_CONTRACTS[key];
  const queue = contract.name;
  const { config, logger } = ctx;
  const duration = options.metrics?.duration.series({ queue, name: contract.job });
  const composioOptions: Partial<WorkerOptions> = {
    limiter: { max: config.COMPOSIO_REQUESTS_PER_MINUTE, duration: 60_000 },
  };

  const worker: Worker = new Worker(
    queue,
    async (job, token) => {
      const log = jobLogger(logger, queue, job);
      if (job.name !== contract.job) {
        log.error("unknown job name");
        throw new UnrecoverableError(encodeJobFailure({ code: "BAD_REQUEST", message: `Unknown job "${job.name}"` }));
      }
      const parsed = contract.data.safeParse(job.data);
      if (!parsed.success) {
        log.warn({ issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) }, "invalid job data");
        throw new UnrecoverableError(encodeJobFailure({ code: "VALIDATION_FAILED", message: `Invalid ${contract.job} job` }));
      }
      const started = performance.now();
      let outcome: JobOutcome = "completed";
      try {
        return await handler.run(parsed.data as never, { job, token, log, attempt: attemptOf(job, config) }, ctx);
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
        options.metrics?.finished.inc({ queue, outcome });
      }
    },
    {
      connection: options.connection,
      prefix: config.REDIS_KEY_PREFIX,
      concurrency: handler.concurrency?.(config) ?? config.WORKER_CONCURRENCY,
      ...(handler.callsComposio ? composioOptions : {}),
    },
  );

  worker.on("failed", (job, error) => {
    const log = job ? jobLogger(logger, queue, job) : logger.child({ queue });
    log.warn({ err: describeError(error), attemptsMade: job?.attemptsMade }, "job failed");
    if (!job || !handler.endRecord || !failedForGood(job)) return;
    // Whatever ended the job (our refusal, the last attempt, BullMQ's "job stalled more than allowable limit"), its
    // record ends with the stored reason. Doing nothing to a record that is final already, this is safe to repeat.
    const parsed = contract.data.safeParse(job.data);
    if (!parsed.success) return;
    const failure = failureOf(job);
    const endRecord = handler.endRecord;
    void retryFinalWrite(() => endRecord(parsed.data as never, failure, ctx, log), config, log);
  });
  worker.on("error", (error) => logger.error({ queue, err: describeError(error) }, "worker error"));
  return worker;
}

/** True once BullMQ has moved the job to the failed set (no retry left, or failed without retry). */
const failedForGood = (job: Job) => typeof job.finishedOn === "number" && job.finishedOn > 0;

/** The reason a failed job gave: ours (encodeJobFailure) or BullMQ's own, such as a stalled job's. */
export function failureOf(job: Pick<Job, "failedReason">): JobFailure {
  const decoded = decodeJobFailure(job.failedReason);
  if (decoded.message === "The job failed" && job.failedReason) {
    return { code: "INTERNAL", message: `The job could not finish: ${job.failedReason}` };
  }
  return decoded;
}

/**
 * Writes a final state, retrying with a capped backoff while Postgres or Redis is unreachable: a record left
 * RUNNING or INITIALIZING forever is worse than a late one. Gives up (logged) after FINAL_WRITE_MAX_MS.
 */
export async function retryFinalWrite(
  write: () => Promise<unknown>,
  config: Pick<Config, "INFRA_RETRY_MAX_DELAY_MS" | "INFRA_RETRY_MAX_MS">,
  log: Logger,
): Promise<boolean> {
  const deadline = Date.now() + config.INFRA_RETRY_MAX_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await write();
      return true;
    } catch (error) {
      const delayMs = Math.min(config.INFRA_RETRY_MAX_DELAY_MS, 200 * 2 ** attempt);
      if (Date.now() + delayMs > deadline) {
        log.error({ err: describeError(error) }, "could not write the final state of a failed job; giving up");
        return false;
      }
      log.warn({ err: describeError(error), delayMs }, "could not write the final state of a failed job; retrying");
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
