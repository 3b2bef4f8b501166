import { type Config, createLogger, createRedis, type Principal, type Redis } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CapDecision, SocketCaps } from "./socket-caps.js";

// The counters behind the per-user and per-key socket caps, on the real Redis, with several instances' worth of
// SocketCaps. A "crashed" instance is one that admitted sockets and then stopped renewing its lease: exactly what a
// killed process leaves behind (test/e2e/feed-socket-caps.e2e.test.ts kills a real one).

let config: Config;
let redis: Redis;
const log = createLogger("webhooks", "silent");
const started: SocketCaps[] = [];

function caps(leaseMs: number, options: { start?: boolean; redis?: Redis } = {}): SocketCaps {
  const made = new SocketCaps({ redis: options.redis ?? redis, prefix: config.REDIS_KEY_PREFIX, leaseMs, log });
  if (options.start ?? true) {
    made.start();
    started.push(made);
  }
  return made;
}

const user = (userId: string): Principal => ({ kind: "user", tenantId: "00000000-0000-4000-8000-000000000001", userId, expiresAt: 0 });
const counterKey = (userId: string) => `${config.REDIS_KEY_PREFIX}:feed-sockets:user:00000000-0000-4000-8000-000000000001:${userId}`;
const admitted = (decision: CapDecision) => {
  expect(decision.admitted).toBe(true);
  return decision as Extract<CapDecision, { admitted: true }>;
};

beforeAll(() => {
  config = testConfig();
  redis = testRedis(config);
});

afterAll(async () => {
  for (const instance of started) await instance.stop();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await redis.quit();
});

describe("socket caps across instances", () => {
  it("counts every instance's sockets against one cap, and a release frees a place on any instance", async () => {
    const [a, b] = [caps(30_000), caps(30_000)];
    const first = admitted(await a.admit(user("ann"), 3));
    admitted(await a.admit(user("ann"), 3));
    admitted(await b.admit(user("ann"), 3));
    expect(await b.admit(user("ann"), 3)).toEqual({ admitted: false, open: 3 });
    expect(await a.admit(user("ann"), 3)).toEqual({ admitted: false, open: 3 });
    // Another principal has its own count.
    admitted(await b.admit(user("ben"), 3));
    first.release();
    first.release(); // a second call is a no-op
    admitted(await b.admit(user("ann"), 3));
    expect(await b.admit(user("ann"), 3)).toMatchObject({ admitted: false });
    expect(await redis.hgetall(counterKey("ann"))).toEqual({ [a.instanceId]: "1", [b.instanceId]: "2" });
  });

  it("stops counting a crashed instance's sockets once its lease runs out, and drops its field", async () => {
    const crashed = caps(600, { start: false });
    const survivor = caps(600);
    admitted(await crashed.admit(user("cat"), 2));
    admitted(await crashed.admit(user("cat"), 2));
    // The crashed instance never renews nor releases. While its lease lasts, its sockets count...
    const early = await survivor.admit(user("cat"), 2);
    // (on a very slow machine the lease may already be over: then the survivor got the place, as it should)
    if (!early.admitted) expect(early.open).toBe(2);
    // ...and once it ran out, they do not: the survivor fills the cap by itself.
    await waitFor(async () => (await survivor.admit(user("cat"), 2)).admitted, { what: "the crashed instance's lease to run out" });
    while ((await survivor.admit(user("cat"), 2)).admitted);
    expect(survivor.heldFor(user("cat"))).toBe(2);
    expect(await redis.hgetall(counterKey("cat"))).toEqual({ [survivor.instanceId]: "2" });
  });

  it("keeps a renewing instance's sockets counted well past one lease", async () => {
    const holder = caps(1_500);
    const other = caps(1_500);
    admitted(await holder.admit(user("dan"), 1));
    const lease = Date.now();
    // More than two leases later the holder has renewed several times: its socket still counts.
    await waitFor(() => Date.now() - lease > 3_500, { what: "more than two leases", timeoutMs: 10_000 });
    expect(await other.admit(user("dan"), 1)).toEqual({ admitted: false, open: 1 });
  });

  it("rewrites a count Redis missed (a release while it was unreachable) once it is back", async () => {
    const connection = createRedis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    connection.on("error", () => undefined);
    await waitFor(() => connection.status === "ready", { what: "the connection" });
    const healer = caps(300, { redis: connection, start: false });
    admitted(await healer.admit(user("eve"), 5));
    const second = admitted(await healer.admit(user("eve"), 5));
    expect(await redis.hget(counterKey("eve"), healer.instanceId)).toBe("2");
    connection.disconnect(true); // dropped, then reconnecting by itself
    second.release(); // fails at once: no connection, no offline queue
    expect(healer.heldFor(user("eve"))).toBe(1);
    await waitFor(() => connection.status === "ready", { what: "the reconnection" });
    expect(await redis.hget(counterKey("eve"), healer.instanceId)).toBe("2"); // Redis missed the release
    healer.start();
    await waitFor(async () => (await redis.hget(counterKey("eve"), healer.instanceId)) === "1", { what: "the renewal to rewrite it" });
    await healer.stop();
    connection.disconnect();
  });

  it("counts on this instance only while Redis cannot be reached", async () => {
    const unreachable = createRedis("redis://127.0.0.1:9", { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    unreachable.on("error", () => undefined);
    const alone = caps(30_000, { start: false, redis: unreachable });
    admitted(await alone.admit(user("fay"), 2));
    admitted(await alone.admit(user("fay"), 2));
    expect(await alone.admit(user("fay"), 2)).toEqual({ admitted: false, open: 2 });
    unreachable.disconnect();
  });

  it("releases everything at once on a graceful stop", async () => {
    const leaving = caps(30_000, { start: false });
    const staying = caps(30_000);
    admitted(await leaving.admit(user("gus"), 2));
    admitted(await leaving.admit(user("gus"), 2));
    expect(await staying.admit(user("gus"), 2)).toMatchObject({ admitted: false });
    await leaving.stop();
    admitted(await staying.admit(user("gus"), 2));
  });
});
