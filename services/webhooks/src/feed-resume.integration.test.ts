import type { PrismaClient } from "@kronos/db";
import { type Config, createRedis, EventBus, eventKeys, type Redis, signUserToken } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, TEST_SESSION_SECRET, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Feed, openFeed, publishMany, type Running, startApp, statusDraft } from "../test/support.js";

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let bus: EventBus;
let running: Running;
const feeds: Feed[] = [];
const tenants: string[] = [];

async function tenant(name: string) {
  const created = await createTestTenant(prisma, name);
  tenants.push(created.tenantId);
  return created;
}

async function feed(auth: Parameters<typeof openFeed>[1]): Promise<Feed> {
  const opened = await openFeed(running.wsBase, auth);
  feeds.push(opened);
  return opened;
}

beforeAll(async () => {
  config = testConfig();
  prisma = testPrisma(config);
  redis = testRedis(config);
  bus = new EventBus(redis, config.REDIS_KEY_PREFIX, 1000);
  running = await startApp({ config, prisma, redis });
});

afterAll(async () => {
  for (const f of feeds) f.socket.terminate();
  await running?.app.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await prisma.tenant.deleteMany({ where: { id: { in: tenants } } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("resume with ?since=", () => {
  it("a socket killed while events flow resumes: every event exactly once, in order", async () => {
    const acme = await tenant("acme");
    const published: string[] = [];
    const first = await feed({ apiKey: acme.apiKey });
    // Publishes without pause until 50 events after the resumed socket opened, so that the replay, the held live
    // events and the live ones overlap.
    let stopAt = Number.POSITIVE_INFINITY;
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; i < stopAt; i++) {
        published.push((await bus.publish(statusDraft(acme.tenantId, i % 3 === 0 ? null : `user-${i % 5}`, `c-${i}`))).id);
      }
      publishing = false;
    })();

    await waitFor(() => first.events().length >= 40, { what: "the first 40 events" });
    expect(publishing).toBe(true);
    first.socket.terminate();
    const beforeKill = first.events().slice();
    const since = beforeKill.at(-1)!.id;

    const second = await feed({ apiKey: acme.apiKey, since });
    stopAt = published.length + 50;
    await publisher;
    const last = published.at(-1)!;
    await waitFor(() => second.events().some((e) => e.id === last), { what: "the last event on the resumed socket" });

    expect(second.messages[0]).toMatchObject({ type: "snapshot" });
    const received = [...beforeKill, ...second.events()].map((e) => e.id);
    expect(received).toEqual(published);
  });

  it("a user socket resumes with its own user's events only", async () => {
    const acme = await tenant("acme-users");
    const aliceToken = signUserToken(
      { tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) + 600 },
      TEST_SESSION_SECRET,
    );
    const first = await publishMany(bus, acme.tenantId, "alice", 3, "a");
    await publishMany(bus, acme.tenantId, "bob", 3, "b");
    const missed = [...(await publishMany(bus, acme.tenantId, "alice", 2, "a2")), ...(await publishMany(bus, acme.tenantId, null, 1, "t"))];
    const aliceMissed = missed.slice(0, 2);

    const resumed = await feed({ token: aliceToken, since: first[0]! });
    const live = await bus.publish(statusDraft(acme.tenantId, "alice", "live"));
    await waitFor(() => resumed.events().some((e) => e.id === live.id), { what: "the live event" });
    expect(resumed.events().map((e) => e.id)).toEqual([first[1], first[2], ...aliceMissed, live.id]);
  });

  it("announces a gap first when events after since were trimmed", async () => {
    const acme = await tenant("acme-trim");
    const small = new EventBus(redis, config.REDIS_KEY_PREFIX, 10);
    const ids = await publishMany(small, acme.tenantId, "alice", 250, "trim");
    const key = eventKeys(config.REDIS_KEY_PREFIX).stream(acme.tenantId);
    const kept = (await redis.xrange(key, "-", "+")).map(([id]) => id);
    expect(kept.length).toBeLessThan(ids.length); // MAXLEN ~ trims whole nodes

    const resumed = await feed({ apiKey: acme.apiKey, since: ids[0]! });
    await waitFor(() => resumed.events().length === kept.length, { what: "the kept events" });
    expect(resumed.messages[0]).toEqual({ type: "resume.gap", since: ids[0], oldest_id: kept[0] });
    expect(resumed.messages[1]).toMatchObject({ type: "snapshot" });
    expect(resumed.events().map((e) => e.id)).toEqual(kept);
  });

  it("resuming from the newest event sends no gap and nothing old", async () => {
    const acme = await tenant("acme-uptodate");
    const ids = await publishMany(bus, acme.tenantId, "alice", 3, "u");
    const resumed = await feed({ apiKey: acme.apiKey, since: ids.at(-1)! });
    const live = await bus.publish(statusDraft(acme.tenantId, "alice", "live"));
    await waitFor(() => resumed.events().some((e) => e.id === live.id), { what: "the live event" });
    expect(resumed.messages.map((m) => m.type)).toEqual(["snapshot", "connection.status"]);
  });

  it("a since ahead of the stream does not hide later events", async () => {
    const acme = await tenant("acme-ahead");
    await publishMany(bus, acme.tenantId, "alice", 2, "x");
    const resumed = await feed({ apiKey: acme.apiKey, since: "99999999999999-0" });
    const live = await bus.publish(statusDraft(acme.tenantId, "alice", "live"));
    await waitFor(() => resumed.events().some((e) => e.id === live.id), { what: "the live event" });
    expect(resumed.events().map((e) => e.id)).toEqual([live.id]);
  });

  it("a long replay arrives whole and in order", async () => {
    const acme = await tenant("acme-long");
    const ids = await publishMany(new EventBus(redis, config.REDIS_KEY_PREFIX, 5000), acme.tenantId, "alice", 1200, "l");
    const resumed = await feed({ apiKey: acme.apiKey, since: "0-0" });
    await waitFor(() => resumed.events().length === ids.length, { what: "the whole replay" });
    expect(resumed.events().map((e) => e.id)).toEqual(ids);
  });
});

