import type { PrismaClient } from "@kronos/db";
import { type Config, generateApiKey, publishApiKeyRevoked, type Redis, signUserToken } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, TEST_SESSION_SECRET, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Feed, openFeed, type Running, refusedFeed, startApp } from "../test/support.js";
import { CLOSE_CODES } from "./feed/protocol.js";

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let first: Running;
let second: Running;
let acme: { tenantId: string; apiKey: string };
const feeds: Feed[] = [];

async function feed(base: string, auth: Parameters<typeof openFeed>[1]): Promise<Feed> {
  const opened = await openFeed(base, auth);
  feeds.push(opened);
  return opened;
}

async function addKey(scopes: string[]): Promise<{ id: string; key: string; keyHash: string }> {
  const { key, hash, prefix } = generateApiKey();
  const row = await prisma.apiKey.create({ data: { tenantId: acme.tenantId, keyHash: hash, prefix, scopes } });
  return { id: row.id, key, keyHash: hash };
}

beforeAll(async () => {
  config = testConfig();
  prisma = testPrisma(config);
  redis = testRedis(config);
  acme = await createTestTenant(prisma, "acme keys");
  first = await startApp({ config, prisma, redis, feed: { maxSocketsPerUser: 2, maxSocketsPerApiKey: 3 } });
  second = await startApp({ config, prisma, redis, feed: { maxSocketsPerUser: 2, maxSocketsPerApiKey: 3 } });
});

afterAll(async () => {
  for (const f of feeds) f.socket.terminate();
  await first.app.close();
  await second.app.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await prisma.tenant.deleteMany({ where: { id: acme.tenantId } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("open sockets are capped per user and per API key, across instances", () => {
  const capped = { kind: "user" as const, tenantId: "", userId: "capped", expiresAt: 0 };

  it("refuses a user's third socket with 429 on either instance, and accepts it once one closed", async () => {
    capped.tenantId = acme.tenantId;
    const token = signUserToken(
      { tenantId: acme.tenantId, userId: "capped", exp: Math.floor(Date.now() / 1000) + 600 },
      TEST_SESSION_SECRET,
    );
    const one = await feed(first.wsBase, { token });
    await feed(second.wsBase, { token });
    for (const instance of [first, second]) {
      const refused = await refusedFeed(instance.wsBase, { token });
      expect(refused).toMatchObject({ status: 429, upgraded: false, body: { error: { code: "RATE_LIMITED", details: { limit: 2 } } } });
    }
    // Another user of the same tenant is not affected.
    const other = signUserToken(
      { tenantId: acme.tenantId, userId: "other", exp: Math.floor(Date.now() / 1000) + 600 },
      TEST_SESSION_SECRET,
    );
    await feed(first.wsBase, { token: other });
    // Closed on the first instance: the second takes one more.
    one.socket.close();
    await one.closed;
    await waitFor(() => first.app.feedCaps.heldFor(capped) === 0, { what: "the first instance to release the socket" });
    await feed(second.wsBase, { token });
    expect(await refusedFeed(first.wsBase, { token })).toMatchObject({ status: 429 });
  });

  it("refuses an API key's fourth socket with 429, counting both instances", async () => {
    const { key } = await addKey(["*"]);
    await feed(first.wsBase, { apiKey: key });
    await feed(first.wsBase, { apiKey: key });
    await feed(second.wsBase, { apiKey: key });
    expect(await refusedFeed(second.wsBase, { apiKey: key })).toMatchObject({ status: 429, body: { error: { code: "RATE_LIMITED" } } });
    expect(await refusedFeed(first.wsBase, { apiKey: key })).toMatchObject({ status: 429 });
  });

  it("stops counting an instance's sockets as soon as it stops gracefully", async () => {
    const { key } = await addKey(["webhooks"]);
    const leaving = await startApp({ config, prisma, redis, feed: { maxSocketsPerUser: 2, maxSocketsPerApiKey: 3 } });
    const held = [await feed(leaving.wsBase, { apiKey: key }), await feed(leaving.wsBase, { apiKey: key })];
    await feed(first.wsBase, { apiKey: key });
    expect(await refusedFeed(first.wsBase, { apiKey: key })).toMatchObject({ status: 429 });
    await leaving.app.close();
    for (const socket of held) expect((await socket.closed).code).toBe(CLOSE_CODES.goingAway);
    await feed(first.wsBase, { apiKey: key });
    await feed(second.wsBase, { apiKey: key });
    expect(await refusedFeed(second.wsBase, { apiKey: key })).toMatchObject({ status: 429 });
  });
});

describe("API keys on the feed", () => {
  it("refuses a key without the webhooks scope with 403 naming it", async () => {
    const { key } = await addKey(["connections"]);
    const refused = await refusedFeed(first.wsBase, { apiKey: key });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: { scope: "webhooks" } } } });
    expect(JSON.stringify(refused.body)).toContain('"webhooks"');
  });

  it("closes a revoked key's sockets on every instance (4003) and refuses new ones", async () => {
    const revoked = await addKey(["webhooks"]);
    const kept = await addKey(["webhooks"]);
    const onFirst = await feed(first.wsBase, { apiKey: revoked.key });
    const onSecond = await feed(second.wsBase, { apiKey: revoked.key });
    const untouched = await feed(second.wsBase, { apiKey: kept.key });
    // What DELETE /api/v1/api-keys/{id} does (the gateway's own test covers the route).
    await prisma.apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
    await publishApiKeyRevoked(redis, config.REDIS_KEY_PREFIX, { tenantId: acme.tenantId, apiKeyId: revoked.id, keyHash: revoked.keyHash });
    expect((await onFirst.closed).code).toBe(CLOSE_CODES.credentialRevoked);
    expect((await onSecond.closed).code).toBe(CLOSE_CODES.credentialRevoked);
    expect(untouched.socket.readyState).toBe(untouched.socket.OPEN);
    expect(await refusedFeed(first.wsBase, { apiKey: revoked.key })).toMatchObject({ status: 401 });
  });
});
