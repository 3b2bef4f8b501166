import type { ErrorCode } from "../errors.js";
import type { ComposioError } from "./port.js";

/** What one of Composio's answers means to our caller: a code of ours (its HTTP status is in ERROR_STATUS) and words. */
export interface ComposioRefusal {
  code: ErrorCode;
  message: string;
  /** For a 429: when to try again. */
  retryAfterSeconds?: number;
}

/** Words Composio uses in a 400/422 that is really "no such thing" (an unknown toolkit, a missing auth config). */
const NOT_FOUND_WORDS = /not[ _-]?found|unknown|does not exist|no such/i;

/**
 * The one map from Composio's errors to ours, used by the gateway (catalogue reads) and by every worker job when it
 * gives up. `subject` names what was asked for ("Tool \"GITHUB_STAR\"", "Auth config \"ac_1\"").
 *
 * - 404, or a 400/422 whose words say "not found": NOT_FOUND.
 * - 409: CONFLICT; 410: BAD_REQUEST (the thing is deprecated at Composio); other 4xx about the request: BAD_REQUEST.
 *   Composio's message is kept for these: it is about the caller's request and names no secret of ours.
 * - 429: UNAVAILABLE with Retry-After (a job pauses its queue instead; it never gives up on a 429).
 * - Our own credentials refused (401/403), and everything else (5xx, timeouts, malformed answers) once retries are
 *   spent: UPSTREAM_ERROR. Composio's message is kept for the latter (it is about Composio), never for credentials.
 */
export function composioRefusal(error: ComposioError, subject: string): ComposioRefusal {
  const status = error.details.status;
  if (error.kind === "not_found" || status === 404) return { code: "NOT_FOUND", message: `${subject} not found at Composio` };
  if (error.kind === "rate_limited") {
    return {
      code: "UNAVAILABLE",
      message: "Composio is rate limiting us: retry later",
      retryAfterSeconds: Math.max(1, Math.ceil(error.details.retryAfterSeconds ?? 30)),
    };
  }
  if (error.kind === "auth") return { code: "UPSTREAM_ERROR", message: "Composio refused our credentials" };
  if (error.kind === "client") {
    if (status === 409) return { code: "CONFLICT", message: `Composio refused: ${error.message}` };
    if (status === 410) return { code: "BAD_REQUEST", message: `${subject} is deprecated at Composio: ${error.message}` };
    if (NOT_FOUND_WORDS.test(error.message)) return { code: "NOT_FOUND", message: `${subject} not found at Composio: ${error.message}` };
    return { code: "BAD_REQUEST", message: `Composio rejected the request: ${error.message}` };
  }
  return { code: "UPSTREAM_ERROR", message: `Composio answered with an error: ${error.message}` };
}
