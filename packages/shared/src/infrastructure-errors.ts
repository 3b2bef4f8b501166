/** A dependency known to be unreachable right now: refused at once rather than after another timeout. */
export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnreachableError";
  }
}

/**
 * Whether an error means our own infrastructure (Postgres, Redis) could not be reached or answered, rather than a
 * problem with the request or with Composio: a refused or dropped connection, a timeout waiting for one, a server
 * shutting down. Such errors say nothing about the work itself; the work waits and is tried again.
 */
export function isInfrastructureError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): boolean => {
    if (!value || typeof value !== "object" || seen.has(value) || depth > 5) return false;
    seen.add(value);
    const e = value as {
      name?: unknown;
      code?: unknown;
      kind?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || PRISMA_CODES.has(e.code) || isPostgresUnavailable(e.code))) {
      return true;
    }
    if (typeof e.kind === "string" && ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.name === "string" && INFRA_ERROR_NAMES.has(e.name)) return true;
    if (typeof e.message === "string" && INFRA_MESSAGES.test(e.message)) return true;
    return walk(e.cause, depth + 1) || walk(e.meta?.driverAdapterError, depth + 1);
  };
  return walk(error, 0);
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);
/** Prisma: cannot reach (P1001), timed out (P1002, P1008), connection closed (P1017), pool timeout (P2024). */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
/** Prisma's pg adapter, in its DriverAdapterError's cause. */
const ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TransactionAlreadyClosed",
]);
/** DeadlineError: a bounded wait on Postgres or Redis ran out (`withDeadline`, infra/errors.ts); UnreachableError above. */
const INFRA_ERROR_NAMES = new Set(["PrismaClientInitializationError", "MaxRetriesPerRequestError", "DeadlineError", "UnreachableError"]);
const INFRA_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|Stream isn't writeable|Client has encountered a connection error|Command timed out|Query read timeout/i;

/** SQLSTATE classes 08 (connection exception) and 57P01-57P03 (shutting down, cannot connect now), 53300 (too many connections). */
function isPostgresUnavailable(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300";
}
