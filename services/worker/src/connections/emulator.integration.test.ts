// Neither package is a dependency of the worker: use their builds directly.
import { CONTROL_PREFIX, type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import type { PrismaClient } from "@kronos/db";
import {
  type Config,
  type ConnectionStatusEventData,
  createComposioClient,
  createLogger,
  DEFAULT_JOB_OPTIONS,
  decodeBusMessage,
  decodeJobFailure,
  EventBus,
  eventKeys,
  type InitiateConnectionJob,
  JOBS,
  QUEUES,
  type Redis,
} from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { Job, type JobsOptions, Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningWorkers, startWorkers } from "../workers.js";

/** The worker with the real Composio adapter, against the Composio emulator. */
let emulator: RunningEmulator;
let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let subscriber: Redis;
let workers: RunningWorkers;
let queue: Queue;
const events: ConnectionStatusEventData[] = [];
const FAST_RETRIES: JobsOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { type: "fixed", delay: 20 } };

beforeAll(async () => {
  emulator = await startEmulator();
  config = testConfig({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
  prisma = testPrisma(config);
  redis = testRedis(config);
  subscriber = testRedis(config);
  await subscriber.subscribe(eventKeys(config.REDIS_KEY_PREFIX).channel);
  subscriber.on("message", (_channel: string, message: string) => {
    const decoded = decodeBusMessage(message);
    if (decoded) events.push(decoded.event.data as ConnectionStatusEventData);
  });
  const composio = createComposioClient({ apiKey: config.COMPOSIO_API_KEY, baseUrl: config.COMPOSIO_BASE_URL, timeoutMs: 5_000 });
  workers = await startWorkers({
    config,
    prisma,
    composio,
    bus: new EventBus(redis, config.REDIS_KEY_PREFIX, 1_000),
    logger: createLogger("worker-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    connection: config.REDIS_URL,
  });
  queue = new Queue(QUEUES.connection, { connection: testRedis(config), prefix: config.REDIS_KEY_PREFIX });
});

afterAll(async () => {
  await workers?.close();
  await queue?.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await subscriber?.quit();
  await redis?.quit();
  await prisma?.$disconnect();
  await emulator?.close();
});

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${emulator.url}${CONTROL_PREFIX}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`emulator control ${method} ${path}: ${response.status}`);
  return response.status === 204 ? undefined : response.json();
}

async function run(data: InitiateConnectionJob) {
  await queue.add(JOBS.initiateConnection, data, { ...FAST_RETRIES, jobId: data.connectionId });
  return waitFor(async () => {
    const job = await Job.fromId(queue, data.connectionId);
    return job?.finishedOn ? job : undefined;
  });
}

const jobData = (tenantId: string, overrides: Partial<InitiateConnectionJob> = {}): InitiateConnectionJob => ({
  connectionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolkit: "github",
  labels: [],
  actor: "api_key:test",
  ...overrides,
});

describe("worker against the Composio emulator", () => {
  it("connects through a hosted link, retrying a 503, and publishes ACTIVE once the user finishes", async () => {
    const { tenantId } = await createTestTenant(prisma);
    await control("POST", "/faults", { kind: "server_error", status: 503, method: "POST", path: "/connected_accounts/link", times: 1 });
    const data = jobData(tenantId);
    const job = await run(data);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toMatchObject({ connection_id: data.connectionId, status: "INITIATED" });
    expect(job.returnvalue.redirect_url).toEqual(expect.any(String));
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    const accounts = (await control("GET", "/requests?method=POST&route=/connected_accounts/link")) as { items: unknown[] };
    expect(accounts.items.length).toBeGreaterThanOrEqual(2);

    const account = (await control("PUT", `/connected_accounts/${row.composioAccountId}/status`, { status: "ACTIVE" })) as {
      user_id: string;
    };
    expect(account.user_id).toBe(`${tenantId}:alice`);
    await waitFor(() => events.find((e) => e.connection_id === data.connectionId && e.status === "ACTIVE"), { what: "ACTIVE event" });
    expect(events.filter((e) => e.connection_id === data.connectionId).map((e) => e.status)).toEqual(["INITIATED", "ACTIVE"]);
  });

  it("fails an unknown toolkit with NOT_FOUND", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const job = await run(jobData(tenantId, { toolkit: "nosuchkit" }));
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    expect(job.attemptsMade).toBe(1);
  });
});
