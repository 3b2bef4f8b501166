import { randomUUID } from "node:crypto";
import { BatchQueue, luaScript, type Redis } from "@kronos/shared";

/**
 * Takes a slot for each (key, token) pair, in order, where its endpoint has fewer than ARGV[1] holders; a holder's
 * slot lapses ARGV[2] ms after it was taken (a worker killed mid-attempt gives its slots back by itself). Redis' own
 * clock times every lease, so workers on hosts whose clocks disagree count alike. Answers 1 (taken) or 0 per pair.
 */
const TAKE = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local taken = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now + lease, ARGV[2 + i])
    redis.call('PEXPIRE', key, lease)
    taken[i] = 1
  else
    taken[i] = 0
  end
end
return taken`);

const GIVE_BACK = luaScript(`
for i, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[i]) end
return #KEYS`);

/** How often a waiting caller asks again (a slot freed by another process sends no signal here). */
const POLL_MS = 50;

export const endpointSlotsKey = (prefix: string, endpointId: string) => `${prefix}:webhook-endpoint-slots:${endpointId}`;

/**
 * Bounds the attempts in flight per endpoint across every worker process: at most `limit` (WEBHOOK_ENDPOINT_CONCURRENCY),
 * counted in Redis (one sorted set of slot holders per endpoint). A caller over the bound waits in line for a slot for
 * a short while (a healthy endpoint frees one within milliseconds), with a bounded line: past it, or when the wait
 * runs out, the caller steps aside (its delivery is delayed), so a slow endpoint holds a bounded share of a process's
 * attempts and every other endpoint keeps the rest.
 */
export class EndpointSlots {
  private readonly owner = randomUUID();
  private next = 0;
  /** Callers waiting for a slot, per endpoint, first in line first. */
  private readonly lines = new Map<string, Array<{ wake: () => void }>>();
  private readonly giveBacks: BatchQueue<{ endpointId: string; token: string }, number>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: number,
    /** How long a slot lasts when its holder never gives it back: longer than any attempt (WEBHOOK_TIMEOUT_MS). */
    private readonly leaseMs: number,
  ) {
    // Slots given back at about the same time leave in one call.
    this.giveBacks = new BatchQueue(async (items) => this.giveBackMany(items), 500, 1);
  }

  /** Takes a slot per endpoint at once where one is free: a token (give it back with `release`) or null, per endpoint. */
  async tryTakeMany(endpointIds: readonly string[]): Promise<Array<string | null>> {
    if (endpointIds.length === 0) return [];
    const first = this.next;
    this.next += endpointIds.length;
    const tokens = endpointIds.map((_, i) => `${this.owner}:${first + i}`);
    const taken = (await TAKE(
      this.redis,
      endpointIds.map((id) => endpointSlotsKey(this.prefix, id)),
      [this.limit, this.leaseMs, ...tokens],
    )) as number[];
    return tokens.map((token, i) => (taken[i] === 1 ? token : null));
  }

  /** A slot's token, waiting at most `waitMs` for one (see `waitFor`); null: step aside. */
  async acquire(endpointId: string, waitMs: number, maxWaiting = this.limit): Promise<string | null> {
    const [token] = await this.tryTakeMany([endpointId]);
    if (token) return token;
    return this.waitFor(endpointId, waitMs, maxWaiting);
  }

  /**
   * After a first refusal: waits in line for a slot, at most `waitMs`, with at most `maxWaiting` callers in line per
   * endpoint in this process (default `limit`: a caller that holds one of the process's job slots while it waits).
   * A slot given back here wakes the first in line; the first in line also asks again every POLL_MS (a slot freed by
   * another process sends no signal here). Null: step aside.
   */
  async waitFor(endpointId: string, waitMs: number, maxWaiting = this.limit): Promise<string | null> {
    const line = this.lines.get(endpointId) ?? [];
    if (line.length >= maxWaiting || waitMs <= 0) return null;
    this.lines.set(endpointId, line);
    const deadline = Date.now() + waitMs;
    const waiter = { wake: () => {} };
    line.push(waiter);
    try {
      for (let left = waitMs; left > 0; left = deadline - Date.now()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(), line[0] === waiter ? Math.min(POLL_MS, left) : left);
          waiter.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (line[0] !== waiter) continue;
        const [token] = await this.tryTakeMany([endpointId]);
        if (token) return token;
      }
      return null;
    } finally {
      line.splice(line.indexOf(waiter), 1);
      if (line.length === 0 && this.lines.get(endpointId) === line) this.lines.delete(endpointId);
      // The next in line now asks (and polls) in its turn.
      line[0]?.wake();
    }
  }

  /** Gives a slot back (a failure to do so only lets its lease run out) and wakes the first caller in line here. */
  release(endpointId: string, token: string): void {
    void this.giveBacks
      .push({ endpointId, token })
      .catch(() => 0)
      .then(() => this.lines.get(endpointId)?.[0]?.wake());
  }

  private async giveBackMany(items: Array<{ endpointId: string; token: string }>) {
    await GIVE_BACK(
      this.redis,
      items.map((item) => endpointSlotsKey(this.prefix, item.endpointId)),
      items.map((item) => item.token),
    );
    return items.map(() => ({ ok: true as const, value: 1 }));
  }
}
