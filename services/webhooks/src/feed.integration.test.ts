import { randomUUID } from "node:crypto";
import type { PrismaClient } from "@kronos/db";
import { API_SECURITY_HEADERS } from "@kronos/service-kit";
import { type Config, EventBus, FEED_PROTOCOL, feedProtocols, hashApiKey, type Redis, signUserToken } from "@kronos/shared";
import {
  createTestTenant,
  deleteRedisPrefix,
  rawHttp,
  TEST_SESSION_SECRET,
  testConfig,
  testPrisma,
  testRedis,
  waitFor,
} from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Feed, openFeed, publishMany, type Running, refusedFeed, startApp, statusDraft } from "../test/support.js";

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let bus: EventBus;
let running: Running;
const feeds: Feed[] = [];
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };

const token = (tenantId: string, userId: string, ttlSeconds = 600) =>
  signUserToken({ tenantId, userId, exp: Math.floor(Date.now() / 1000) + ttlSeconds }, TEST_SESSION_SECRET);

async function feed(base: string, auth: Parameters<typeof openFeed>[1]): Promise<Feed> {
  const opened = await openFeed(base, auth);
  feeds.push(opened);
  return opened;
}

beforeAll(async () => {
  config = testConfig();
  prisma = testPrisma(config);
  redis = testRedis(config);
  bus = new EventBus(redis, config.REDIS_KEY_PREFIX, 1000);
  acme = await createTestTenant(prisma, "acme");
  globex = await createTestTenant(prisma, "globex");
  running = await startApp({ config, prisma, redis });
});

afterAll(async () => {
  for (const f of feeds) f.socket.terminate();
  await running?.app.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, globex.tenantId] } } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("GET /health", () => {
  it("answers ok", async () => {
    const response = await fetch(`${running.httpBase}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", service: "webhooks" });
  });

  it("answers unknown routes with the error body", async () => {
    const response = await fetch(`${running.httpBase}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("answers router and protocol errors in the API's shape and headers, without repeating the URL", async () => {
    const port = Number(new URL(running.httpBase).port);
    const get = (path: string) => rawHttp(port, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
    for (const [answer, status, code] of [
      [await get("/webhooks/%zz"), 400, "BAD_REQUEST"],
      [await get("/no-such-route-q9"), 404, "NOT_FOUND"],
      [await rawHttp(port, "NOT HTTP AT ALL\r\n\r\n"), 400, "BAD_REQUEST"],
    ] as const) {
      expect(answer.status).toBe(status);
      expect(answer.headers).toMatchObject(API_SECURITY_HEADERS);
      expect(JSON.parse(answer.body)).toEqual({ error: { code, message: expect.any(String) } });
      expect(answer.body).not.toMatch(/%zz|q9/);
    }
  });

  it("names the invalid field of a refused request", async () => {
    const response = await fetch(`${running.httpBase}/ws?since=not-an-event-id`, { headers: { authorization: `Bearer ${acme.apiKey}` } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: "VALIDATION_FAILED",
        message: "The request is invalid",
        details: [{ field: "querystring.since", message: expect.any(String) }],
      },
    });
  });
});

describe("GET /ws authentication (before the upgrade)", () => {
  it("refuses a request without credentials with 401 and no socket", async () => {
    const refused = await refusedFeed(running.wsBase, {});
    expect(refused).toMatchObject({ status: 401, upgraded: false, body: { error: { code: "UNAUTHENTICATED" } } });
  });

  it("refuses bad, foreign-signed and expired user tokens", async () => {
    const forged = signUserToken({ tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) + 600 }, "x".repeat(40));
    const expired = signUserToken(
      { tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) - 1 },
      TEST_SESSION_SECRET,
    );
    for (const bad of ["garbage", forged, expired]) {
      const refused = await refusedFeed(running.wsBase, { token: bad });
      expect(refused).toMatchObject({ status: 401, upgraded: false, body: { error: { code: "UNAUTHENTICATED" } } });
    }
  });

  it("refuses unknown and revoked API keys", async () => {
    const revoked = await createTestTenant(prisma, "revoked");
    await prisma.apiKey.update({ where: { keyHash: hashApiKey(revoked.apiKey) }, data: { revokedAt: new Date() } });
    for (const apiKey of ["kc_unknown", revoked.apiKey]) {
      const refused = await refusedFeed(running.wsBase, { apiKey });
      expect(refused).toMatchObject({ status: 401, upgraded: false, body: { error: { code: "UNAUTHENTICATED" } } });
    }
    await prisma.tenant.delete({ where: { id: revoked.tenantId } });
  });

  it("refuses a malformed since with 400 (after authentication)", async () => {
    expect(await refusedFeed(running.wsBase, { rawQuery: "?since=abc" })).toMatchObject({ status: 401 });
    const refused = await refusedFeed(running.wsBase, { apiKey: acme.apiKey, since: "not-an-id" });
    expect(refused).toMatchObject({ status: 400, upgraded: false, body: { error: { code: "VALIDATION_FAILED" } } });
  });

  it("takes either credential as a subprotocol (what browsers can send), and answers with the feed protocol only", async () => {
    const alice = await feed(running.wsBase, { protocols: feedProtocols(token(acme.tenantId, "alice")) });
    const server = await feed(running.wsBase, { protocols: feedProtocols(acme.apiKey) });
    expect([alice.socket.protocol, server.socket.protocol]).toEqual([FEED_PROTOCOL, FEED_PROTOCOL]);
    const event = await bus.publish(statusDraft(acme.tenantId, "alice", "conn-protocol"));
    await waitFor(() => alice.events().some((e) => e.id === event.id) && server.events().some((e) => e.id === event.id));

    const expired = signUserToken(
      { tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) - 1 },
      TEST_SESSION_SECRET,
    );
    for (const bad of [expired, "kc_unknown"]) {
      const refused = await refusedFeed(running.wsBase, { protocols: feedProtocols(bad) });
      expect(refused).toMatchObject({ status: 401, upgraded: false, body: { error: { code: "UNAUTHENTICATED" } } });
    }
  });

  it("answers a plain HTTP GET /ws with 400", async () => {
    const response = await fetch(`${running.wsBase.replace("ws", "http")}/ws`, { headers: { authorization: `Bearer ${acme.apiKey}` } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "BAD_REQUEST" } });
  });
});

