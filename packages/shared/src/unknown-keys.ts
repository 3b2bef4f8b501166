import { AppError } from "./errors.js";
import type { Redis } from "./redis.js";

const WINDOW_MS = 60_000;
const NEGATIVE_TTL_MS = 60_000;
const MAX_NEGATIVE_ENTRIES = 10_000;

/**
 * Bounds what unknown `kc_` keys cost: each would be a Postgres query. A key found unknown (or revoked) is remembered
 * in process for a minute (keys are random, so no real key is made that matches one), and each client IP may cause
 * at most `perMinute` such lookups a minute, counted in Redis across instances (and across services: the gateway and
 * the webhooks feed share the counter); past it, 429 without a query. Redis unreachable: the IP limit is skipped (the
 * in-process memory still applies). Both services look keys up through `lookUp`, the one sequence.
 */
export class UnknownKeyGuard {
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Looks a key up with `load` (null: unknown, revoked or expired), unless it was found unknown a moment ago or this
   * IP has caused too many unknown-key lookups this minute (429). An unknown key is remembered and counted.
   */
  async lookUp<T>(ip: string, keyHash: string, load: () => Promise<T | null>): Promise<T | null> {
    if (this.knownUnknown(keyHash)) return null;
    await this.admit(ip);
    const found = await load();
    if (found === null) await this.record(ip, keyHash);
    return found;
  }

  /** Whether this key was found unknown a moment ago. */
  knownUnknown(keyHash: string): boolean {
    const until = this.unknown.get(keyHash);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.unknown.delete(keyHash);
    return false;
  }

  /** Throws 429 when this IP has caused too many unknown-key lookups this minute. */
  async admit(ip: string): Promise<void> {
    let count: number;
    let ttlMs: number;
    try {
      const [[, value], [, ttl]] = (await this.redis.multi().get(this.key(ip)).pttl(this.key(ip)).exec()) as [
        [null, string | null],
        [null, number],
      ];
      count = Number(value ?? 0);
      ttlMs = ttl;
    } catch {
      return;
    }
    if (count >= this.perMinute)
      // retryAfterSeconds: the errors plugin sends it as Retry-After.
      throw Object.assign(new AppError("RATE_LIMITED", "Too many unknown API keys from this address: retry later"), {
        retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
      });
  }

  /** Counts an unknown key against its IP and remembers it. */
  async record(ip: string, keyHash: string): Promise<void> {
    if (this.unknown.size >= MAX_NEGATIVE_ENTRIES) this.unknown.clear();
    this.unknown.set(keyHash, this.now() + NEGATIVE_TTL_MS);
    try {
      // The window starts with the first unknown key (NX), in the same transaction as the count.
      await this.redis.multi().set(this.key(ip), 0, "PX", WINDOW_MS, "NX").incr(this.key(ip)).exec();
    } catch {
      // Redis away: the IP is not counted this time.
    }
  }

  private key(ip: string): string {
    return `${this.prefix}:unknown-keys:${ip}`;
  }
}
