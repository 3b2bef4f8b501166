/**
 * Bounded waits on Postgres and Redis. What counts as an infrastructure error is `isInfrastructureError`
 * (../infrastructure-errors.ts): the gateway answers those 503 with Retry-After; a job waits for the infrastructure.
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
