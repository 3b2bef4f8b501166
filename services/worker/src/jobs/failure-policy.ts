import { ComposioError, type Config, type JobFailure } from "@kronos/shared";

/** What we were doing when Composio answered with an error: it decides which "not found" the client gets. */
export type ComposioStage = "create_auth_config" | "start_connection" | "read_account";

const NOT_FOUND_MESSAGE = /not[ _-]?found|unknown|does not exist|no such/i;

/**
 * Turns a non-retryable Composio error into the failure the gateway shows the client: NOT_FOUND for an unknown
 * toolkit or auth config, BAD_REQUEST for what Composio rejects as invalid, UPSTREAM_ERROR for the rest (our own
 * credentials refused, conflicts...). Composio's own message is kept for 4xx answers about the request; nothing
 * from the request itself (and so no secret) is in it.
 */
export function jobFailureFromComposioError(
  error: ComposioError,
  context: { stage: ComposioStage; toolkit: string; authConfigId?: string },
): JobFailure {
  const status = error.details.status;
  const what = context.stage === "create_auth_config" ? `Toolkit "${context.toolkit}"` : `Auth config "${context.authConfigId ?? "?"}"`;
  if (error.kind === "not_found" || status === 404) {
    return context.stage === "read_account"
      ? { code: "NOT_FOUND", message: "The connected account no longer exists at Composio" }
      : { code: "NOT_FOUND", message: `${what} not found at Composio` };
  }
  if (error.kind === "client" && (status === 400 || status === 422 || status === undefined)) {
    if (NOT_FOUND_MESSAGE.test(error.message) && context.stage !== "read_account") {
      return { code: "NOT_FOUND", message: `${what} not found at Composio: ${error.message}` };
    }
    return { code: "BAD_REQUEST", message: `Composio rejected the request: ${error.message}` };
  }
  if (error.kind === "auth") return { code: "UPSTREAM_ERROR", message: "Composio refused our credentials" };
  return { code: "UPSTREAM_ERROR", message: `Composio answered with an error: ${error.message}` };
}

/** For the last attempt of a job that kept failing on something retryable. */
export function jobFailureFromExhaustedError(error: unknown): JobFailure {
  if (error instanceof ComposioError) {
    return { code: "UPSTREAM_ERROR", message: `Composio is unavailable (${error.kind}); gave up after several attempts` };
  }
  return { code: "INTERNAL", message: "The connection could not be started" };
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

/** A failure that must not be retried (a refusal of ours: not found, invalid job, wrong state). */
export class Refusal extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
    this.name = "Refusal";
  }
}

/** Which attempt of a job this is; the last one turns a retryable error into a final failure. */
export interface Attempt {
  attemptsMade: number;
  maxAttempts: number;
}

export const isLastAttempt = (attempt: Attempt) => attempt.attemptsMade + 1 >= attempt.maxAttempts;

/**
 * What to do with an error of a job that talks to Composio:
 * - `rethrow`: let BullMQ handle it (429: the processor pauses the queue; retryable error before the last attempt:
 *   retried with backoff);
 * - `fail`: give up now with this failure (our refusals, Composio's 4xx, or a retryable error on the last attempt).
 * `describe4xx` words Composio's non-retryable answers for the operation at hand.
 */
export function decideOnError(
  error: unknown,
  attempt: Attempt,
  describe4xx: (error: ComposioError) => JobFailure,
): { action: "rethrow" } | { action: "fail"; failure: JobFailure } {
  if (error instanceof Refusal) return { action: "fail", failure: error.failure };
  if (isRateLimited(error)) return { action: "rethrow" };
  if (error instanceof ComposioError && !error.retryable) return { action: "fail", failure: describe4xx(error) };
  if (!isLastAttempt(attempt)) return { action: "rethrow" };
  if (error instanceof ComposioError) {
    const message = `Composio is unavailable (${error.kind}); gave up after ${attempt.maxAttempts} attempts`;
    return { action: "fail", failure: { code: "UPSTREAM_ERROR", message } };
  }
  return { action: "fail", failure: { code: "INTERNAL", message: `Internal error; gave up after ${attempt.maxAttempts} attempts` } };
}

/**
 * Composio's non-retryable answer to an operation on something that exists (a connected account, an auth config,
 * a tool): NOT_FOUND for 404, BAD_REQUEST for a rejected request (Composio's message kept: it names no secret of
 * ours unless the caller scrubs it), UPSTREAM_ERROR for our own credentials refused and the rest.
 */
export function describeComposioRefusal(error: ComposioError, what: string): JobFailure {
  const status = error.details.status;
  if (error.kind === "not_found" || status === 404) return { code: "NOT_FOUND", message: `${what} not found at Composio` };
  if (error.kind === "auth") return { code: "UPSTREAM_ERROR", message: "Composio refused our credentials" };
  if (error.kind === "client") {
    if (status === 409) return { code: "CONFLICT", message: `Composio refused: ${error.message}` };
    return { code: "BAD_REQUEST", message: `Composio rejected the request: ${error.message}` };
  }
  return { code: "UPSTREAM_ERROR", message: `Composio answered with an error: ${error.message}` };
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
