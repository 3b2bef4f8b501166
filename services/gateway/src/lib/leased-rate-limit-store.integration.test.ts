import { randomUUID } from "node:crypto";
import type { Redis } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_MAX, type LeasedRedisStore, leasedRedisStore, leaseSize } from "./leased-rate-limit-store.js";

const config = testConfig();
const prefix = `${config.REDIS_KEY_PREFIX}:leases:`;
let redis: Redis;

beforeAll(() => {
  redis = testRedis(config);
});
afterAll(async () => {
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await redis.quit();
});

type Store = LeasedRedisStore;
/** A gateway instance's store (each instance holds leases of its own). */
const newInstance = (): Store => new (leasedRedisStore(redis, prefix))({}) as Store;

const incr = (store: Store, id: string, max: number, windowMs = 60_000) =>
  new Promise<{ current: number; ttl: number }>((resolve, reject) =>
    store.incr(id, (error, result) => (error || !result ? reject(error) : resolve(result)), windowMs, max),
  );
const counted = async (id: string) => Number((await redis.get(prefix + id)) ?? 0);

describe("leaseSize", () => {
  it("is one request under 200 a minute (each request counted in Redis), a hundredth above, at most LEASE_MAX", () => {
    expect(leaseSize(5)).toBe(1);
    expect(leaseSize(199)).toBe(1);
    expect(leaseSize(1_200)).toBe(12);
    expect(leaseSize(1_000_000_000)).toBe(LEASE_MAX);
  });
});

describe("leased request counting", () => {
  it("answers each request's exact count while spending a lease locally (one Redis call per lease)", async () => {
    const store = newInstance();
    const id = randomUUID();
    const currents: number[] = [];
    for (let i = 0; i < 25; i++) currents.push((await incr(store, id, 1_000)).current);
    expect(currents).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // Three leases of 10: the third is partly unspent, and counted.
    expect(await counted(id)).toBe(30);
  });

  it("refuses past the limit however the requests spread over instances, and never leases past it", async () => {
    const [a, b, c] = [newInstance(), newInstance(), newInstance()];
    const id = randomUUID();
    const max = 300; // a lease of 3
    let allowed = 0;
    for (let i = 0; i < 400; i++) {
      const { current } = await incr([a, b, c][i % 3] as Store, id, max);
      if (current <= max) allowed += 1;
    }
    expect(allowed).toBeLessThanOrEqual(max);
    // Spread evenly, at most (instances − 1) × lease requests are refused early.
    expect(allowed).toBeGreaterThanOrEqual(max - 2 * leaseSize(max));
  });

  it("takes one lease for requests that come together, and each gets its own count", async () => {
    const store = newInstance();
    const id = randomUUID();
    const currents = await Promise.all(Array.from({ length: 10 }, () => incr(store, id, 1_000)));
    expect(currents.map((r) => r.current).sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(await counted(id)).toBe(10);
  });

  it("takes a new lease under a new limit (a tenant's limit changed)", async () => {
    const store = newInstance();
    const id = randomUUID();
    await incr(store, id, 1_000); // a lease of 10, 9 unspent
    expect((await incr(store, id, 5)).current).toBe(11); // over the new limit at once: counted, refused
    expect(await counted(id)).toBe(11);
  });

  it("starts over when the window ends", async () => {
    const store = newInstance();
    const id = randomUUID();
    const opened = Date.now();
    await incr(store, id, 1_000, 200);
    const ttl = await redis.pttl(prefix + id);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200);
    // Once the window is over (its key expired in Redis, its time passed here), the next request opens a new one.
    for (let i = 0; i < 100 && ((await redis.exists(prefix + id)) || Date.now() - opened < 250); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const { current } = await incr(store, id, 1_000, 200);
    expect(current).toBe(1);
  });

  it("reads the count without this instance's unspent lease, and without counting", async () => {
    const store = newInstance();
    const id = randomUUID();
    for (let i = 0; i < 3; i++) await incr(store, id, 1_000);
    const read = await new Promise<{ current: number }>((resolve, reject) =>
      store.read(id, (error, result) => (error ? reject(error) : resolve(result as { current: number }))),
    );
    expect(read.current).toBe(3);
    expect(await counted(id)).toBe(10);
  });
});
