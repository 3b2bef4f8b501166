import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { luaScript, type Redis } from "@kronos/shared";

// A request-limit store for @fastify/rate-limit that counts in Redis (so every gateway instance counts together)
// without a Redis round trip on every request: an instance takes a small lease of a key's requests at once (up to
// a hundredth of the limit, at most LEASE_MAX) and spends it locally until the lease or the window runs out. With a
// limit under 200 a minute the lease is one request, which is exactly counting each request in Redis.
//
// What a lease changes: across N instances, the requests one instance leased and has not spent yet are counted in
// Redis all the same, so a client spread over several instances can be refused up to (N − 1) × lease requests early
// in a window; and a limit lowered mid-window applies once the current lease is spent. The refusal itself is never
// late: a lease never exceeds what is left of the limit. (The request path of an agent's call, P7 in bench/, paid a
// Redis round trip here before any of its own work.)

/** The most requests one instance leases at once. */
export const LEASE_MAX = 20;

/** How many requests one lease takes, for a limit of `max` per window. */
export function leaseSize(max: number): number {
  return Math.max(1, Math.min(LEASE_MAX, Math.floor(max / 100)));
}

/**
 * Leases up to ARGV[3] requests of the key's window, never past the limit (ARGV[2]); over the limit it counts the one
 * request (to be refused). Starts the window (ARGV[1] ms) on a new key. Returns { count after, leased, ttl ms }.
 */
const lease = luaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - current)
if grant < 1 then grant = 1 end
local total = redis.call('INCRBY', KEYS[1], grant)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {total, grant, ttl}`);

const read = luaScript(`
local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(current), ttl}`);

interface Lease {
  /** The key's count in Redis when the lease was taken (it includes the whole lease). */
  total: number;
  /** Leased requests not spent yet. */
  unspent: number;
  /** When the key's window ends, on this machine's clock. */
  windowEndsAt: number;
  /** The limit the lease was taken under: a different one (a tenant's new limit) takes a new lease. */
  max: number;
}

type Answer = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** What every store of one gateway instance shares: its leases, and the leases being taken. */
interface Leases {
  redis: Redis;
  held: Map<string, Lease>;
  taking: Map<string, Promise<void>>;
  sweptAt: number;
}

export class LeasedRedisStore implements FastifyRateLimitStore {
  constructor(
    private readonly leases: Leases,
    private readonly prefix: string,
  ) {}

  incr(id: string, answer: Answer, timeWindow: number, max: number): void {
    const key = this.prefix + id;
    const now = Date.now();
    const held = this.leases.held.get(key);
    if (held && held.unspent > 0 && held.windowEndsAt > now && held.max === max) {
      held.unspent -= 1;
      answer(null, { current: held.total - held.unspent, ttl: held.windowEndsAt - now });
      return;
    }
    // One lease at a time per key: a request that comes meanwhile spends from it once it is there.
    const pending = this.leases.taking.get(key);
    if (pending) {
      void pending.then(() => this.incr(id, answer, timeWindow, max));
      return;
    }
    this.sweep(now);
    const taken = lease(this.leases.redis, [key], [timeWindow, max, leaseSize(max)])
      .then(
        (reply) => {
          const [total, granted, ttl] = reply as [number, number, number];
          // Over the limit, the one request counted is refused; nothing is leased.
          const unspent = total > max ? 0 : granted - 1;
          this.leases.held.set(key, { total, unspent, windowEndsAt: Date.now() + ttl, max });
          answer(null, { current: total - unspent, ttl });
        },
        (error: Error) => answer(error),
      )
      .then(() => {
        this.leases.taking.delete(key);
      });
    this.leases.taking.set(key, taken);
  }

  read(id: string, answer: Answer): void {
    const key = this.prefix + id;
    const held = this.leases.held.get(key);
    read(this.leases.redis, [key], []).then(
      (reply) => {
        const [count, ttl] = reply as [number, number];
        // This instance's unspent lease is counted in Redis but not used yet.
        const unspent = held && held.windowEndsAt > Date.now() ? held.unspent : 0;
        answer(null, { current: Math.max(0, count - unspent), ttl });
      },
      (error: Error) => answer(error),
    );
  }

  child(routeOptions: Parameters<FastifyRateLimitStore["child"]>[0]): LeasedRedisStore {
    // As the plugin's own Redis store: a route with limits of its own counts under its method and URL.
    const { routeInfo } = routeOptions as unknown as { routeInfo: { method: string; url: string } };
    return new LeasedRedisStore(this.leases, `${this.prefix}${routeInfo.method}${routeInfo.url}-`);
  }

  /** Leases of ended windows are dropped now and then (the map holds one entry per client seen in a window). */
  private sweep(now: number): void {
    if (now - this.leases.sweptAt < 60_000) return;
    this.leases.sweptAt = now;
    for (const [key, held] of this.leases.held) if (held.windowEndsAt <= now) this.leases.held.delete(key);
  }
}

/** The store for @fastify/rate-limit's `store` option (the plugin constructs it), counting under `namespace`. */
export function leasedRedisStore(redis: Redis, namespace: string): FastifyRateLimitStoreCtor {
  const leases: Leases = { redis, held: new Map(), taking: new Map(), sweptAt: Date.now() };
  return class extends LeasedRedisStore {
    constructor() {
      super(leases, namespace);
    }
  };
}
