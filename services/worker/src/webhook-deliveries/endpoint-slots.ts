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
/** How long a slot given back stays with this process, unused, before it returns to Redis. */
const IDLE_MS = 100;

export const endpointSlotsKey = (prefix: string, endpointId: string) => `${prefix}:webhook-endpoint-slots:${endpointId}`;

/**
 * Bounds the attempts in flight per endpoint across every worker process: at most `limit` (WEBHOOK_ENDPOINT_CONCURRENCY),
 * counted in Redis (one sorted set of slot holders per endpoint). A caller over the bound waits in line for a slot for
 * a short while (a healthy endpoint frees one within milliseconds), with a bounded line: past it, or when the wait
 * runs out, the caller steps aside (its delivery is delayed), so a slow endpoint holds a bounded share of a process's
 * attempts and every other endpoint keeps the rest.
 *
 * A slot given back stays with this process for IDLE_MS (still counted in Redis, as held by it): the next attempt to
 * the same endpoint here takes it with no Redis call, so a busy endpoint costs about no Redis call per delivery.
 * Unused that long, it returns to Redis for every process; a slot is kept only while its lease has room for another
 * whole attempt.
 */
export class EndpointSlots {
  private readonly owner = randomUUID();
  private next = 0;
  /** Callers waiting for a slot, per endpoint, first in line first. */
  private readonly lines = new Map<string, Array<{ wake: () => void }>>();
  private readonly giveBacks: BatchQueue<{ endpointId: string; token: string }, number>;
  /** Slots held here and free, per endpoint, with the timer that returns each to Redis. */
  private readonly pool = new Map<string, Array<{ token: string; idle: NodeJS.Timeout }>>();
  /** When each held slot was taken (its lease runs from then). */
  private readonly takenAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: number,
    /** How long a slot lasts when its holder never gives it back: longer than any attempt. */
    private readonly leaseMs: number,
    /** The longest attempt (WEBHOOK_TIMEOUT_MS): a slot is reused only while its lease outlasts one more. */
    private readonly attemptMs: number,
  ) {
    // Slots given back at about the same time leave in one call.
    this.giveBacks = new BatchQueue(async (items) => this.giveBackMany(items), 500, 1);
  }

  /** Takes a slot per endpoint at once where one is free: a token (give it back with `release`) or null, per endpoint. */
  async tryTakeMany(endpointIds: readonly string[]): Promise<Array<string | null>> {
    const result: Array<string | null> = endpointIds.map((id) => this.fromPool(id));
    const ask = endpointIds.flatMap((id, i) => (result[i] === null ? [{ id, i }] : []));
    if (ask.length === 0) return result;
    const first = this.next;
    this.next += ask.length;
    const tokens = ask.map((_, j) => `${this.owner}:${first + j}`);
    const now = Date.now();
    const taken = (await TAKE(
      this.redis,
      ask.map(({ id }) => endpointSlotsKey(this.prefix, id)),
      [this.limit, this.leaseMs, ...tokens],
    )) as number[];
    ask.forEach(({ i }, j) => {
      if (taken[j] !== 1) return;
      const token = tokens[j] as string;
      this.takenAt.set(token, now);
      result[i] = token;
    });
    return result;
  }

  /** A free slot this process holds for the endpoint, if one still has room for a whole attempt. */
  private fromPool(endpointId: string): string | null {
    const free = this.pool.get(endpointId);
    while (free && free.length > 0) {
      const { token, idle } = free.pop() as { token: string; idle: NodeJS.Timeout };
      clearTimeout(idle);
      if (free.length === 0) this.pool.delete(endpointId);
      if (this.reusable(token)) return token;
      this.giveBack(endpointId, token);
    }
    return null;
  }

  private reusable(token: string): boolean {
    return !this.closed && Date.now() + this.attemptMs < (this.takenAt.get(token) ?? 0) + this.leaseMs;
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

  /**
   * Frees a slot: kept here for IDLE_MS (the first caller in line here takes it at once), then given back to Redis
   * (a failure to give it back only lets its lease run out).
   */
  release(endpointId: string, token: string): void {
    if (!this.reusable(token)) {
      void this.giveBack(endpointId, token).then(() => this.lines.get(endpointId)?.[0]?.wake());
      return;
    }
    const free = this.pool.get(endpointId) ?? [];
    this.pool.set(endpointId, free);
    const entry = {
      token,
      idle: setTimeout(() => {
        const index = free.indexOf(entry);
        if (index < 0) return;
        free.splice(index, 1);
        if (free.length === 0 && this.pool.get(endpointId) === free) this.pool.delete(endpointId);
        void this.giveBack(endpointId, token);
      }, IDLE_MS),
    };
    entry.idle.unref();
    free.push(entry);
    this.lines.get(endpointId)?.[0]?.wake();
  }

  /** Gives every slot held here back to Redis (the process stops delivering). */
  async close(): Promise<void> {
    this.closed = true;
    const held = [...this.pool.entries()].flatMap(([endpointId, free]) => free.map((entry) => ({ endpointId, ...entry })));
    this.pool.clear();
    for (const { idle } of held) clearTimeout(idle);
    await Promise.all(held.map(({ endpointId, token }) => this.giveBack(endpointId, token)));
  }

  private giveBack(endpointId: string, token: string): Promise<unknown> {
    this.takenAt.delete(token);
    return this.giveBacks.push({ endpointId, token }).catch(() => 0);
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
