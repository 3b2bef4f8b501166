import {
  decodeJobFailure,
  encodeJobFailure,
  type JobFailure,
  type JobResultOf,
  type jobMetrics,
  type Logger,
  lazyChildLogger,
  markLatency,
  type ParsedJobDataOf,
  QUEUE_CONTRACTS,
  type QueueKey,
  type Redis,
} from "@kronos/shared";
import { DelayedError, type Job, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import type { JobContext } from "./context.js";
import {
  attemptOf,
  type Decision,
  decideOnError,
  describeComposioRefusal,
  describeError,
  INFRA_WAIT_KEY,
  infraWaitOf,
} from "./failure-policy.js";
import { retryFinalWrite } from "./final-write.js";
import type { JobHandler, JobRun } from "./registry.js";

/** Outcomes counted by kronos_jobs_finished_total. */
type JobOutcome = "completed" | "failed" | "retried" | "rate_limited" | "delayed";

/** The job's logger: made only if the job logs at an enabled level (pino's child() serialises its bindings at once). */
export function jobLogger(logger: Logger, queue: string, job: Pick<Job, "id" | "name" | "data">): Logger {
  const data = job.data as { connectionId?: unknown; executionId?: unknown } | undefined;
  return lazyChildLogger(logger, {
    queue,
    jobId: job.id,
    jobName: job.name,
    ...(typeof data?.connectionId === "string" ? { connectionId: data.connectionId } : {}),
    ...(typeof data?.executionId === "string" ? { executionId: data.executionId } : {}),
  });
}

/** The job gave up: its record has been ended (when it has one) and BullMQ must not retry it. */
export class GaveUp extends UnrecoverableError {
  constructor(readonly failure: JobFailure) {
    super(encodeJobFailure(failure));
  }
}

/** A decision BullMQ carries out (pause the queue, retry, wait): thrown by runWithPolicy, applied by the processor. */
export class Deferred extends Error {
  constructor(
    readonly decision: Exclude<Decision, { action: "give_up" }>,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = "Deferred";
  }
}

/**
 * Runs one job under the one failure policy: the handler throws errors as they are; decideOnError says what they
 * mean. Giving up ends the job's record with the reason (the write itself retried) and throws GaveUp; the other
 * decisions are thrown as Deferred for the BullMQ processor to apply. Usable without BullMQ (tests).
 */
export async function runWithPolicy<K extends QueueKey>(
  handler: JobHandler<K>,
  data: ParsedJobDataOf<K>,
  run: JobRun,
  ctx: JobContext,
): Promise<JobResultOf<K>> {
  let result: JobResultOf<K>;
  try {
    result = await handler.run(data, run, ctx);
  } catch (error) {
    if (error instanceof DelayedError) throw error;
    const decision = decideOnError(error, {
      attempt: run.attempt,
      describe4xx: (e) => handler.describe4xx?.(e, data) ?? describeComposioRefusal(e, "The Composio resource"),
      config: ctx.config,
      infraWait: handler.waitsOnInfrastructure === false ? false : infraWaitOf(run.job.data),
      now: Date.now(),
    });
    if (decision.action !== "give_up") {
      const level = decision.action === "pause" ? "info" : "warn";
      run.log[level](
        { err: describeError(error), decision, attemptsMade: run.attempt.attemptsMade },
        "job attempt failed; trying again later",
      );
      throw new Deferred(decision, error);
    }
    run.log.warn({ err: describeError(error), code: decision.failure.code, recordCode: decision.recordCode }, "job gave up");
    const endRecord = handler.endRecord;
    if (decision.endRecord && endRecord) {
      await retryFinalWrite(() => endRecord(data, decision.failure, ctx, run.log, decision.recordCode), ctx.config, run.log);
    }
    await handler.whenOver?.(run);
    throw new GaveUp(decision.failure);
  }
  await handler.whenOver?.(run);
  return result;
}

/**
 * Starts the BullMQ worker of one queue with its handler, under the one failure policy:
 * - the job's name and data are checked against the queue's contract (a mismatch is refused, never retried);
 * - a Composio 429 pauses the whole queue for Retry-After (worker.rateLimit + RateLimitError: the job goes back to
 *   waiting without counting as an attempt), instead of each job retrying on its own;
 * - a Postgres or Redis error makes the job wait (moved to delayed, not counted as an attempt) with its own capped
 *   backoff for up to INFRA_RETRY_MAX_MS;
 * - jobs that call Composio get a limiter (needed for a manual rate limit to hold in every process; at most
 *   COMPOSIO_REQUESTS_PER_MINUTE jobs a minute, which the shared budget bounds anyway);
 * - every job holds a short lock (JOB_LOCK_MS, checked every JOB_STALLED_CHECK_MS): a crashed worker's jobs resume
 *   within seconds;
 * - a job that fails for good, by whatever path (refused, out of attempts, stalled too often), has its record ended
 *   by the handler's `endRecord` with the stored reason, and that write is itself retried.
 */
export function startJobWorker<K extends QueueKey>(
  key: K,
  handler: JobHandler<K>,
  ctx: JobContext,
  options: {
    connection: Redis;
    metrics: ReturnType<typeof jobMetrics> | null;
    /** Tests shorten the lock and the stalled-job check, to see a dead worker's job taken over quickly. */
    workerOptions?: Pick<WorkerOptions, "lockDuration" | "stalledInterval">;
  },
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
      // Latency marks (off unless LATENCY_MARKS_FILE): when an execution's job was picked up.
      const executionId = (job.data as { executionId?: unknown }).executionId;
      if (typeof executionId === "string") markLatency(executionId, "w.picked");
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
        const result = await runWithPolicy(
          handler,
          parsed.data as ParsedJobDataOf<K>,
          { job, token, log, attempt: attemptOf(job, config) },
          ctx,
        );
        if (infraWaitOf(job.data)) await job.updateData(withoutInfraWait(job.data));
        return result;
      } catch (error) {
        if (error instanceof DelayedError) {
          outcome = "delayed";
          throw error;
        }
        if (!(error instanceof Deferred)) {
          outcome = "failed";
          throw error;
        }
        const { decision } = error;
        if (decision.action === "pause") {
          log.warn({ pauseMs: decision.pauseMs }, "Composio rate limit: pausing the queue");
          outcome = "rate_limited";
          // The whole queue (every process) waits; this job goes back to waiting, not counted as an attempt.
          await worker.rateLimit(decision.pauseMs);
          throw Worker.RateLimitError();
        }
        if (decision.action === "wait") {
          // Not an attempt: the job waits for our infrastructure, then runs again with its attempts intact.
          outcome = "delayed";
          await job.updateData({ ...(job.data as object), [INFRA_WAIT_KEY]: decision.wait });
          await job.moveToDelayed(Date.now() + decision.delayMs, token);
          throw new DelayedError();
        }
        outcome = "retried";
        // BullMQ retries it with the contract's backoff, counting the attempt; its reason is the error's message.
        throw error.error;
      } finally {
        duration?.observe((performance.now() - started) / 1000);
        options.metrics?.finished.inc({ queue, outcome });
      }
    },
    {
      connection: options.connection,
      prefix: config.REDIS_KEY_PREFIX,
      concurrency: handler.concurrency?.(config) ?? config.WORKER_CONCURRENCY,
      // A crashed worker's jobs resume within seconds: a short lock, renewed while the job runs, and a frequent look
      // for expired ones. A job whose worker died twice fails ("stalled more than allowable limit") and its handler's
      // endRecord ends its record (see the failed listener below).
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_STALLED_CHECK_MS,
      maxStalledCount: 1,
      ...(handler.callsComposio ? composioOptions : {}),
      ...handler.workerOptions?.(config),
      ...options.workerOptions,
    },
  );

  worker.on("failed", (job, error) => {
    const log = job ? jobLogger(logger, queue, job) : logger.child({ queue });
    log.warn({ err: describeError(error), attemptsMade: job?.attemptsMade }, "job failed");
    // GaveUp: the policy has ended the record already. Any other way to fail for good (BullMQ's "job stalled more
    // than allowable limit", an error thrown before the handler ran) ends it here, with the stored reason.
    if (!job || error instanceof GaveUp || !handler.endRecord || !failedForGood(job)) return;
    const parsed = contract.data.safeParse(job.data);
    if (!parsed.success) return;
    const endRecord = handler.endRecord;
    void retryFinalWrite(() => endRecord(parsed.data as ParsedJobDataOf<K>, failureOf(job), ctx, log), config, log);
  });
  worker.on("error", (error) => logger.error({ queue, err: describeError(error) }, "worker error"));
  return worker;
}

function withoutInfraWait(data: unknown): unknown {
  const { [INFRA_WAIT_KEY]: _dropped, ...rest } = data as Record<string, unknown>;
  return rest;
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
