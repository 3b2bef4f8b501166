import { type Execution, type PrismaClient, toExecutionView } from "@kronos/db";
import { type Config, createRedis, EVENT_TYPES, EventBus, type FinalExecutionStatus, QUEUES, type Redis } from "@kronos/shared";
import {
  deleteRedisPrefix,
  TEST_ADMIN_TOKEN,
  TEST_COMPOSIO_API_KEY,
  TEST_SESSION_SECRET,
  testConfig,
  testPrisma,
  testRedis,
} from "@kronos/testing";
import { type Job, Queue, Worker } from "bullmq";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { buildGatewayApp } from "../src/app.js";
import type { ParkedSweepOptions } from "../src/lib/parked-sweeper.js";

/** A gateway over the real Postgres and Redis, with a Redis prefix of its own, whose responses never leak a secret. */
export interface Harness {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  app: FastifyInstance;
  /** Secrets that must appear in no response (the fixed test secrets are always checked). */
  secrets: string[];
  inject(options: InjectOptions & { allowSecret?: string }): Promise<LightMyRequestResponse>;
  /** Another app on the same Redis prefix and database, with other settings (closed with the harness). */
  sibling(overrides: Record<string, string>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export async function startHarness(
  overrides: Record<string, string> = {},
  options: { parkedSweep?: ParkedSweepOptions } = {},
): Promise<Harness> {
  const config = testConfig(overrides);
  const prisma = testPrisma(config);
  const redis = testRedis(config);
  // Tests change API keys in Postgres directly (e.g. revoke one) and expect the next request to see it: no key cache
  // here (it has unit tests of its own in plugins/auth.unit.test.ts). No parked sweep unless a file asks for one, for
  // its own tenants: test files share the database, and a sweep would end or wake other files' executions under
  // this file's Redis prefix (their events and jobs lost to them).
  const parkedSweep = options.parkedSweep ?? { intervalMs: 0 };
  const app = await buildGatewayApp({ config, prisma, redis, apiKeyCache: { ttlMs: 0 }, parkedSweep });
  const siblings: FastifyInstance[] = [];
  const secrets: string[] = [];
  const check = (response: LightMyRequestResponse, allowed?: string) => {
    const text = response.body + JSON.stringify(response.headers);
    for (const secret of [TEST_ADMIN_TOKEN, TEST_SESSION_SECRET, TEST_COMPOSIO_API_KEY, ...secrets]) {
      if (secret !== allowed) expect(text, "a secret leaked into a response").not.toContain(secret);
    }
    return response;
  };
  return {
    config,
    prisma,
    redis,
    app,
    secrets,
    inject: async ({ allowSecret, ...options }) => check(await app.inject(options), allowSecret),
    async sibling(more) {
      const sibling = await buildGatewayApp({
        config: testConfig({ ...overrides, REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX, ...more }),
        prisma,
        redis,
        apiKeyCache: { ttlMs: 0 },
        parkedSweep: { intervalMs: 0 },
      });
      siblings.push(sibling);
      return sibling;
    },
    async close() {
      for (const sibling of siblings) await sibling.close();
      await app.close();
      await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
      await prisma.$disconnect();
      await redis.quit();
    },
  };
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

/** A raw MCP message POSTed to `<gatewayUrl>/mcp` as a client would send it (an object is sent as JSON). */
export const postMcp = (gatewayUrl: string, token: string, payload: string | object, headers: Record<string, string> = {}) =>
  fetch(`${gatewayUrl}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      ...headers,
    },
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
  });

/** A stand-in for the real worker (someone else's): processes connection jobs the way `behave` says. */
export function startFakeConnectionWorker(config: Config, behave: (job: Job) => Promise<unknown>): { close(): Promise<void> } {
  const connection = createRedis(config.REDIS_URL);
  const worker = new Worker(QUEUES.connection, behave, { connection, prefix: config.REDIS_KEY_PREFIX, concurrency: 5 });
  worker.on("error", () => {});
  return {
    async close() {
      await worker.close(true);
      await connection.quit();
    },
  };
}

/** Every job of a queue, whatever its state. */
export async function countJobs(config: Config, redis: Redis, name: string): Promise<number> {
  const queue = new Queue(name, { connection: redis, prefix: config.REDIS_KEY_PREFIX });
  try {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  } finally {
    await queue.close();
  }
}

export function jobsOf(config: Config, redis: Redis, name: string): Queue {
  return new Queue(name, { connection: redis, prefix: config.REDIS_KEY_PREFIX });
}

/** A stand-in for the real worker on any queue (someone else's): processes its jobs the way `behave` says. */
export function startFakeWorker(config: Config, queue: string, behave: (job: Job) => Promise<unknown>): { close(): Promise<void> } {
  const connection = createRedis(config.REDIS_URL);
  const worker = new Worker(queue, behave, { connection, prefix: config.REDIS_KEY_PREFIX, concurrency: 10 });
  worker.on("error", () => {});
  return {
    async close() {
      await worker.close(true);
      await connection.quit();
    },
  };
}

/** A session token of a tenant's user. */
export async function userToken(h: Harness, apiKey: string, userId: string): Promise<string> {
  const response = await h.inject({ method: "POST", url: "/api/v1/sessions", headers: bearer(apiKey), payload: { user_id: userId } });
  return response.json().token;
}

/**
 * What the real worker does once an execution's final outcome is stored: `execution.completed`, which also wakes a
 * request waiting for it (`?wait=`) with the execution's view. For the fake workers that write the row themselves.
 */
export async function announceCompleted(h: Pick<Harness, "config" | "redis">, row: Execution): Promise<void> {
  await new EventBus(h.redis, h.config.REDIS_KEY_PREFIX, 1_000).publish(
    {
      type: EVENT_TYPES.executionCompleted,
      tenantId: row.tenantId,
      userId: row.userId,
      data: {
        execution_id: row.id,
        user_id: row.userId,
        tool: row.toolSlug,
        status: row.status as FinalExecutionStatus,
        error: null,
        duration_ms: row.durationMs,
        log_id: row.logId,
      },
    },
    { view: JSON.stringify(toExecutionView(row)) },
  );
}
