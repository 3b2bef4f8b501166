import { randomUUID } from "node:crypto";
import type { Redis } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis } from "@kronos/testing";
import { afterAll, describe, expect, it } from "vitest";
import { EndpointSlots, endpointSlotsKey } from "./endpoint-slots.js";

const config = testConfig();
const connections: Redis[] = [];
/** One limiter per "worker process", each on its own connection, as two workers would have. */
function limiter(limit: number, leaseMs = 30_000): EndpointSlots {
  const redis = testRedis(config);
  connections.push(redis);
  return new EndpointSlots(redis, config.REDIS_KEY_PREFIX, limit, leaseMs, Math.min(100, leaseMs / 2));
}

afterAll(async () => {
  const [first] = connections;
  if (first) await deleteRedisPrefix(first, config.REDIS_KEY_PREFIX);
  for (const redis of connections) await redis.quit();
});

describe("EndpointSlots (per-endpoint bound counted in Redis)", () => {
  it("holds the bound across two limiters, and hands a freed slot to the other one", async () => {
    const endpoint = randomUUID();
    const [a, b] = [limiter(2), limiter(2)];
    const first = await a.acquire(endpoint, 0);
    const second = await b.acquire(endpoint, 0);
    expect(first).toEqual(expect.any(String));
    expect(second).toEqual(expect.any(String));
    expect(await a.acquire(endpoint, 0)).toBeNull();
    expect(await b.acquire(endpoint, 0)).toBeNull();
    // b waits; a gives a slot back: b's next ask (it polls) takes it.
    const waiting = b.acquire(endpoint, 5_000);
    a.release(endpoint, first as string);
    expect(await waiting).toEqual(expect.any(String));
    expect(await a.acquire(endpoint, 0)).toBeNull();
    expect(await connections[0]!.zcard(endpointSlotsKey(config.REDIS_KEY_PREFIX, endpoint))).toBe(2);
  });

  it("keeps a freed slot a moment for the next attempt here (still counted in Redis), then gives it back", async () => {
    const endpoint = randomUUID();
    const [a, b] = [limiter(1), limiter(1)];
    const key = endpointSlotsKey(config.REDIS_KEY_PREFIX, endpoint);
    const token = await a.acquire(endpoint, 0);
    a.release(endpoint, token as string);
    // Reused here at once, with no Redis call: the same holder in the sorted set.
    expect(await a.acquire(endpoint, 0)).toBe(token);
    expect(await connections[0]!.zrange(key, 0, -1)).toEqual([token]);
    expect(await b.acquire(endpoint, 0)).toBeNull();
    a.release(endpoint, token as string);
    // Unused, it returns to Redis, where the other limiter takes it.
    expect(await b.acquire(endpoint, 5_000)).not.toBeNull();
  });

  it("gives back every slot it keeps when closed", async () => {
    const endpoint = randomUUID();
    const slots = limiter(3);
    const tokens = await slots.tryTakeMany([endpoint, endpoint, endpoint]);
    for (const token of tokens) slots.release(endpoint, token as string);
    await slots.close();
    expect(await connections[0]!.zcard(endpointSlotsKey(config.REDIS_KEY_PREFIX, endpoint))).toBe(0);
  });

  it("counts endpoints apart, and several slots taken in one call in order", async () => {
    const [x, y] = [randomUUID(), randomUUID()];
    const slots = limiter(1);
    const tokens = await slots.tryTakeMany([x, y, x]);
    expect(tokens.map((t) => t !== null)).toEqual([true, true, false]);
  });

  it("lets the slots of a holder that never gives them back lapse", async () => {
    const endpoint = randomUUID();
    const dead = limiter(1, 300);
    const alive = limiter(1, 300);
    expect(await dead.acquire(endpoint, 0)).not.toBeNull();
    expect(await alive.acquire(endpoint, 0)).toBeNull();
    // The dead holder's lease runs out (300 ms) while alive waits for it.
    expect(await alive.acquire(endpoint, 10_000)).not.toBeNull();
  });

  it("lets at most `limit` callers wait per endpoint in one process; the others step aside at once", async () => {
    const endpoint = randomUUID();
    const slots = limiter(1);
    const held = await slots.acquire(endpoint, 0);
    const waiter = slots.acquire(endpoint, 5_000);
    expect(await slots.acquire(endpoint, 5_000)).toBeNull();
    slots.release(endpoint, held as string);
    expect(await waiter).not.toBeNull();
  });
});
