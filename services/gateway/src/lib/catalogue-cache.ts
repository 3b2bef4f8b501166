import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "@kronos/shared";

export type CacheState = "hit" | "miss" | "stale";

export interface Cached<T> {
  value: T;
  state: CacheState;
  /** When the value was read from the source (ISO 8601). */
  fetchedAt: string;
}

interface Entry<T> {
  fetched_at: number;
  value: T;
}

export interface CatalogueCacheOptions {
  /** REDIS_KEY_PREFIX */
  prefix: string;
  ttlSeconds: number;
  /** How long past its TTL an entry is kept, to be served when the source fails. */
  staleSeconds: number;
  /** How long one fetch may hold the lock (the others poll the cache meanwhile). */
  lockMs: number;
  pollMs?: number;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A read-through cache in Redis for the Composio catalogue. Concurrent misses of a key make one source call: in
 * this process they share one promise; across processes a short `SET NX PX` lock elects the fetcher and the
 * others poll the cache. When the source fails, an entry kept past its TTL is served, marked stale.
 */
export class CatalogueCache {
  private readonly inFlight = new Map<string, Promise<Cached<unknown>>>();

  constructor(
    private readonly redis: Redis,
    private readonly options: CatalogueCacheOptions,
  ) {}

  /** The Redis key of an endpoint and its query, normalised (keys sorted, undefined dropped). */
  key(endpoint: string, query: Record<string, string | number | undefined>): string {
    const normal = Object.keys(query)
      .filter((k) => query[k] !== undefined)
      .sort()
      .map((k) => [k, query[k]]);
    const digest = createHash("sha256").update(JSON.stringify(normal)).digest("base64url").slice(0, 32);
    return `${this.options.prefix}:catalogue:${endpoint}:${digest}`;
  }

  async get<T>(key: string, fetch: () => Promise<T>): Promise<Cached<T>> {
    const entry = await this.read<T>(key);
    if (entry && this.isFresh(entry)) return this.answer(entry, "hit");
    const running = this.inFlight.get(key) as Promise<Cached<T>> | undefined;
    if (running) {
      const shared = await running;
      return shared.state === "miss" ? { ...shared, state: "hit" } : shared;
    }
    const promise = this.fill(key, fetch, entry).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise as Promise<Cached<unknown>>);
    return promise;
  }

  private async fill<T>(key: string, fetch: () => Promise<T>, seen: Entry<T> | null): Promise<Cached<T>> {
    const lockKey = `${key}:lock`;
    const deadline = Date.now() + this.options.lockMs;
    let stale = seen;
    for (;;) {
      const token = randomUUID();
      if ((await this.redis.set(lockKey, token, "PX", this.options.lockMs, "NX")) === "OK") {
        try {
          return await this.fetchAndStore(key, fetch, stale);
        } finally {
          await this.redis.eval(RELEASE, 1, lockKey, token);
        }
      }
      // Another process is fetching: wait for its entry, or for its lock to go (then try ourselves).
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 25));
        const entry = await this.read<T>(key);
        if (entry && this.isFresh(entry)) return this.answer(entry, "hit");
        if (entry) stale = entry;
        if ((await this.redis.exists(lockKey)) === 0) break;
      }
      if (Date.now() >= deadline) return this.fetchAndStore(key, fetch, stale);
    }
  }

  private async fetchAndStore<T>(key: string, fetch: () => Promise<T>, stale: Entry<T> | null): Promise<Cached<T>> {
    let value: T;
    try {
      value = await fetch();
    } catch (error) {
      const fallback = stale ?? (await this.read<T>(key));
      if (fallback && shouldServeStale(error) && this.isServable(fallback)) return this.answer(fallback, "stale");
      throw error;
    }
    const entry: Entry<T> = { fetched_at: Date.now(), value };
    const keepMs = (this.options.ttlSeconds + this.options.staleSeconds) * 1000;
    await this.redis.set(key, JSON.stringify(entry), "PX", keepMs);
    return this.answer(entry, "miss");
  }

  private async read<T>(key: string): Promise<Entry<T> | null> {
    const raw = await this.redis.get(key);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as Entry<T>;
    } catch {
      return null;
    }
  }

  private isFresh(entry: Entry<unknown>): boolean {
    return Date.now() - entry.fetched_at < this.options.ttlSeconds * 1000;
  }

  private isServable(entry: Entry<unknown>): boolean {
    return Date.now() - entry.fetched_at < (this.options.ttlSeconds + this.options.staleSeconds) * 1000;
  }

  private answer<T>(entry: Entry<T>, state: CacheState): Cached<T> {
    return { value: entry.value, state, fetchedAt: new Date(entry.fetched_at).toISOString() };
  }
}

/** A source that says "no such thing" is believed; any other failure may be bridged with a stale copy. */
function shouldServeStale(error: unknown): boolean {
  const kind = (error as { kind?: string } | null)?.kind;
  return kind !== "not_found" && kind !== "client";
}
