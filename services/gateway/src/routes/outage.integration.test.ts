import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { createPrismaClient, databaseOptions, type PrismaClient } from "@kronos/db";
import { type Config, createRedis, type Redis, requestPathRedisOptions } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, TcpProxy, testConfig, testPrisma, waitFor } from "@kronos/testing";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGatewayApp } from "../app.js";

// Clear answers while something is down: with Postgres or Redis refused or blackholed (a TCP proxy in front of each),
// requests get 503 UNAVAILABLE with Retry-After (or 202 for work accepted durably), never a 500 or a hang, and a known
// API key keeps working from its cache on routes that need no Postgres.

let emulator: RunningEmulator;
let config: Config;
let direct: PrismaClient;
let prisma: PrismaClient;
let redis: Redis;
let app: FastifyInstance;
let pg: TcpProxy;
let rd: TcpProxy;
let acme: { tenantId: string; apiKey: string };
let clock = Date.now();
/** Generous: only a guard against hanging, never a measure. */
const HANG_GUARD_MS = 10_000;

beforeAll(async () => {
  emulator = await startEmulator();
  const base = testConfig();
  const pgProxy = TcpProxy.forUrl(base.DATABASE_URL);
  const redisProxy = TcpProxy.forUrl(base.REDIS_URL);
  pg = pgProxy.proxy;
  rd = redisProxy.proxy;
  config = testConfig({
    DATABASE_URL: pgProxy.url(await pg.start()),
    REDIS_URL: redisProxy.url(await rd.start()),
    COMPOSIO_BASE_URL: emulator.url,
    COMPOSIO_API_KEY: emulator.apiKey,
    CONNECT_WAIT_MS: "0",
    DATABASE_CONNECT_TIMEOUT_MS: "1000",
    DATABASE_QUERY_TIMEOUT_MS: "1000",
    REDIS_COMMAND_TIMEOUT_MS: "500",
  });
  direct = testPrisma(base);
  prisma = createPrismaClient(config.DATABASE_URL, databaseOptions({ ...config, DATABASE_POOL_SIZE: 3 }));
  redis = createRedis(config.REDIS_URL, requestPathRedisOptions(config));
  redis.on("error", () => undefined);
  await new Promise((resolve) => redis.once("ready", resolve));
  app = await buildGatewayApp({ config, prisma, redis, apiKeyCache: { ttlMs: 1_000, now: () => clock }, parkedSweep: { intervalMs: 0 } });
  acme = await createTestTenant(direct, "acme outage");
});

afterAll(async () => {
  await pg?.restore();
  await rd?.restore();
  await app?.close();
  await deleteRedisPrefix(createRedis(testConfig().REDIS_URL), config.REDIS_KEY_PREFIX).catch(() => undefined);
  if (acme) await direct.tenant.delete({ where: { id: acme.tenantId } });
  await prisma?.$disconnect();
  redis?.disconnect();
  await direct?.$disconnect();
  await pg?.close();
  await rd?.close();
  await emulator?.close();
});

/** A request whose answer must come (within the hang guard); returns it. */
async function answer(options: InjectOptions) {
  const started = Date.now();
  const response = await app.inject({ ...options, headers: { authorization: `Bearer ${acme.apiKey}`, ...options.headers } });
  expect(Date.now() - started, `${options.method} ${options.url} hung`).toBeLessThan(HANG_GUARD_MS);
  return response;
}

const execute = (headers: Record<string, string> = {}) =>
  answer({
    method: "POST",
    url: "/api/v1/composio/tools/execute",
    headers,
    payload: { user_id: "alice", action_name: "GITHUB_CREATE_AN_ISSUE", params: { title: "during an outage" } },
  });

function expectUnavailable(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(response.statusCode).toBe(503);
  expect(response.json()).toEqual({ error: { code: "UNAVAILABLE", message: expect.any(String) } });
  expect(Number(response.headers["retry-after"])).toBeGreaterThan(0);
}

async function recovered() {
  await waitFor(async () => (await answer({ method: "GET", url: "/api/v1/composio/connections" })).statusCode === 200, {
    timeoutMs: 30_000,
    what: "the gateway to answer 200 again",
  });
}

describe.each(["refuse", "blackhole"] as const)("Postgres %sd", (mode) => {
  it("answers 503 with Retry-After, and a known API key still works on a route without Postgres", async () => {
    expect((await answer({ method: "GET", url: "/api/v1/composio/toolkits" })).statusCode).toBe(200); // caches the key
    if (mode === "refuse") await pg.refuse();
    else pg.blackhole();
    clock += 5_000; // the key's cache entry is stale now: its lookup would need Postgres
    try {
      expectUnavailable(await answer({ method: "GET", url: "/api/v1/composio/connections" }));
      expectUnavailable(await execute());
      expect((await answer({ method: "GET", url: "/api/v1/composio/toolkits" })).statusCode).toBe(200);
      // A key nobody has seen cannot be checked: 503 too, never 401 or 500.
      expectUnavailable(
        await answer({ method: "GET", url: "/api/v1/composio/connections", headers: { authorization: "Bearer kc_unknown" } }),
      );
    } finally {
      await pg.restore();
    }
    await recovered();
  });
});

describe.each(["refuse", "blackhole"] as const)("Redis %sd", (mode) => {
  it("accepts executions durably (202, recorded in Postgres), and answers 503 where Redis is needed", async () => {
    if (mode === "refuse") await rd.refuse();
    else rd.blackhole();
    try {
      const accepted = await execute();
      expect(accepted.statusCode).toBe(202);
      const { execution_id: executionId } = accepted.json() as { execution_id: string };
      expect(await direct.acceptedJob.findFirst({ where: { jobId: executionId } })).toMatchObject({ tenantId: acme.tenantId });
      // Its poll URL answers from that record while Redis cannot say.
      const polled = await answer({ method: "GET", url: `/api/v1/composio/executions/${executionId}` });
      expect(polled.statusCode).toBe(200);
      expect(polled.json()).toMatchObject({ status: "QUEUED" });
      // An Idempotency-Key is claimed in Redis: without it, the request is refused rather than risked twice.
      expectUnavailable(await execute({ "idempotency-key": `outage-${mode}` }));
    } finally {
      await rd.restore();
    }
    await waitFor(async () => (await execute({ "idempotency-key": `after-${mode}` })).statusCode === 202, {
      timeoutMs: 30_000,
      what: "Redis to be usable again",
    });
  });
});
