import { performance } from "node:perf_hooks";

const RATE_LIMIT_WINDOW_MS = 60_000;
export const RATE_LIMIT_WINDOW_SECONDS = RATE_LIMIT_WINDOW_MS / 1000;

export type RateLimitDecision =
  | { allowed: true; limit: number | null; remaining: number | null }
  | { allowed: false; limit: number; retryAfterSeconds: number };

/** What GET /_emulator/rate-limit answers. */
export interface RateLimitSnapshot {
  per_minute: number | null;
  /** 429s answered by the limit (not by injected `rate_limit` faults) since start or reset. */
  answered_429: number;
  /** Accepted API requests in the last 60 s. */
  requests_in_window: number;
  /** The most accepted API requests seen in any 60 s window since start or reset. */
  max_in_any_window: number;
}

/**
 * Composio's organisation-wide limit: at most `perMinute` accepted API requests in any sliding 60 s window
 * (a window is (t - 60 s, t]). Refused requests do not take a slot. Requests are counted (and the busiest window
 * is tracked) even with no limit set, so that a benchmark can check it stayed within a budget.
 * Uses a monotonic clock, not the emulator's adjustable one.
 */
export class RateLimiter {
  private stamps: number[] = [];
  private head = 0;
  private answered429 = 0;
  private maxInWindow = 0;

  constructor(
    private perMinute: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get limit(): number | null {
    return this.perMinute;
  }

  setLimit(perMinute: number | null): void {
    this.perMinute = perMinute;
  }

  /** Counts one API request, or refuses it. */
  take(): RateLimitDecision {
    const t = this.now();
    const count = this.prune(t);
    const limit = this.perMinute;
    if (limit !== null && count >= limit) {
      // A slot frees when enough of the oldest requests leave the window for fewer than `limit` to remain.
      const freeing = this.stamps[this.head + count - limit] ?? t;
      this.answered429 += 1;
      return { allowed: false, limit, retryAfterSeconds: Math.max(1, Math.ceil((freeing + RATE_LIMIT_WINDOW_MS - t) / 1000)) };
    }
    this.stamps.push(t);
    this.maxInWindow = Math.max(this.maxInWindow, count + 1);
    return { allowed: true, limit, remaining: limit === null ? null : limit - count - 1 };
  }

  snapshot(): RateLimitSnapshot {
    return {
      per_minute: this.perMinute,
      answered_429: this.answered429,
      requests_in_window: this.prune(this.now()),
      max_in_any_window: this.maxInWindow,
    };
  }

  /** Forgets the counts and sets the limit (back to its start-up value, for /_emulator/reset). */
  reset(perMinute: number | null): void {
    this.perMinute = perMinute;
    this.stamps = [];
    this.head = 0;
    this.answered429 = 0;
    this.maxInWindow = 0;
  }

  /** Drops requests that left the window; returns how many remain. */
  private prune(t: number): number {
    while (this.head < this.stamps.length && (this.stamps[this.head] ?? t) <= t - RATE_LIMIT_WINDOW_MS) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
    return this.stamps.length - this.head;
  }
}
