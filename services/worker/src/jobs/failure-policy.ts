import { ComposioError, type Config, composioRefusal, isInfrastructureError, type JobFailure, notFound } from "@kronos/shared";

/** What we were doing when Composio answered with an error: it decides which "not found" the client gets. */
export type ComposioStage = "create_auth_config" | "start_connection";

/**
 * A connection initiation's non-retryable Composio error, through the one map (`composioRefusal`, packages/shared):
 * the subject is the toolkit while its managed auth config is being created, the auth config once a connection is
 * being started.
 */
export function jobFailureFromComposioError(
  error: ComposioError,
  context: { stage: ComposioStage; toolkit: string; authConfigId?: string },
): JobFailure {
  const subject = context.stage === "create_auth_config" ? `Toolkit "${context.toolkit}"` : `Auth config "${context.authConfigId ?? "?"}"`;
  const { code, message } = composioRefusal(error, subject);
  return { code, message };
}

/** A short, secret-free description of an error for log lines. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof ComposioError) {
    return { name: error.name, kind: error.kind, message: error.message, status: error.details.status, requestId: error.details.requestId };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}

/** Whether Composio asked us to slow down (HTTP 429): the whole queue pauses instead of the job failing. */
export function isRateLimited(error: unknown): error is ComposioError {
  return error instanceof ComposioError && error.kind === "rate_limited";
}

/** Used when a 429 carries no Retry-After (Composio documents one on every 429). */
export const DEFAULT_RATE_LIMIT_PAUSE_MS = 1_000;
/** A Retry-After larger than this is capped: the budget, not a single answer, paces us over long periods. */
export const MAX_RATE_LIMIT_PAUSE_MS = 60_000;

/** How long the queue pauses after a 429: Retry-After, within bounds. */
export function rateLimitPauseMs(error: ComposioError): number {
  const seconds = error.details.retryAfterSeconds;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return DEFAULT_RATE_LIMIT_PAUSE_MS;
  return Math.min(Math.ceil(seconds * 1000), MAX_RATE_LIMIT_PAUSE_MS);
}

/**
 * A failure that must not be retried: a refusal of ours (not found, invalid job, wrong state) or Composio's 4xx in
 * words for the client. `recordCode` is the code stored on the record when it is more precise than the job failure's
 * (an execution's CONNECTION_NOT_ACTIVE); `endRecord: false` when the record is not this job's to end.
 */
export class Refusal extends Error {
  constructor(
    readonly failure: JobFailure,
    readonly options: { recordCode?: string; endRecord?: boolean } = {},
  ) {
    super(failure.message);
    this.name = "Refusal";
  }

  /** `<what> not found`, as the gateway's `notFound` says it (one phrasing and code for every missing thing). */
  static notFound(what: string): Refusal {
    const { code, message } = notFound(what);
    return new Refusal({ code, message });
  }
}

/** Which attempt of a job this is, counting Composio's answers only; the last one turns a retryable error into a final failure. */
export interface Attempt {
  attemptsMade: number;
  maxAttempts: number;
}

export const isLastAttempt = (attempt: Attempt) => attempt.attemptsMade + 1 >= attempt.maxAttempts;

/** How long a job has been waiting on our own infrastructure (Postgres, Redis): kept in the job's data. */
export interface InfraWait {
  retries: number;
  /** When the first of these consecutive errors happened (epoch ms). */
  since: number;
}

/** The key of the job's data under which InfraWait is kept (the contracts' schemas ignore it). */
export const INFRA_WAIT_KEY = "_infraWait";

export function infraWaitOf(data: unknown): InfraWait | null {
  const value = (data as Record<string, unknown> | null)?.[INFRA_WAIT_KEY] as Partial<InfraWait> | undefined;
  return typeof value?.retries === "number" && typeof value.since === "number" ? { retries: value.retries, since: value.since } : null;
}

