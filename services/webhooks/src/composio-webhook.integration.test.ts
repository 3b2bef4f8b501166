import { randomBytes } from "node:crypto";
import type { PrismaClient } from "@kronos/db";
import {
  type Config,
  composioUserId,
  EventBus,
  JOBS,
  type ProcessWebhookEventJob,
  QUEUES,
  type Redis,
  signUserToken,
} from "@kronos/shared";
import {
  createTestTenant,
  deleteRedisPrefix,
  TEST_ADMIN_TOKEN,
  TEST_SESSION_SECRET,
  testConfig,
  testPrisma,
  testRedis,
  waitFor,
} from "@kronos/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { composioSign, deliver, envelope, openFeed, type Running, startApp, statusDraft } from "../test/support.js";
import type { WebhooksDeps } from "./app.js";

const SECRET = `whsec-current-${randomBytes(8).toString("hex")}`;
const PREVIOUS = `whsec-previous-${randomBytes(8).toString("hex")}`;
/** Every webhook id of this file starts with it, so that the clean-up finds them and other files never collide. */
const RUN = `msg_${randomBytes(6).toString("hex")}`;
let counter = 0;
const nextId = () => `${RUN}_${++counter}`;
const obj = (value: unknown) => (value && typeof value === "object" ? (value as Record<string, unknown>) : {});

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let running: Running;
let second: Running;
/** Reads the queue as the worker would (a Queue of its own). */
let inspect: Queue<ProcessWebhookEventJob>;
let acme: { tenantId: string; apiKey: string };
let bus: EventBus;
const logLines: string[] = [];
const responses: string[] = [];
const others: Running[] = [];

async function post(base: string, delivery: Parameters<typeof deliver>[1]) {
  const answer = await deliver(base, delivery);
  responses.push(JSON.stringify(answer.body));
  return answer;
}

const userToken = (userId: string) =>
  signUserToken({ tenantId: acme.tenantId, userId, exp: Math.floor(Date.now() / 1000) + 600 }, TEST_SESSION_SECRET);
const aliceToken = () => userToken("alice");
const bobToken = () => userToken("bob");

async function stored(id: string) {
  return prisma.webhookEvent.findUnique({ where: { id } });
}

async function jobIds(): Promise<string[]> {
  const jobs = await inspect.getJobs(["waiting", "active", "delayed", "completed", "failed", "prioritized", "paused"]);
  return jobs.map((job) => job.id as string).filter((id) => id.startsWith(RUN));
}

async function expectNothingFor(id: string) {
  expect(await stored(id)).toBeNull();
  expect(await inspect.getJob(id)).toBeUndefined();
}

async function start(overrides: Record<string, string | undefined> = {}, busOverride?: WebhooksDeps["bus"]): Promise<Running> {
  const own = { ...config, ...overrides } as Config;
  const started = await startApp({
    config: own,
    prisma,
    redis,
    logStream: { write: (line: string) => logLines.push(line) },
    ...(busOverride ? { bus: busOverride } : {}),
  });
  others.push(started);
  return started;
}

async function scrape(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(" ").at(-1));
  }
  return 0;
}

beforeAll(async () => {
  config = testConfig({ COMPOSIO_WEBHOOK_SECRET: SECRET, COMPOSIO_WEBHOOK_SECRET_PREVIOUS: PREVIOUS, LOG_LEVEL: "debug" });
  prisma = testPrisma(config);
  redis = testRedis(config);
  inspect = new Queue(QUEUES.webhookEvent, { connection: redis, prefix: config.REDIS_KEY_PREFIX });
  acme = await createTestTenant(prisma, "acme webhooks");
  bus = new EventBus(redis, config.REDIS_KEY_PREFIX, 1000);
  running = await start();
  second = await start();
});

afterAll(async () => {
  for (const app of others) await app.app.close();
  await inspect?.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await prisma.webhookEvent.deleteMany({ where: { id: { startsWith: RUN } } });
  if (acme) await prisma.tenant.delete({ where: { id: acme.tenantId } });
  await redis.quit();
  await prisma.$disconnect();
});