describe("subscriber reconnect", () => {
  it("catches every socket up from the streams: nothing published while it was down is lost or doubled", async () => {
    const acme = await tenant("acme-reconnect");
    const name = `${config.REDIS_KEY_PREFIX}-sub`;
    const subscriber = createRedis(config.REDIS_URL, { connectionName: name, retryStrategy: () => 300 });
    const instance = await startApp({ config, prisma, redis, subscriber });
    try {
      const server = await openFeed(instance.wsBase, { apiKey: acme.apiKey });
      const alice = await openFeed(instance.wsBase, {
        token: signUserToken({ tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) + 600 }, TEST_SESSION_SECRET),
      });
      feeds.push(server, alice);
      const before = await publishMany(bus, acme.tenantId, "alice", 3, "before");
      await waitFor(() => server.events().length === 3 && alice.events().length === 3, { what: "the first events" });

      const clients = String(await redis.client("LIST"));
      const id = /id=(\d+) .*name=(\S+)/g;
      const match = [...clients.matchAll(id)].find((m) => m[2] === name);
      expect(match).toBeDefined();
      await redis.client("KILL", "ID", match![1]!);
      // Published while the subscriber waits 300 ms to reconnect: the channel drops them.
      const during = [
        ...(await publishMany(bus, acme.tenantId, "alice", 3, "during")),
        ...(await publishMany(bus, acme.tenantId, "bob", 2, "bob")),
      ];

      await waitFor(() => instance.app.feedHub.stats().recoveries >= 1, { what: "the recovery" });
      const after = await publishMany(bus, acme.tenantId, "alice", 2, "after");
      await waitFor(() => server.events().some((e) => e.id === after.at(-1)), { what: "the last event (API key)" });
      await waitFor(() => alice.events().some((e) => e.id === after.at(-1)), { what: "the last event (alice)" });
      expect(server.events().map((e) => e.id)).toEqual([...before, ...during, ...after]);
      expect(alice.events().map((e) => e.id)).toEqual([...before, ...during.slice(0, 3), ...after]);
    } finally {
      await instance.app.close();
      await subscriber.quit();
    }
  });
});
