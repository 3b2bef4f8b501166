import { randomUUID } from "node:crypto";
import { luaScript, type Principal, type Redis } from "@kronos/shared";
import type { FastifyBaseLogger } from "fastify";

// Open feed sockets per user and per API key, counted across every webhooks instance. Each principal has a Redis hash
// `instance id -> sockets it holds`; each instance holds a lease (a score in one sorted set) that it renews every
// third of WS_SOCKET_LEASE_MS. An admission sums the fields of instances whose lease is current and drops the others:
// a crashed instance's sockets stop counting once its lease runs out, without anyone cleaning up after it. Redis's
// clock (TIME) is the only clock, so instances whose clocks disagree still agree on leases.
//
// A renewal costs one command however many sockets are open (10,000 sockets must not mean 10,000 writes every few
// seconds): counts are written when they change (admission, release), rewritten exactly only where Redis missed a
// change (a failed call marks the counter dirty), and each counter's expiry is pushed back a slice at a time.

/** A counter key outlives its last refresh by this long (a key whose instances all died goes by itself). */
const KEY_TTL_MS = 3_600_000;
/** Every counter this instance holds has its expiry refreshed within this period, a slice per renewal. */
const TTL_REFRESH_PERIOD_MS = 600_000;

/** Admission: drops fields of instances without a current lease, then adds one socket if the total is under the cap. */
const ADMIT = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local owner = fields[i]
  local live = owner == ARGV[1]
  if not live then
    local untilMs = redis.call('ZSCORE', KEYS[2], owner)
    live = untilMs and tonumber(untilMs) >= now
  end
  if live then total = total + (tonumber(fields[i + 1]) or 0) else redis.call('HDEL', KEYS[1], owner) end
end
if total >= tonumber(ARGV[2]) then return {0, total} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, total + 1}
`);

/** A socket closed: one fewer for this instance (the field goes at zero). */
const RELEASE = luaScript(`
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
`);

/** Renews this instance's lease and forgets instances whose lease ran out long ago (their fields go at admission). */
const RENEW = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - lease * 3)
return now
`);

export type CapDecision = { admitted: true; release: () => void } | { admitted: false; open: number };

export interface SocketCapsOptions {
  redis: Redis;
  prefix: string;
  /** WS_SOCKET_LEASE_MS: how long a silent instance's sockets keep counting. */
  leaseMs: number;
  log: FastifyBaseLogger;
  instanceId?: string;
}

/** The principal's counter: per user (every token of that user) or per API key. */
function whoseKey(prefix: string, principal: Principal): string {
  return principal.kind === "user"
    ? `${prefix}:feed-sockets:user:${principal.tenantId}:${principal.userId}`
    : `${prefix}:feed-sockets:key:${principal.apiKeyId}`;
}

export class SocketCaps {
  readonly instanceId: string;
  /** The sockets this instance holds (admitted, not released), per counter key. */
  private readonly held = new Map<string, number>();
  /** Counters whose Redis value missed a change of ours (a call failed): rewritten exactly at the next renewal. */
  private readonly dirty = new Set<string>();
  /** The counters whose expiry is still to be refreshed in this refresh period. */
  private refreshQueue: string[] = [];
  private readonly instancesKey: string;
  private readonly renewEveryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(private readonly options: SocketCapsOptions) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.instancesKey = `${options.prefix}:feed-sockets:instances`;
    this.renewEveryMs = Math.max(100, Math.floor(options.leaseMs / 3));
  }

  /** Starts renewing the lease every third of it. */
  start(): void {
    this.timer = setInterval(() => void this.renew(), this.renewEveryMs);
    this.timer.unref();
  }

  /**
   * One more socket for this principal, if its total across instances is under `cap`. The answer's `release` must be
   * called once when that socket (or the connection that would have carried it) closes. Redis unreachable: counted on
   * this instance only (the cap then holds per instance, as before counters were shared).
   */
  async admit(principal: Principal, cap: number): Promise<CapDecision> {
    const key = whoseKey(this.options.prefix, principal);
    try {
      const [admitted, open] = (await ADMIT(
        this.options.redis,
        [key, this.instancesKey],
        [this.instanceId, cap, this.options.leaseMs, KEY_TTL_MS],
      )) as [number, number];
      if (admitted !== 1) return { admitted: false, open };
    } catch (error) {
      const local = this.held.get(key) ?? 0;
      this.options.log.warn({ err: error }, "socket caps: Redis unreachable, counting on this instance only");
      if (local >= cap) return { admitted: false, open: local };
      this.dirty.add(key);
    }
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = Math.max(0, (this.held.get(key) ?? 1) - 1);
        if (left > 0) this.held.set(key, left);
        else this.held.delete(key);
        RELEASE(this.options.redis, [key], [this.instanceId]).catch(() => this.dirty.add(key));
      },
    };
  }

  /**
   * Renews the lease; rewrites the counters Redis missed a change of; pushes back the expiry of a slice of the
   * counters held (all of them within TTL_REFRESH_PERIOD_MS).
   */
  async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    const rewrite = [...this.dirty];
    this.dirty.clear();
    try {
      await RENEW(this.options.redis, [this.instancesKey], [this.instanceId, this.options.leaseMs]);
      if (this.refreshQueue.length === 0) this.refreshQueue = [...this.held.keys()];
      const slice = Math.ceil((this.held.size * this.renewEveryMs) / TTL_REFRESH_PERIOD_MS);
      const refresh = this.refreshQueue.splice(0, slice);
      if (rewrite.length + refresh.length === 0) return;
      const batch = this.options.redis.pipeline();
      for (const key of rewrite) {
        const count = this.held.get(key) ?? 0;
        if (count > 0) batch.hset(key, this.instanceId, count).pexpire(key, KEY_TTL_MS);
        else batch.hdel(key, this.instanceId);
      }
      for (const key of refresh) if (this.held.has(key)) batch.pexpire(key, KEY_TTL_MS);
      const results = await batch.exec();
      if (results?.some(([error]) => error)) for (const key of rewrite) this.dirty.add(key);
    } catch (error) {
      for (const key of rewrite) this.dirty.add(key);
      this.options.log.warn({ err: error }, "socket caps: could not renew this instance's lease");
    } finally {
      this.renewing = false;
    }
  }

  /** A graceful stop: this instance's sockets stop counting at once (a crash waits for the lease to run out). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      const batch = this.options.redis.pipeline().zrem(this.instancesKey, this.instanceId);
      for (const key of new Set([...this.held.keys(), ...this.dirty])) batch.hdel(key, this.instanceId);
      await batch.exec();
    } catch {
      // Redis away: the lease runs out by itself.
    }
    this.held.clear();
    this.dirty.clear();
  }

  /** The sockets this instance holds for a principal (admitted, not released). */
  heldFor(principal: Principal): number {
    return this.held.get(whoseKey(this.options.prefix, principal)) ?? 0;
  }
}