describe("POST /webhooks/composio: accepted deliveries", () => {
  it("stores a valid delivery, enqueues one job with the webhook id, then answers 200", async () => {
    const id = nextId();
    // A trigger message for a user of no tenant of ours: the worker takes it (and records why it ignores it).
    const payload = envelope(id, {});
    // Indented, with a unicode escape: only the raw bytes verify, never a re-serialisation.
    const body = JSON.stringify(payload, null, 2).replace('"abc123"', '"abc\\u0031\\u00323"');
    const answer = await post(running.httpBase, { id, body, secret: SECRET });
    expect(answer).toEqual({ status: 200, body: { received: true, duplicate: false } });

    const row = await stored(id);
    expect(row).toMatchObject({ id, type: "composio.trigger.message", tenantId: null, processedAt: null, outcome: null });
    expect(row?.payload).toEqual(payload);

    const job = await inspect.getJob(id);
    expect(job).toBeDefined();
    expect(job?.name).toBe(JOBS.processWebhookEvent);
    expect(job?.data).toEqual({ webhookId: id });
    expect(job?.opts.attempts).toBe(5);
    expect((await jobIds()).filter((jobId) => jobId === id)).toHaveLength(1);
  });

  it("publishes a trigger message of a known user at once: the user's socket gets it, the row is applied, no job", async () => {
    const id = nextId();
    const alice = await openFeed(running.wsBase, { token: aliceToken() });
    const bob = await openFeed(running.wsBase, { token: bobToken() });
    try {
      const payload = envelope(id, {}, composioUserId(acme.tenantId, "alice"));
      const answer = await post(running.httpBase, { id, body: JSON.stringify(payload), secret: SECRET });
      expect(answer).toEqual({ status: 200, body: { received: true, duplicate: false } });

      await waitFor(() => alice.events().some((event) => event.type === "trigger.message"));
      const event = alice.events().find((e) => e.type === "trigger.message");
      expect(event?.data).toEqual({
        trigger_slug: "GITHUB_COMMIT_EVENT",
        trigger_id: null,
        composio_trigger_id: "ti_1",
        labels: [],
        connection_id: null,
        connected_account_id: "ca_1",
        user_id: "alice",
        payload: { commit: "abc123" },
      });
      expect(await stored(id)).toMatchObject({ tenantId: acme.tenantId, outcome: "applied", processedAt: expect.any(Date) });
      expect(await inspect.getJob(id)).toBeUndefined();

      // Bob sees a sentinel published after it, and nothing of Alice's before it.
      await bus.publish(statusDraft(acme.tenantId, "bob", "sentinel"));
      await waitFor(() => bob.events().length > 0);
      expect(bob.events().map((e) => e.type)).not.toContain("trigger.message");

      // Composio delivering it again changes nothing: a duplicate, no second event, no job.
      expect(await post(running.httpBase, { id, body: JSON.stringify(payload), secret: SECRET })).toMatchObject({
        body: { duplicate: true },
      });
      await bus.publish(statusDraft(acme.tenantId, "alice", "sentinel"));
      await waitFor(() => alice.events().length >= 2);
      expect(alice.events().filter((e) => e.type === "trigger.message")).toHaveLength(1);
      expect(await inspect.getJob(id)).toBeUndefined();
    } finally {
      alice.socket.close();
      bob.socket.close();
    }
  });

  it("publishes a trigger message once when copies arrive within milliseconds on two instances: one event per id, no job", async () => {
    const alice = await openFeed(running.wsBase, { token: aliceToken() });
    try {
      const ids = Array.from({ length: 30 }, () => nextId());
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      // Four copies of each, spread over ~15 ms (the window in which the first copy's row is not yet marked applied).
      const answers = await Promise.all(
        ids.flatMap((id) =>
          [0, 3, 8, 15].map(async (delay, copy) => {
            await sleep(delay);
            const body = JSON.stringify(envelope(id, { data: { commit: id } }, composioUserId(acme.tenantId, "alice")));
            return post(copy % 2 === 0 ? running.httpBase : second.httpBase, { id, body, secret: SECRET });
          }),
        ),
      );
      expect(answers.every((a) => a.status === 200)).toBe(true);
      await waitFor(
        async () => (await prisma.webhookEvent.count({ where: { id: { in: ids }, processedAt: { not: null } } })) === ids.length,
        {
          what: "every delivery applied",
        },
      );
      await bus.publish(statusDraft(acme.tenantId, "alice", "sentinel-dup"));
      await waitFor(() => alice.events().some((e) => e.data.connection_id === "sentinel-dup"));
      const published = alice.events().filter((e) => e.type === "trigger.message" && ids.includes(String(obj(e.data.payload).commit)));
      expect(published.map((e) => obj(e.data.payload).commit).sort()).toEqual([...ids].sort());
      const jobs = await jobIds();
      expect(jobs.filter((jobId) => ids.includes(jobId))).toEqual([]);
    } finally {
      alice.socket.close();
    }
  });

  it("stores and acknowledges a payload holding NUL characters, lone surrogates and deep nesting (made storable)", async () => {
    for (const data of [
      '{"text":"a\\u0000b","\\u0000key":"\\ud800","list":["\\udc00x"]}',
      `${'{"a":'.repeat(2000)}"\\u0000"${"}".repeat(2000)}`,
    ]) {
      const id = nextId();
      const body = `{"id":"${id}","type":"composio.some.event","timestamp":"2026-11-30T00:00:00Z","data":${data}}`;
      const answer = await post(running.httpBase, { id, body, secret: SECRET });
      expect(answer, body.slice(0, 100)).toEqual({ status: 200, body: { received: true, duplicate: false } });
      const row = await stored(id);
      expect(row?.type).toBe("composio.some.event");
      expect(JSON.stringify(row?.payload)).not.toContain("\\u0000");
    }
    const id = nextId();
    await post(running.httpBase, { id, body: `{"id":"${id}","type":"t","data":{"text":"a\\u0000b"}}`, secret: SECRET });
    expect((await stored(id))?.payload).toMatchObject({ data: { text: "a\uFFFDb" } });
  });

  it("names our trigger (id, labels, connection) when the message is of a trigger made through our API", async () => {
    const id = nextId();
    const connectionId = crypto.randomUUID();
    const accountId = `ca_${connectionId.slice(0, 12)}`;
    const composioTriggerId = `ti_${connectionId.slice(0, 12)}`;
    await prisma.connection.create({
      data: {
        id: connectionId,
        tenantId: acme.tenantId,
        userId: "alice",
        toolkitSlug: "github",
        status: "ACTIVE",
        composioAccountId: accountId,
      },
    });
    const trigger = await prisma.trigger.create({
      data: {
        id: crypto.randomUUID(),
        tenantId: acme.tenantId,
        userId: "alice",
        connectionId,
        toolkitSlug: "github",
        triggerSlug: "GITHUB_COMMIT_EVENT",
        composioTriggerId,
        status: "ACTIVE",
        labels: ["ci", "team:a"],
      },
    });
    const alice = await openFeed(running.wsBase, { token: aliceToken() });
    try {
      const base = envelope(id, {}, composioUserId(acme.tenantId, "alice"));
      const payload = {
        ...base,
        metadata: { ...(base.metadata as object), trigger_id: composioTriggerId, connected_account_id: accountId },
      };
      expect(await post(running.httpBase, { id, body: JSON.stringify(payload), secret: SECRET })).toMatchObject({ status: 200 });
      await waitFor(() => alice.events().some((e) => e.type === "trigger.message" && e.data?.trigger_id === trigger.id));
      expect(alice.events().find((e) => e.type === "trigger.message")?.data).toMatchObject({
        trigger_id: trigger.id,
        composio_trigger_id: composioTriggerId,
        labels: ["ci", "team:a"],
        connection_id: connectionId,
        user_id: "alice",
      });
      expect(await inspect.getJob(id)).toBeUndefined();
    } finally {
      alice.socket.close();
      await prisma.connection.delete({ where: { id: connectionId } });
    }
  });

  it("hands a trigger message to the worker when it cannot be published here", async () => {
    const id = nextId();
    const failing = { publish: async () => Promise.reject(new Error("redis is away")) };
    const broken = await start({}, failing);
    const payload = envelope(id, {}, composioUserId(acme.tenantId, "alice"));
    expect(await post(broken.httpBase, { id, body: JSON.stringify(payload), secret: SECRET })).toMatchObject({ status: 200 });
    expect(await stored(id)).toMatchObject({ tenantId: acme.tenantId, processedAt: null });
    expect(await inspect.getJob(id)).toBeDefined();
  });

  it("accepts a header with several v1 signatures when one of them is valid", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    const now = Math.floor(Date.now() / 1000);
    const valid = composioSign(SECRET, id, now, body);
    const signature = [composioSign("not-the-secret", id, now, body), "v2,abcdef", valid, "v1,AAAA"].join(" ");
    expect(await post(running.httpBase, { id, body, signature, timestamp: now })).toMatchObject({ status: 200 });
    expect(await stored(id)).not.toBeNull();
  });

  it("stores and acknowledges an unknown event type like any other (no tenant derivable)", async () => {
    const id = nextId();
    const body = JSON.stringify({ id, timestamp: new Date().toISOString(), type: "composio.something.new", data: { whatever: 1 } });
    expect(await post(running.httpBase, { id, body, secret: SECRET })).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(await stored(id)).toMatchObject({ type: "composio.something.new", tenantId: null });
    expect(await inspect.getJob(id)).toBeDefined();
  });

  it("derives the tenant from data.user_id (an expired connected account)", async () => {
    const id = nextId();
    const body = JSON.stringify({
      id,
      timestamp: new Date().toISOString(),
      type: "composio.connected_account.expired",
      metadata: {},
      data: { id: "ca_x", status: "EXPIRED", user_id: composioUserId(acme.tenantId, "bob") },
    });
    expect(await post(running.httpBase, { id, body, secret: SECRET })).toMatchObject({ status: 200 });
    expect(await stored(id)).toMatchObject({ tenantId: acme.tenantId });
  });
});

