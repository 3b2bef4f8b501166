import {
  type ComposioError,
  type Config,
  type JobFailure,
  type JobResultOf,
  type Logger,
  type ParsedJobDataOf,
  QUEUE_CONTRACTS,
  QUEUE_KEYS,
  type QueueKey,
  type Redis,
} from "@kronos/shared";
import type { Job, WorkerOptions } from "bullmq";
import type { JobContext } from "./context.js";
import type { Attempt } from "./failure-policy.js";

/** One run of a job, as its handler sees it. */
export interface JobRun {
  job: Job;
  /** BullMQ's lock token, for moveToDelayed and friends. */
  token: string | undefined;
  /** The job's own logger (queue, job id, connection or execution id). */
  log: Logger;
  attempt: Attempt;
}

/** How one queue's jobs are run. The data reaches `run` parsed by the queue's contract. */
export interface JobHandler<K extends QueueKey = QueueKey> {
  /** Jobs that call Composio get the Composio limiter and pause their whole queue on a 429. */
  callsComposio: boolean;
  /** How many jobs one process runs at once (default WORKER_CONCURRENCY). */
  concurrency?: (config: Config) => number;
  /** BullMQ worker options of this queue (lock duration, stalled-job checks, its own limiter...). */
  workerOptions?: (config: Config) => Partial<WorkerOptions>;
  /** Postgres and Redis errors make the job wait and try again (default); false: give up (the next run retries). */
  waitsOnInfrastructure?: boolean;
  /** Runs the job. Errors are thrown as they are: the failure policy (jobs/run-job.ts) decides what they mean. */
  run(data: ParsedJobDataOf<K>, run: JobRun, ctx: JobContext): Promise<JobResultOf<K>>;
  /** Composio's non-retryable answers (4xx) in words for this job (default: describeComposioRefusal). */
  describe4xx?(error: ComposioError, data: ParsedJobDataOf<K>): JobFailure;
  /**
   * Ends the job's record when the job has failed for good by any path (refused, out of attempts, stalled too often):
   * must do nothing to a record that is already final. Called with the stored reason, and the record's own code
   * when it is more precise (Refusal's recordCode).
   */
  endRecord?(data: ParsedJobDataOf<K>, failure: JobFailure, ctx: JobContext, log: Logger, recordCode?: string): Promise<void>;
  /** Called once the job is over (done or given up), e.g. to drop a secret from its data. */
  whenOver?(run: JobRun): Promise<void>;
  /**
   * A consumer of this capability's own that runs beside the queue's BullMQ worker, started and stopped with it
   * (the webhook delivery lane), given a Redis connection of its own.
   */
  alongside?(ctx: JobContext, connection: Redis): AlongsideConsumer;
}

export interface AlongsideConsumer {
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export type JobRegistry = { [K in QueueKey]: JobHandler<K> };

/**
 * Refuses to start when the table and the queue contracts disagree: a queue without a handler would fill up
 * unseen, a handler without a queue is dead code (or a contract that was removed). The message names each one.
 */
export function checkRegistry(handlers: Partial<Record<string, unknown>>, queueKeys: readonly string[] = QUEUE_KEYS): void {
  const missing = queueKeys.filter((key) => !handlers[key]);
  const unknown = Object.keys(handlers).filter((key) => !queueKeys.includes(key));
  const problems = [
    ...missing.map((key) => `queue "${queueNameOf(key)}" (${key}) has no handler`),
    ...unknown.map((key) => `handler "${key}" has no queue in QUEUE_CONTRACTS`),
  ];
  if (problems.length > 0) throw new Error(`The worker's job registry does not match the queues: ${problems.join("; ")}`);
}

const queueNameOf = (key: string) => (QUEUE_CONTRACTS as Record<string, { name: string }>)[key]?.name ?? key;
