import type { PrismaClient } from "@kronos/db";
import { type Config, EventBus, type Redis, signUserToken } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, TEST_SESSION_SECRET, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Feed, openFeed, type Running, startApp, statusDraft } from "../test/support.js";
import { CLOSE_CODES } from "./feed/protocol.js";

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let bus: EventBus;
let running: Running;
let acme: { tenantId: string; apiKey: string };
const feeds: Feed[] = [];
const apps: Running[] = [];

async function feed(base: string, auth: Parameters<typeof openFeed>[1]): Promise<Feed> {
  const opened = await openFeed(base, auth);
  feeds.push(opened);
  return opened;
}

async function app(feedOptions: Parameters<typeof startApp>[0]["feed"]): Promise<Running> {
  const started = await startApp({ config, prisma, redis, feed: feedOptions });
  apps.push(started);
  return started;
}

beforeAll(async () => {
  config = testConfig();
  prisma = testPrisma(config);
  redis = testRedis(config);
  bus = new EventBus(redis, config.REDIS_KEY_PREFIX, 50);
  acme = await createTestTenant(prisma, "acme");
  running = await app({ heartbeatIntervalMs: 100, maxInboundBytes: 1024, maxBufferedBytes: 64 * 1024 });
});

afterAll(async () => {
  for (const f of feeds) f.socket.terminate();
  for (const a of apps) await a.app.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await prisma.tenant.deleteMany({ where: { id: acme.tenantId } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("heartbeats", () => {
  it("pings live sockets, which stay open while they answer", async () => {
    // A heartbeat of its own, long enough that a busy machine answers each ping in time (a socket that has not
    // answered the previous ping is terminated: with 100 ms, a loaded test process missed one now and then).
    const patient = await app({ heartbeatIntervalMs: 1_000 });
    const healthy = await feed(patient.wsBase, { apiKey: acme.apiKey });
    let pings = 0;
    healthy.socket.on("ping", () => {
      pings += 1;
    });
    await waitFor(() => pings >= 3, { what: "three pings", timeoutMs: 20_000 });
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
  });

  it("terminates a socket that misses a pong", async () => {
    const before = running.app.feedHub.stats().heartbeatTerminations;
    const silent = await feed(running.wsBase, { apiKey: acme.apiKey, autoPong: false });
    const closed = await silent.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(running.app.feedHub.stats().heartbeatTerminations).toBeGreaterThan(before);
  });
});

describe("inbound messages", () => {
  it("ignores small messages", async () => {
    const client = await feed(running.wsBase, { apiKey: acme.apiKey });
    client.socket.send("hello");
    const event = await bus.publish(statusDraft(acme.tenantId, "alice", "after-hello"));
    await waitFor(() => client.events().some((e) => e.id === event.id), { what: "the event after hello" });
  });

  it("closes with 1009 on a message over the limit", async () => {
    const client = await feed(running.wsBase, { apiKey: acme.apiKey });
    client.socket.send("x".repeat(4096));
    expect((await client.closed).code).toBe(CLOSE_CODES.messageTooBig);
  });
});

describe("slow consumers", () => {
  it("closes with 4008 a socket whose send buffer exceeds the limit", async () => {
    // A quiet app for this one: no heartbeat would terminate the paused client first.
    const slowApp = await app({ heartbeatIntervalMs: 600_000, maxBufferedBytes: 64 * 1024 });
    const slow = await feed(slowApp.wsBase, { apiKey: acme.apiKey });
    slow.socket.pause(); // stops reading: the kernel buffers fill, then ws's
    const big = "x".repeat(256 * 1024);
    await waitFor(
      async () => {
        await bus.publish(statusDraft(acme.tenantId, "alice", "big", "ACTIVE", { status_reason: big }));
        return (slowApp.app.feedHub.stats().closedByCode[CLOSE_CODES.slowConsumer] ?? 0) >= 1;
      },
      { what: "the slow-consumer close", timeoutMs: 20_000, intervalMs: 1 },
    );
    slow.socket.resume();
    const closed = await slow.closed;
    expect(closed).toEqual({ code: CLOSE_CODES.slowConsumer, reason: "slow consumer" });
  });
});

describe("user token expiry", () => {
  it("closes the socket with 4001 when its token expires", async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = signUserToken({ tenantId: acme.tenantId, userId: "alice", exp }, TEST_SESSION_SECRET);
    const quiet = await app({ heartbeatIntervalMs: 600_000 });
    const client = await feed(quiet.wsBase, { token });
    const event = await bus.publish(statusDraft(acme.tenantId, "alice", "before-expiry"));
    await waitFor(() => client.events().some((e) => e.id === event.id), { what: "the event before expiry" });
    const closed = await client.closed;
    expect(closed).toEqual({ code: CLOSE_CODES.tokenExpired, reason: "token expired" });
  });
});

describe("shutdown", () => {
  it("closes every socket with 1001", async () => {
    const doomed = await startApp({ config, prisma, redis });
    const a = await feed(doomed.wsBase, { apiKey: acme.apiKey });
    const b = await feed(doomed.wsBase, {
      token: signUserToken({ tenantId: acme.tenantId, userId: "bob", exp: Math.floor(Date.now() / 1000) + 600 }, TEST_SESSION_SECRET),
    });
    await doomed.app.close();
    expect((await a.closed).code).toBe(CLOSE_CODES.goingAway);
    expect((await b.closed).code).toBe(CLOSE_CODES.goingAway);
  });
});
