import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createPrismaClient, type PrismaClient } from "@kronos/db";
import { type Config, createRedis, generateApiKey, loadConfig, type Redis } from "@kronos/shared";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
export const TEST_SESSION_SECRET = "test-session-secret-0123456789-abcdefghij";
export const TEST_COMPOSIO_API_KEY = "test-composio-key";

/**
 * A Config for one test file: the real Postgres and Redis from DATABASE_URL / REDIS_URL (the global set-up points
 * them at the test database), and a Redis prefix of its own so that test files never see each other's queues.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SESSION_SECRET: TEST_SESSION_SECRET,
    COMPOSIO_API_KEY: TEST_COMPOSIO_API_KEY,
    COMPOSIO_BASE_URL: "http://127.0.0.1:9",
    REDIS_KEY_PREFIX: `t${randomBytes(5).toString("hex")}`,
    STATUS_POLL_INITIAL_DELAY_MS: "50",
    STATUS_POLL_MAX_DELAY_MS: "200",
    CONNECT_WAIT_MS: "5000",
    // Test files share one database: a scheduled reconciliation would correct other files' connections.
    RECONCILE_INTERVAL_SECONDS: "0",
    TRIGGER_RECONCILE_INTERVAL_SECONDS: "0",
    // The same: a sweeper would re-drive other files' stored webhooks and status polls.
    SWEEP_INTERVAL_SECONDS: "0",
    ...overrides,
  });
}

/** A tenant with an API key, written straight to Postgres. */
export async function createTestTenant(prisma: PrismaClient, name = "test tenant"): Promise<{ tenantId: string; apiKey: string }> {
  const { key, hash, prefix } = generateApiKey();
  const tenant = await prisma.tenant.create({ data: { name, apiKeys: { create: { keyHash: hash, prefix } } } });
  return { tenantId: tenant.id, apiKey: key };
}

export function testPrisma(config: Config): PrismaClient {
  return createPrismaClient(config.DATABASE_URL, { poolSize: 3 });
}

export function testRedis(config: Config): Redis {
  return createRedis(config.REDIS_URL);
}

/** Deletes every Redis key of a test file's prefix. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 25, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** A TCP port that was free on 127.0.0.1 a moment ago: for starting services as processes on free ports. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
export { type RawAnswer, rawHttp } from "./raw-http.js";
export { type ProxyMode, TcpProxy } from "./tcp-proxy.js";