describe("POST /webhooks/composio: refused signatures (401, no side effect)", () => {
  it("refuses a tampered body", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    const now = Math.floor(Date.now() / 1000);
    const signature = composioSign(SECRET, id, now, body);
    const tampered = body.replace("abc123", "abc124");
    const answer = await post(running.httpBase, { id, body: tampered, signature, timestamp: now });
    expect(answer).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    await expectNothingFor(id);
  });

  it("refuses a delivery signed with another secret", async () => {
    const id = nextId();
    const answer = await post(running.httpBase, { id, body: JSON.stringify(envelope(id)), secret: "some-other-secret" });
    expect(answer).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    await expectNothingFor(id);
  });

  it("refuses stale (-301 s) and future (+301 s) timestamps", async () => {
    for (const offset of [-301, 301]) {
      const id = nextId();
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      const answer = await post(running.httpBase, { id, body: JSON.stringify(envelope(id)), secret: SECRET, timestamp });
      expect(answer).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
      await expectNothingFor(id);
    }
  });

  it("refuses a delivery without signature headers", async () => {
    const id = nextId();
    const response = await fetch(`${running.httpBase}/webhooks/composio`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(envelope(id)),
    });
    expect(response.status).toBe(401);
    await expectNothingFor(id);
  });
});

describe("POST /webhooks/composio: secret rotation", () => {
  it("accepts the previous secret while it is configured, and refuses it once removed", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    expect(await post(running.httpBase, { id, body, secret: PREVIOUS })).toMatchObject({ status: 200 });
    expect(await stored(id)).not.toBeNull();

    const rotated = await start({ COMPOSIO_WEBHOOK_SECRET_PREVIOUS: undefined });
    const later = nextId();
    const refused = await post(rotated.httpBase, { id: later, body: JSON.stringify(envelope(later)), secret: PREVIOUS });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    await expectNothingFor(later);
    // The current secret still works there.
    expect(await post(rotated.httpBase, { id: later, body: JSON.stringify(envelope(later)), secret: SECRET })).toMatchObject({
      status: 200,
    });
  });

  it("answers 503 and stores nothing when no secret is configured, even for a signed delivery", async () => {
    const unconfigured = await start({ COMPOSIO_WEBHOOK_SECRET: undefined, COMPOSIO_WEBHOOK_SECRET_PREVIOUS: undefined });
    const id = nextId();
    const answer = await post(unconfigured.httpBase, { id, body: JSON.stringify(envelope(id)), secret: SECRET });
    expect(answer).toEqual({ status: 503, body: { error: { code: "UNAVAILABLE", message: "webhooks are not configured" } } });
    const unsigned = await fetch(`${unconfigured.httpBase}/webhooks/composio`, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(503);
    await expectNothingFor(id);
  });
});

