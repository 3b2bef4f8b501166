import type { PrismaClient } from "@kronos/db";
import { type Config, generateApiKey, type Redis, signUserToken } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, TEST_SESSION_SECRET, testConfig, testPrisma, testRedis } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Feed, openFeed, type Running, refusedFeed, startApp } from "../test/support.js";

// Unknown `kc_` keys on the feed cost what they cost on the gateway (the same guard, from packages/shared): one
// Postgres query per key a minute at most, and a bounded number per client IP, counted across instances.

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let first: Running;
let second: Running;
let acme: { tenantId: string; apiKey: string };
let keyLookups = 0;
const feeds: Feed[] = [];

beforeAll(async () => {
  config = testConfig({ RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE: "3" });
  prisma = testPrisma(config);
  redis = testRedis(config);
  acme = await createTestTenant(prisma, "acme unknown keys");
  // Counts the API-key lookups the feed makes (the client the apps use; the test's own queries go through `prisma`).
  const counted = prisma.$extends({
    query: {
      apiKey: {
        async findUnique({ args, query }) {
          keyLookups += 1;
          return query(args);
        },
      },
    },
  }) as unknown as PrismaClient;
  first = await startApp({ config, prisma: counted, redis });
  second = await startApp({ config, prisma: counted, redis });
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

describe("unknown API keys on the feed", () => {
  it("remembers an unknown key: the same key again is refused without a query", async () => {
    const { key } = generateApiKey();
    const before = keyLookups;
    expect(await refusedFeed(first.wsBase, { apiKey: key })).toMatchObject({ status: 401, upgraded: false });
    expect(keyLookups).toBe(before + 1);
    expect(await refusedFeed(first.wsBase, { apiKey: key })).toMatchObject({ status: 401, upgraded: false });
    expect(keyLookups).toBe(before + 1);
  });

  it("caps unknown-key lookups per client IP across instances: 429 with Retry-After past the limit, no query", async () => {
    // The first test used one lookup of this IP's three; two more unknown keys, one on each instance, use the rest.
    expect(await refusedFeed(first.wsBase, { apiKey: generateApiKey().key })).toMatchObject({ status: 401 });
    expect(await refusedFeed(second.wsBase, { apiKey: generateApiKey().key })).toMatchObject({ status: 401 });
    const before = keyLookups;
    const refused = await refusedFeed(second.wsBase, { apiKey: generateApiKey().key });
    expect(refused).toMatchObject({ status: 429, upgraded: false, body: { error: { code: "RATE_LIMITED" } } });
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(keyLookups).toBe(before);
    // Offered as a subprotocol (the console's way), the same.
    const asProtocol = await refusedFeed(first.wsBase, { protocols: ["kronos.feed.v1", `kronos.bearer.${generateApiKey().key}`] });
    expect(asProtocol).toMatchObject({ status: 429 });
    expect(keyLookups).toBe(before);
  });

  it("still lets user tokens in from that address (they need no lookup)", async () => {
    const token = signUserToken(
      { tenantId: acme.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) + 600 },
      TEST_SESSION_SECRET,
    );
    feeds.push(await openFeed(first.wsBase, { token }));
  });
});
