import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { luaScript } from "../redis.js";
import type { ComposioPort } from "./port.js";

/**
 * A sliding-window log in Redis shared by every process: at most `max` Composio requests in any `windowMs`.
 * The script reads Redis's clock, so processes on machines with different clocks still agree.
 * Returns 0 when a slot was taken, else the milliseconds until one frees up.
 */
const takeSlot = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)`);

export class RateBudget {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly max: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Waits until a request fits in the budget, then counts it. */
  async acquire(): Promise<void> {
    for (;;) {
      const waitMs = Number(await takeSlot(this.redis, [this.key], [this.windowMs, this.max, randomUUID()]));
      if (waitMs === 0) return;
      // Jitter spreads the waiters so they do not all retry in the same millisecond.
      await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, 1_000) + Math.random() * 25));
    }
  }
}

export const composioBudgetKey = (prefix: string) => `${prefix}:composio:budget`;

/** A slot reserved ahead of a call is kept this long for it; one not used by then stays counted, unused. */
const RESERVED_SLOT_MS = 1_000;

/**
 * The same port, with every call counted against the budget first. `reserveCall()` starts taking a slot before the
 * call is made (the worker does it while it records the attempt): the next call of this process takes it instead of
 * waiting for a new one. A reserved slot that no call takes within a second is dropped (counted, unused: the budget
 * errs on the safe side).
 */
export function withRateBudget(port: ComposioPort, budget: RateBudget): ComposioPort {
  const reserved: Array<{ slot: Promise<void>; at: number }> = [];
  const slot = () => {
    for (let next = reserved.shift(); next; next = reserved.shift()) {
      if (Date.now() - next.at < RESERVED_SLOT_MS) return next.slot;
    }
    return budget.acquire();
  };
  const reserveCall = () => {
    const taking = budget.acquire();
    taking.catch(() => {}); // its caller awaits it (and sees the error) when it calls
    reserved.push({ slot: taking, at: Date.now() });
  };
  return new Proxy(port, {
    get(target, property, receiver) {
      if (property === "reserveCall") return reserveCall;
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await slot();
        return value.apply(target, args);
      };
    },
  });
}