describe("fan-out", () => {
  it("delivers a user's events to that user, all of the tenant's to API keys, nothing across tenants", async () => {
    const alice = await feed(running.wsBase, { token: token(acme.tenantId, "alice") });
    const bob = await feed(running.wsBase, { token: token(acme.tenantId, "bob") });
    const server = await feed(running.wsBase, { apiKey: acme.apiKey });
    const globexAlice = await feed(running.wsBase, { token: token(globex.tenantId, "alice") });
    const globexServer = await feed(running.wsBase, { apiKey: globex.apiKey });

    const aliceEvent = await bus.publish(statusDraft(acme.tenantId, "alice", "conn-a"));
    const bobEvent = await bus.publish(statusDraft(acme.tenantId, "bob", "conn-b"));
    const tenantWide = await bus.publish(statusDraft(acme.tenantId, null, "conn-t"));
    // Sentinels: the channel is ordered, so once a socket has its sentinel it has had every earlier event.
    const globexSentinel = await bus.publish(statusDraft(globex.tenantId, "alice", "globex-sentinel"));
    const aliceSentinel = await bus.publish(statusDraft(acme.tenantId, "alice", "alice-sentinel"));
    const bobSentinel = await bus.publish(statusDraft(acme.tenantId, "bob", "bob-sentinel"));

    const ids = (f: Feed) => f.events().map((e) => e.id);
    await waitFor(() => ids(alice).includes(aliceSentinel.id), { what: "alice's sentinel" });
    await waitFor(() => ids(bob).includes(bobSentinel.id), { what: "bob's sentinel" });
    await waitFor(() => ids(server).includes(bobSentinel.id), { what: "the API key's sentinel" });
    await waitFor(() => ids(globexAlice).includes(globexSentinel.id), { what: "globex alice's sentinel" });
    await waitFor(() => ids(globexServer).includes(globexSentinel.id), { what: "globex API key's sentinel" });

    expect(ids(alice)).toEqual([aliceEvent.id, aliceSentinel.id]);
    expect(ids(bob)).toEqual([bobEvent.id, bobSentinel.id]);
    expect(ids(server)).toEqual([aliceEvent.id, bobEvent.id, tenantWide.id, aliceSentinel.id, bobSentinel.id]);
    expect(ids(globexAlice)).toEqual([globexSentinel.id]);
    expect(ids(globexServer)).toEqual([globexSentinel.id]);

    // The FeedEvent shape.
    expect(alice.events()[0]).toEqual({ type: "connection.status", id: aliceEvent.id, ts: aliceEvent.ts, data: aliceEvent.data });
  });

  it("two instances on one Redis each deliver every event once to their own sockets", async () => {
    const second = await startApp({ config, prisma, redis });
    try {
      const onFirst = await feed(running.wsBase, { apiKey: acme.apiKey });
      const onSecond = await feed(second.wsBase, { apiKey: acme.apiKey });
      const userOnSecond = await feed(second.wsBase, { token: token(acme.tenantId, "carol") });
      const published = await publishMany(bus, acme.tenantId, "carol", 20, "two");
      const last = published.at(-1)!;
      for (const f of [onFirst, onSecond, userOnSecond]) {
        await waitFor(() => f.events().some((e) => e.id === last), { what: "the last event" });
        expect(f.events().map((e) => e.id)).toEqual(published);
      }
    } finally {
      await second.app.close();
    }
  });
});