/** What to do with an error of a job: the one decision every handler's errors go through (jobs/run-job.ts applies it). */
export type Decision =
  /** Composio asked us to slow down: the whole queue pauses; the job goes back to waiting, not counted. */
  | { action: "pause"; pauseMs: number }
  /** A retryable Composio answer (5xx, timeout, malformed) with attempts left: BullMQ retries with backoff, counted. */
  | { action: "retry" }
  /** Postgres or Redis unreachable: the job waits with its own capped backoff, not counted as a Composio attempt. */
  | { action: "wait"; delayMs: number; wait: InfraWait }
  /** Give up now: the record ends with this reason (unless `endRecord` is false) and the job fails with it. */
  | { action: "give_up"; failure: JobFailure; recordCode?: string; endRecord: boolean };

export interface DecisionContext {
  attempt: Attempt;
  /** Composio's non-retryable answers (4xx), in words for the operation at hand. */
  describe4xx: (error: ComposioError) => JobFailure;
  config: Pick<Config, "INFRA_RETRY_MAX_DELAY_MS" | "INFRA_RETRY_MAX_MS">;
  /** The job's earlier infrastructure waits (null: none); `false` for jobs that never wait (the next run retries). */
  infraWait: InfraWait | null | false;
  now: number;
}

/** The first infrastructure retry waits this long, doubling up to INFRA_RETRY_MAX_DELAY_MS. */
export const INFRA_RETRY_INITIAL_DELAY_MS = 500;

export function decideOnError(error: unknown, ctx: DecisionContext): Decision {
  const { attempt } = ctx;
  if (error instanceof Refusal) {
    return {
      action: "give_up",
      failure: error.failure,
      endRecord: error.options.endRecord !== false,
      ...(error.options.recordCode ? { recordCode: error.options.recordCode } : {}),
    };
  }
  if (isRateLimited(error)) return { action: "pause", pauseMs: rateLimitPauseMs(error) };
  if (error instanceof ComposioError) {
    if (!error.retryable) return { action: "give_up", failure: ctx.describe4xx(error), endRecord: true };
    if (!isLastAttempt(attempt)) return { action: "retry" };
    const message = `Composio is unavailable (${error.kind}); gave up after ${attempt.maxAttempts} attempts`;
    return { action: "give_up", failure: { code: "UPSTREAM_ERROR", message }, endRecord: true };
  }
  if (isInfrastructureError(error) && ctx.infraWait !== false) {
    const since = ctx.infraWait?.since ?? ctx.now;
    const retries = ctx.infraWait?.retries ?? 0;
    const delayMs = Math.min(ctx.config.INFRA_RETRY_MAX_DELAY_MS, INFRA_RETRY_INITIAL_DELAY_MS * 2 ** Math.min(retries, 20));
    if (ctx.now + delayMs - since <= ctx.config.INFRA_RETRY_MAX_MS)
      return { action: "wait", delayMs, wait: { retries: retries + 1, since } };
    const minutes = Math.round((ctx.now - since) / 60_000);
    const message = `Our database or queue was unreachable for ${minutes} min; gave up`;
    return { action: "give_up", failure: { code: "UNAVAILABLE", message }, endRecord: true };
  }
  // Our own bug or an unknown error: retried like a Composio 5xx, then given up with a generic reason.
  if (!isLastAttempt(attempt)) return { action: "retry" };
  return {
    action: "give_up",
    failure: { code: "INTERNAL", message: `Internal error; gave up after ${attempt.maxAttempts} attempts` },
    endRecord: true,
  };
}

/** Composio's non-retryable answer to an operation on `what`, as a job's failure (the one map: composioRefusal). */
export function describeComposioRefusal(error: ComposioError, what: string): JobFailure {
  const { code, message } = composioRefusal(error, what);
  return { code, message };
}

/**
 * Which attempt this is. The last one is the earlier of the job's own `attempts` and COMPOSIO_MAX_ATTEMPTS, so a job
 * added with more attempts than Composio may take still gives up in time, with its reason.
 */
export function attemptOf(
  job: { attemptsMade: number; opts: { attempts?: number } },
  config: Pick<Config, "COMPOSIO_MAX_ATTEMPTS">,
): Attempt {
  return { attemptsMade: job.attemptsMade, maxAttempts: Math.max(1, Math.min(job.opts.attempts ?? 1, config.COMPOSIO_MAX_ATTEMPTS)) };
}
