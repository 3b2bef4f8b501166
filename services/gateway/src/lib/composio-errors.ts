import { AppError, ComposioError, composioRefusal } from "@kronos/shared";

/** A 503 that tells the client when to retry (the errors plugin sends Retry-After). */
class RetryLaterError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("UNAVAILABLE", message);
  }
}

/**
 * What a failed catalogue read from Composio means to our caller: Composio's refusals through the one map
 * (`composioRefusal`), and a 503 when Composio could not answer (after the client's retries) and nothing is cached.
 */
export function composioUnavailable(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ComposioError && (!error.retryable || error.kind === "rate_limited")) {
    const refusal = composioRefusal(error, what);
    return refusal.retryAfterSeconds === undefined
      ? new AppError(refusal.code, refusal.message)
      : new RetryLaterError(refusal.message, refusal.retryAfterSeconds);
  }
  return Object.assign(new AppError("UNAVAILABLE", "The Composio catalogue is unavailable and nothing is cached"), { cause: error });
}
