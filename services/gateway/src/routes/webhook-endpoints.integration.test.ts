import { randomUUID } from "node:crypto";
import { ALL_EVENT_TYPES, EVENT_TYPES, EventBus, type EventType, QUEUES, type TypedEventDraft } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, jobsOf, startHarness } from "../../test/harness.js";

const BASE = "/api/v1/webhook-endpoints";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };

beforeAll(async () => {
  h = await startHarness({ OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true" });
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
});
afterAll(async () => {
  await h.prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, globex.tenantId] } } });
  await h.close();
});

async function create(payload: unknown, apiKey = acme.apiKey) {
  const response = await h.inject({ method: "POST", url: BASE, headers: bearer(apiKey), payload: payload as object });
  const body = response.json();
  if (body.secret) h.secrets.push(body.secret);
  return { response, body };
}

describe("webhook endpoints", () => {
  it("creates an endpoint and shows its secret once", async () => {
    const { response, body } = await create({ url: "http://127.0.0.1:9999/hook", events: ["connection.status"], description: "ours" });
    expect(response.statusCode).toBe(201);
    expect(body).toMatchObject({ url: "http://127.0.0.1:9999/hook", events: ["connection.status"], description: "ours", enabled: true });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const stored = await h.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: body.id } });
    expect(stored.sealedSecret).not.toContain(body.secret.slice(6));
    // Reads never show it (the harness checks every response for every secret it was told).
    const one = await h.inject({ method: "GET", url: `${BASE}/${body.id}`, headers: bearer(acme.apiKey) });
    expect(one.json()).not.toHaveProperty("secret");
    const list = await h.inject({ method: "GET", url: BASE, headers: bearer(acme.apiKey) });
    expect(list.json().items.map((e: { id: string }) => e.id)).toContain(body.id);
  });

  it("changes, disables, enables, rotates and deletes", async () => {
    const { body } = await create({ url: "http://127.0.0.1:9999/a" });
    const id = body.id as string;
    const patched = await h.inject({
      method: "PATCH",
      url: `${BASE}/${id}`,
      headers: bearer(acme.apiKey),
      payload: { events: ["bulk.completed"] },
    });
    expect(patched.json()).toMatchObject({ events: ["bulk.completed"], url: "http://127.0.0.1:9999/a" });
    const disabled = await h.inject({ method: "POST", url: `${BASE}/${id}/disable`, headers: bearer(acme.apiKey) });
    expect(disabled.json()).toMatchObject({ enabled: false });
    const enabled = await h.inject({ method: "POST", url: `${BASE}/${id}/enable`, headers: bearer(acme.apiKey) });
    expect(enabled.json()).toMatchObject({ enabled: true, disabled_reason: null });
    const rotated = await h.inject({ method: "POST", url: `${BASE}/${id}/rotate-secret`, headers: bearer(acme.apiKey) });
    h.secrets.push(rotated.json().secret);
    expect(rotated.json().secret).not.toBe(body.secret);
    expect(Date.parse(rotated.json().previous_secret_expires_at)).toBeGreaterThan(Date.now());
    const row = await h.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(row.previousSealedSecret).not.toBeNull();
    expect((await h.inject({ method: "DELETE", url: `${BASE}/${id}`, headers: bearer(acme.apiKey) })).statusCode).toBe(204);
    expect((await h.inject({ method: "GET", url: `${BASE}/${id}`, headers: bearer(acme.apiKey) })).statusCode).toBe(404);
  });

  it("answers 404 for another tenant's endpoint, whatever the route", async () => {
    const { body } = await create({ url: "http://127.0.0.1:9999/b" });
    for (const [method, path] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", "/enable"],
      ["POST", "/disable"],
      ["POST", "/rotate-secret"],
      ["GET", "/deliveries"],
      ["POST", "/replay"],
      ["POST", `/deliveries/${randomUUID()}/retry`],
    ] as const) {
      const payload = method === "PATCH" ? { description: "x" } : path === "/replay" ? { since: "0-0" } : undefined;
      const response = await h.inject({
        method,
        url: `${BASE}/${body.id}${path}`,
        headers: bearer(globex.apiKey),
        ...(payload ? { payload } : {}),
      });
      expect(response.statusCode, `${method} ${path}`).toBe(404);
    }
  });

  it("refuses bad URLs and cloud metadata in any spelling, even when private addresses are allowed", async () => {
    for (const url of [
      "not a url",
      "ftp://example.com/x",
      "http://user:pass@127.0.0.1/x",
      "http://169.254.169.254/latest/meta-data",
      "http://2852039166/",
      "http://0xA9FEA9FE/",
      "http://0251.0376.0251.0376/",
      "http://169.254.43518/",
      "http://[::ffff:169.254.169.254]/",
      "http://[::ffff:a9fe:a9fe]/",
      "http://[fd00:ec2::254]/",
      "http://[64:ff9b::a9fe:a9fe]/",
      "http://no-such-host.invalid/",
    ]) {
      const { response, body } = await create({ url });
      expect(response.statusCode, url).toBe(400);
      expect(body.error.details[0].field, url).toBe("body.url");
    }
  });

  it("refuses private addresses unless allowed, and http in production", async () => {
    const strict = await h.sibling({ OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "false" });
    for (const url of ["http://127.0.0.1:8080/", "http://localhost/", "http://10.1.2.3/", "http://[::1]/", "http://169.254.1.1/"]) {
      const response = await strict.inject({ method: "POST", url: BASE, headers: bearer(acme.apiKey), payload: { url } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error.details[0].message, url).toMatch(/private/);
    }
    const production = await h.sibling({ NODE_ENV: "production", OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true" });
    const http = await production.inject({
      method: "POST",
      url: BASE,
      headers: bearer(acme.apiKey),
      payload: { url: "http://127.0.0.1/" },
    });
    expect(http.json().error.details[0].message).toBe("the URL must be https");
  });

  it("refuses an unknown event type, listing the valid ones", async () => {
    const { response, body } = await create({ url: "http://127.0.0.1:9999/c", events: ["connection.status", "nope"] });
    expect(response.statusCode).toBe(400);
    const message = JSON.stringify(body.error.details);
    for (const type of ALL_EVENT_TYPES) expect(message).toContain(type);
  });

  it("answers 4xx, never 500, to hostile input", async () => {
    const deep = `${'{"url":'.repeat(5_000)}"x"${"}".repeat(5_000)}`;
    const bodies: unknown[] = [
      { url: "http://127.0.0.1/\u0000" },
      { url: "http://127.0.0.1/\ud800" },
      { url: "\ud800" },
      { url: `http://${"a".repeat(3_000)}.com/` },
      { url: 42 },
      { url: "http://127.0.0.1/", events: "connection.status" },
      { url: "http://127.0.0.1/", events: [{}] },
      { url: "http://127.0.0.1/", description: "d".repeat(1_000) },
      { url: "http://127.0.0.1/", description: "nul \u0000 here" },
      { url: "http://127.0.0.1/", description: "\udc00" },
      { url: "http://127.0.0.1/", extra: true },
      [],
      null,
    ];
    for (const text of [...bodies.map((body) => JSON.stringify(body)), deep]) {
      const response = await h.inject({
        method: "POST",
        url: BASE,
        headers: { ...bearer(acme.apiKey), "content-type": "application/json" },
        payload: text,
      });
      expect(response.statusCode, text.slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
    }
    for (const url of [
      `${BASE}/%00`,
      `${BASE}/%ED%A0%80`,
      `${BASE}/not-a-uuid/deliveries?cursor=%00`,
      `${BASE}?limit=-1`,
      `${BASE}?cursor=%FF`,
    ]) {
      const response = await h.inject({ method: "GET", url, headers: bearer(acme.apiKey) });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
    }
  });

  it("lists deliveries a page at a time, retries one, and replays the tenant's stream", async () => {
    const { body } = await create({ url: "http://127.0.0.1:9999/log", events: [EVENT_TYPES.bulkCompleted] });
    const id = body.id as string;
    // Events in the tenant's stream (published without the outbox: only the replay records them).
    // Made-up data marked by `n`: the replay forwards data as it is, so its shape does not matter here.
    const bus = new EventBus(h.redis, h.config.REDIS_KEY_PREFIX, 1_000);
    const publish = (type: EventType, n: number) =>
      bus.publish({ type, tenantId: acme.tenantId, userId: null, data: { n } } as unknown as TypedEventDraft);
    const first = await publish(EVENT_TYPES.bulkCompleted, 0);
    await publish(EVENT_TYPES.connectionStatus, 1);
    for (let n = 2; n < 5; n += 1) await publish(EVENT_TYPES.bulkCompleted, n);

    const replay = await h.inject({
      method: "POST",
      url: `${BASE}/${id}/replay`,
      headers: bearer(acme.apiKey),
      payload: { since: first.id },
    });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual({ replayed: 3 });
    const all = await h.inject({ method: "POST", url: `${BASE}/${id}/replay`, headers: bearer(acme.apiKey), payload: { since: "0-0" } });
    expect(all.json()).toEqual({ replayed: 4 });

    const page1 = (await h.inject({ method: "GET", url: `${BASE}/${id}/deliveries?limit=3`, headers: bearer(acme.apiKey) })).json();
    expect(page1.items).toHaveLength(3);
    const page2 = (
      await h.inject({ method: "GET", url: `${BASE}/${id}/deliveries?limit=3&cursor=${page1.next_cursor}`, headers: bearer(acme.apiKey) })
    ).json();
    expect(page2.items).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
    const delivery = page1.items[0];
    expect(delivery).toMatchObject({ event_type: "bulk.completed", status: "PENDING", attempts: 0 });

    await h.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { status: "FAILED", attempts: 8 } });
    const retried = await h.inject({ method: "POST", url: `${BASE}/${id}/deliveries/${delivery.id}/retry`, headers: bearer(acme.apiKey) });
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ id: delivery.id, status: "PENDING", attempts: 0 });
    const queue = jobsOf(h.config, h.redis, QUEUES.webhookDelivery);
    expect(await queue.getJob(delivery.id)).toBeDefined();
    expect(await queue.count()).toBe(4);
    await queue.close();
    const missing = await h.inject({ method: "POST", url: `${BASE}/${id}/deliveries/${randomUUID()}/retry`, headers: bearer(acme.apiKey) });
    expect(missing.statusCode).toBe(404);
  });
});
