import { ComposioError, type JobFailure } from "@kronos/shared";

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