describe("logs", () => {
  it("never show the user token of a socket", async () => {
    const lines: string[] = [];
    const logged = await startApp({
      config: { ...config, LOG_LEVEL: "info" },
      prisma,
      redis,
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      const secret = token(acme.tenantId, "alice");
      await feed(logged.wsBase, { token: secret });
      await refusedFeed(logged.wsBase, { token: `${secret}x` });
      await waitFor(() => lines.some((line) => line.includes("/ws?token=[Redacted]")), { what: "the logged request" });
      expect(lines.join("\n")).not.toContain(secret);
    } finally {
      await logged.app.close();
    }
  });
});

describe("snapshot", () => {
  it("sends first the current status of the connections the client may see", async () => {
    const tenant = await createTestTenant(prisma, "snap");
    const make = (userId: string, status: "ACTIVE" | "INITIATED", labels: string[] = []) =>
      prisma.connection.create({ data: { id: randomUUID(), tenantId: tenant.tenantId, userId, toolkitSlug: "github", status, labels } });
    const a1 = await make("alice", "ACTIVE", ["work"]);
    const a2 = await make("alice", "INITIATED");
    const b1 = await make("bob", "ACTIVE");
    try {
      const alice = await feed(running.wsBase, { token: token(tenant.tenantId, "alice") });
      const server = await feed(running.wsBase, { apiKey: tenant.apiKey });
      const globexFeed = await feed(running.wsBase, { apiKey: globex.apiKey });

      const first = alice.messages[0] as { type: string; connections: Array<Record<string, unknown>>; truncated: boolean };
      expect(first.type).toBe("snapshot");
      expect(first.truncated).toBe(false);
      expect(first.connections.map((c) => c.connection_id).sort()).toEqual([a1.id, a2.id].sort());
      expect(first.connections.find((c) => c.connection_id === a1.id)).toEqual({
        connection_id: a1.id,
        user_id: "alice",
        toolkit: "github",
        status: "ACTIVE",
        status_reason: null,
        labels: ["work"],
        updated_at: a1.updatedAt.toISOString(),
      });
      const serverSnapshot = server.messages[0] as { type: string; connections: Array<{ connection_id: string }> };
      expect(serverSnapshot.type).toBe("snapshot");
      expect(serverSnapshot.connections.map((c) => c.connection_id).sort()).toEqual([a1.id, a2.id, b1.id].sort());
      expect(globexFeed.messages[0]).toMatchObject({ type: "snapshot", connections: [] });
    } finally {
      await prisma.tenant.delete({ where: { id: tenant.tenantId } });
    }
  });

  it("caps the snapshot and says so", async () => {
    const tenant = await createTestTenant(prisma, "snap-cap");
    const capped = await startApp({ config, prisma, redis, feed: { snapshotLimit: 2 } });
    try {
      for (let i = 0; i < 3; i++) {
        await prisma.connection.create({ data: { id: randomUUID(), tenantId: tenant.tenantId, userId: "u", toolkitSlug: "github" } });
      }
      const server = await feed(capped.wsBase, { apiKey: tenant.apiKey });
      expect(server.messages[0]).toMatchObject({ type: "snapshot", truncated: true });
      expect(server.messages[0]?.connections).toHaveLength(2);
    } finally {
      await capped.app.close();
      await prisma.tenant.delete({ where: { id: tenant.tenantId } });
    }
  });
});