describe("POST /webhooks/composio: malformed deliveries with a valid signature (400)", () => {
  it("refuses a body that is not JSON", async () => {
    const id = nextId();
    const answer = await post(running.httpBase, { id, body: `{"id":"${id}",`, secret: SECRET });
    expect(answer).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
    await expectNothingFor(id);
  });

  it("refuses envelopes without type or data, with another id, or not an object", async () => {
    const id = nextId();
    const { type: _type, ...withoutType } = envelope(id);
    const { data: _data, ...withoutData } = envelope(id);
    const bodies = [
      JSON.stringify(withoutType),
      JSON.stringify(withoutData),
      JSON.stringify(envelope(id, { type: 42 })),
      JSON.stringify(envelope(`${id}x`)),
      JSON.stringify([envelope(id)]),
      "",
    ];
    for (const body of bodies) {
      const answer = await post(running.httpBase, { id, body, secret: SECRET });
      expect(answer, body).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
    }
    await expectNothingFor(id);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id, { data: { blob: "x".repeat(1024 * 1024) } }));
    const answer = await post(running.httpBase, { id, body, secret: SECRET });
    expect(answer).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE" } } });
    await expectNothingFor(id);
  });
});

describe("POST /webhooks/composio: duplicates", () => {
  it("acknowledges a repeated delivery as a duplicate: one row, one job", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    expect(await post(running.httpBase, { id, body, secret: SECRET })).toEqual({ status: 200, body: { received: true, duplicate: false } });
    // Composio's retry: same id and body, a new timestamp and signature.
    expect(await post(running.httpBase, { id, body, secret: SECRET, timestamp: Math.floor(Date.now() / 1000) + 5 })).toEqual({
      status: 200,
      body: { received: true, duplicate: true },
    });
    expect(await prisma.webhookEvent.count({ where: { id } })).toBe(1);
    expect((await jobIds()).filter((jobId) => jobId === id)).toHaveLength(1);
  });

  it("processes 20 concurrent copies of a delivery across two instances once: one row, one job, all 200", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? running.httpBase : second.httpBase, { id, body, secret: SECRET })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(19);
    expect(await prisma.webhookEvent.count({ where: { id } })).toBe(1);
    expect((await jobIds()).filter((jobId) => jobId === id)).toHaveLength(1);
  });

  it("answers 500 when the enqueue fails after the row was stored, and the retry enqueues it", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    const add = vi.spyOn(running.app.webhookQueue, "add").mockRejectedValueOnce(new Error("Redis is unreachable"));
    try {
      const failed = await post(running.httpBase, { id, body, secret: SECRET });
      expect(failed).toEqual({ status: 500, body: { error: { code: "INTERNAL", message: "Internal server error" } } });
      expect(await stored(id)).not.toBeNull();
      expect(await inspect.getJob(id)).toBeUndefined();

      const retried = await post(running.httpBase, { id, body, secret: SECRET });
      expect(retried).toEqual({ status: 200, body: { received: true, duplicate: true } });
      expect(await inspect.getJob(id)).toBeDefined();
      expect(add).toHaveBeenCalledTimes(2);

      // Once a job exists, a further copy enqueues nothing.
      expect(await post(running.httpBase, { id, body, secret: SECRET })).toMatchObject({ status: 200, body: { duplicate: true } });
      expect(add).toHaveBeenCalledTimes(2);
      expect((await jobIds()).filter((jobId) => jobId === id)).toHaveLength(1);
    } finally {
      add.mockRestore();
    }
  });

  it("does not enqueue a copy of a delivery already processed", async () => {
    const id = nextId();
    const body = JSON.stringify(envelope(id));
    await prisma.webhookEvent.create({
      data: { id, type: "composio.trigger.message", payload: {}, processedAt: new Date(), outcome: "applied" },
    });
    expect(await post(running.httpBase, { id, body, secret: SECRET })).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(await inspect.getJob(id)).toBeUndefined();
  });
});

