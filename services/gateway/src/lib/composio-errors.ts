import { AppError, ComposioError } from "@kronos/shared";

/** A 503 that tells the client when to retry (the errors plugin sends Retry-After). */
class RetryLaterError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("UNAVAILABLE", message);
  }
}

/** What a failed catalogue read from Composio means to our caller. Composio's own message never leaves. */
export function composioUnavailable(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ComposioError) {
    if (error.kind === "not_found") return new AppError("NOT_FOUND", `${what} not found`);
    if (error.kind === "rate_limited")
      return new RetryLaterError(
        "Composio is rate limiting us: retry later",
        Math.max(1, Math.ceil(error.details.retryAfterSeconds ?? 30)),
      );
    if (error.kind === "client") return new AppError("BAD_REQUEST", "Composio refused the query");
  }
  return Object.assign(new AppError("UNAVAILABLE", "The Composio catalogue is unavailable and nothing is cached"), { cause: error });
}
