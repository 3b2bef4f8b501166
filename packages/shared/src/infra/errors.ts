/**
 * Postgres or Redis could not be reached, or did not answer in time: neither the caller's fault nor Composio's. The
 * gateway answers these 503 with Retry-After; a job waits for the infrastructure rather than spending Composio attempts.
 */

/** Seconds a 503 caused by an unreachable Postgres or Redis tells the caller to wait. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** A bounded wait that ran out (see `withDeadline`). */
export class DeadlineError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/** `promise`, or a DeadlineError after `ms` (the promise itself is not cancelled: only use on idempotent work). */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// Node's socket errors, and Postgres' connection and cancellation classes (08xxx, 57P0x; 57014 is a statement
// cancelled by statement_timeout).
const SYSTEM_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
const PG_CODE = /^(08[0-9A-Z]{3}|57P0[1-4]|57014|53300)$/;
// Prisma: can't reach (P1001), timed out (P1002), server closed the connection (P1017), pool timeout (P2024).
const PRISMA_CODES = new Set(["P1001", "P1002", "P1017", "P2024"]);
const MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection timeout|Can't reach database|server closed the connection|DatabaseNotReachable|ConnectionClosed|SocketTimeout|Stream isn't writeable|Connection is closed|Command timed out|max retries per request|ECONNREFUSED|ECONNRESET|ETIMEDOUT|statement timeout|canceling statement due to/i;

/** Whether `error` (or anything in its `cause` chain) says Postgres or Redis is unreachable or too slow. */
export function isInfrastructureError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const e = current as {
      name?: unknown;
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { code?: unknown; driverAdapterError?: unknown };
    };
    if (e.name === "DeadlineError" || e.name === "MaxRetriesPerRequestError") return true;
    if (typeof e.code === "string" && (SYSTEM_CODES.has(e.code) || PG_CODE.test(e.code) || PRISMA_CODES.has(e.code))) return true;
    if (typeof e.meta?.code === "string" && PG_CODE.test(e.meta.code)) return true;
    if (typeof e.message === "string" && MESSAGES.test(e.message)) return true;
    current = e.cause ?? e.meta?.driverAdapterError;
  }
  return false;
}
