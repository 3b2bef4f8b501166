/** Retry-After past this is not waited for: the schedule's longest delay or a day, whichever is longer. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * When the next attempt is due after `attemptsMade` attempts, in ms from now, or null when the schedule is spent.
 * Each delay is jittered by ±10% (endpoints that failed together do not all come back in the same second); a
 * Retry-After longer than the delay wins.
 */
export function nextAttemptDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attemptsMade];
  if (base === undefined) return null;
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** A Retry-After header (seconds, or an HTTP date) in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
