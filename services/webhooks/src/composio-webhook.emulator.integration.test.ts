import { randomBytes } from "node:crypto";
import { type RunningEmulator, startEmulator, WEBHOOK_EVENT_TYPES } from "@kronos/composio-emulator";
import type { PrismaClient } from "@kronos/db";
import { type Config, composioUserId, JOBS, type ProcessWebhookEventJob, QUEUES, type Redis } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startApp } from "../test/support.js";

/**
 * The emulator stands for Composio: it signs its deliveries with its own code, so this checks our endpoint against
 * an independent implementation of Composio's signing, end to end over HTTP.
 */
const SECRET = `whsec-emulator-${randomBytes(8).toString("hex")}`;

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let running: Running;
let emulator: RunningEmulator;
let inspect: Queue<ProcessWebhookEventJob>;
let acme: { tenantId: string; apiKey: string };
const webhookIds: string[] = [];

async function call(method: string, path: string, body?: unknown, apiKey: string | null = emulator.apiKey) {
  const headers: Record<string, string> = {};
  if (apiKey !== null) headers["x-api-key"] = apiKey;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${emulator.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  config = testConfig({ COMPOSIO_WEBHOOK_SECRET: SECRET });
  prisma = testPrisma(config);
  redis = testRedis(config);
  inspect = new Queue(QUEUES.webhookEvent, { connection: redis, prefix: config.REDIS_KEY_PREFIX });
  acme = await createTestTenant(prisma, "acme emulator webhooks");
  running = await startApp({ config, prisma, redis });
  emulator = await startEmulator({ webhook: { url: `${running.httpBase}/webhooks/composio`, secret: SECRET, retryDelaysMs: [50, 100] } });
});

afterAll(async () => {
  await emulator?.close();
  await running?.app.close();
  await inspect?.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  if (webhookIds.length > 0) await prisma.webhookEvent.deleteMany({ where: { id: { in: webhookIds } } });
  if (acme) await prisma.tenant.delete({ where: { id: acme.tenantId } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("Composio emulator → POST /webhooks/composio", () => {
  it("accepts and stores the signed delivery sent when the emulator expires an account", async () => {
    const authConfig = await call("POST", "/api/v3.1/auth_configs", { toolkit: { slug: "linear" } });
    expect(authConfig.status).toBe(201);
    const link = await call("POST", "/api/v3.1/connected_accounts/link", {
      auth_config_id: (authConfig.body.auth_config as { id: string }).id,
      user_id: composioUserId(acme.tenantId, "carol"),
    });
    expect(link.status).toBe(201);
    const accountId = link.body.connected_account_id as string;

    const expired = await call("PUT", `/_emulator/connected_accounts/${accountId}/status`, { status: "EXPIRED" }, null);
    expect(expired.status).toBe(200);

    const attempt = await waitFor(
      async () => {
        const log = await call("GET", `/_emulator/webhooks?type=${WEBHOOK_EVENT_TYPES.connectedAccountExpired}`, undefined, null);
        const items = log.body.items as Array<{ id: string; status_code: number | null; final: boolean }>;
        return items.find((item) => item.final);
      },
      { what: "the emulator's delivery to be final" },
    );
    webhookIds.push(attempt.id);
    expect(attempt.status_code).toBe(200);

    const row = await prisma.webhookEvent.findUnique({ where: { id: attempt.id } });
    expect(row).toMatchObject({
      id: attempt.id,
      type: WEBHOOK_EVENT_TYPES.connectedAccountExpired,
      tenantId: acme.tenantId,
      processedAt: null,
    });
    expect(row?.payload).toMatchObject({ id: attempt.id, data: { id: accountId, status: "EXPIRED" } });
    const job = await inspect.getJob(attempt.id);
    expect(job?.name).toBe(JOBS.processWebhookEvent);
    expect(job?.data).toEqual({ webhookId: attempt.id });
  });
});