describe("GET /metrics", () => {
  it("requires the admin token", async () => {
    expect((await fetch(`${running.httpBase}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${running.httpBase}/metrics`, { headers: { authorization: "Bearer not-the-admin-token" } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
  });

  it("exposes the feed and webhook metrics, and counts signature failures by reason", async () => {
    const before = await scrape(running.httpBase);
    const failuresBefore = metricValue(before, "kronos_webhook_signature_failures_total", { reason: "no_match" });
    const acceptedBefore = metricValue(before, "kronos_webhooks_received_total", {
      type: "composio.trigger.message",
      outcome: "accepted",
    });

    const bad = nextId();
    expect((await post(running.httpBase, { id: bad, body: JSON.stringify(envelope(bad)), secret: "wrong" })).status).toBe(401);
    const good = nextId();
    expect((await post(running.httpBase, { id: good, body: JSON.stringify(envelope(good)), secret: SECRET })).status).toBe(200);

    const after = await scrape(running.httpBase);
    expect(metricValue(after, "kronos_webhook_signature_failures_total", { reason: "no_match" })).toBe(failuresBefore + 1);
    expect(metricValue(after, "kronos_webhooks_received_total", { type: "composio.trigger.message", outcome: "accepted" })).toBe(
      acceptedBefore + 1,
    );
    expect(after).toContain('kronos_webhook_signature_failures_total{reason="stale_timestamp"');
    expect(after).toMatch(/^kronos_ws_open_sockets\{service="webhooks"\} \d+$/m);
    expect(after).toContain("# TYPE kronos_ws_events_delivered_total counter");
    expect(after).toContain("# TYPE kronos_ws_sockets_closed_total counter");
    expect(
      metricValue(after, "kronos_http_request_duration_seconds_count", { route: "/webhooks/composio", status_code: "200" }),
    ).toBeGreaterThan(0);
    expect(after).toContain("process_cpu_user_seconds_total");
  });
});

describe("feed metrics", () => {
  it("count open sockets, delivered events and closes by code", async () => {
    const before = await scrape(second.httpBase);
    const delivered = metricValue(before, "kronos_ws_events_delivered_total", {});
    const closedNormally = metricValue(before, "kronos_ws_sockets_closed_total", { code: "1000" });

    const feed = await openFeed(second.wsBase, { apiKey: acme.apiKey });
    await bus.publish(statusDraft(acme.tenantId, "alice", "c-metrics"));
    await waitFor(() => feed.events().length === 1, { what: "the event" });
    const open = await scrape(second.httpBase);
    expect(metricValue(open, "kronos_ws_open_sockets", {})).toBe(1);
    expect(metricValue(open, "kronos_ws_events_delivered_total", {})).toBe(delivered + 1);

    feed.socket.close(1000);
    await waitFor(
      async () => metricValue(await scrape(second.httpBase), "kronos_ws_sockets_closed_total", { code: "1000" }) === closedNormally + 1,
      { what: "the close to be counted" },
    );
    expect(metricValue(await scrape(second.httpBase), "kronos_ws_open_sockets", {})).toBe(0);
  });
});

describe("shutdown", () => {
  it("answers an in-flight delivery before closing, then closes the queue", async () => {
    const closing = await start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const queue = closing.app.webhookQueue;
    const original = queue.add.bind(queue);
    const add = vi.spyOn(queue, "add").mockImplementation(async (...args) => {
      await gate;
      return original(...args);
    });
    const id = nextId();
    const answer = post(closing.httpBase, { id, body: JSON.stringify(envelope(id)), secret: SECRET });
    await waitFor(() => add.mock.calls.length === 1, { what: "the delivery to reach the enqueue" });

    let closed = false;
    const closeDone = closing.app.close().then(() => {
      closed = true;
    });
    // The app cannot finish closing while the delivery is in flight.
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(queue.closing).toBeUndefined();
    release();

    expect(await answer).toEqual({ status: 200, body: { received: true, duplicate: false } });
    await closeDone;
    expect(queue.closing).toBeDefined();
    expect(await stored(id)).not.toBeNull();
    expect(await inspect.getJob(id)).toBeDefined();
    others.splice(others.indexOf(closing), 1);
  });
});

describe("secrets", () => {
  it("never appear in a log line or a response", () => {
    expect(logLines.length).toBeGreaterThan(0);
    const everything = [...logLines, ...responses].join("\n");
    expect(everything).toContain("refused a Composio webhook");
    for (const secret of [SECRET, PREVIOUS]) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(TEST_ADMIN_TOKEN);
  });
});
