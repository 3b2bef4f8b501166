import { randomUUID } from "node:crypto";
import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { encodeJobFailure, QUEUES, type TriggerOpJob } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

const BASE = "/api/v1/composio/triggers";

let emulator: RunningEmulator;
let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
let worker: { close(): Promise<void> };

/** Behaves like the real trigger-ops worker (tested on its own against the emulator): changes the row, answers the result. */
async function behave(job: Job<TriggerOpJob>) {
  const { triggerId, op, tenantId } = job.data;
  const row = await h.prisma.trigger.findFirst({ where: { id: triggerId, tenantId } });
  if (!row) throw new UnrecoverableError(encodeJobFailure({ code: "NOT_FOUND", message: "Trigger not found" }));
  if (row.labels.includes("fail")) {
    if (op === "create") await h.prisma.trigger.update({ where: { id: triggerId }, data: { status: "FAILED", statusReason: "no" } });
    throw new UnrecoverableError(encodeJobFailure({ code: "BAD_REQUEST", message: "Composio rejected the request" }));
  }
  if (op === "delete") {
    await h.prisma.trigger.delete({ where: { id: triggerId } });
    return { trigger_id: triggerId, status: null };
  }
  const data: Record<string, unknown> = {};
  if (op === "create") Object.assign(data, { status: "ACTIVE", composioTriggerId: `ti_${triggerId.slice(0, 8)}` });
  if (op === "enable") data.status = "ACTIVE";
  if (op === "disable") data.status = "DISABLED";
  if (job.data.op === "update") {
    if (job.data.config) data.config = job.data.config;
    if (job.data.labels) data.labels = job.data.labels;
  }
  const updated = await h.prisma.trigger.update({ where: { id: triggerId }, data });
  return { trigger_id: triggerId, status: updated.status };
}

async function connection(tenantId: string, userId: string, toolkit = "github", status: "ACTIVE" | "EXPIRED" = "ACTIVE") {
  const id = randomUUID();
  await h.prisma.connection.create({ data: { id, tenantId, userId, toolkitSlug: toolkit, status, composioAccountId: `ca_${id}` } });
  return id;
}

const post = (payload: unknown, key = acme.apiKey) =>
  h.inject({ method: "POST", url: BASE, headers: bearer(key), payload: payload as object });
const GOOD = { trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "kronos", repo: "connect" } };
const jobs = () => countJobs(h.config, h.redis, QUEUES.triggerOps);

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey, emulator.apiKey);
  worker = startFakeWorker(h.config, QUEUES.triggerOps, behave);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
  await emulator?.close();
});

describe("trigger types", () => {
  it("lists a toolkit's types and gets one with its config schema, cached like the catalogue", async () => {
    const list = await h.inject({ method: "GET", url: `${BASE}/types?toolkit=GitHub`, headers: bearer(acme.apiKey) });
    expect(list.statusCode).toBe(200);
    expect(list.headers["x-cache"]).toBe("miss");
    expect(
      list
        .json()
        .items.map((t: { slug: string }) => t.slug)
        .sort(),
    ).toEqual(["GITHUB_COMMIT_EVENT", "GITHUB_STAR_ADDED_EVENT"]);
    expect((await h.inject({ method: "GET", url: `${BASE}/types?toolkit=github`, headers: bearer(acme.apiKey) })).headers["x-cache"]).toBe(
      "hit",
    );
    const all = await h.inject({ method: "GET", url: `${BASE}/types?limit=2`, headers: bearer(acme.apiKey) });
    expect(all.json()).toMatchObject({ items: [{}, {}], next_cursor: expect.any(String) });

    const one = await h.inject({ method: "GET", url: `${BASE}/types/github_commit_event`, headers: bearer(acme.apiKey) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      slug: "GITHUB_COMMIT_EVENT",
      toolkit: "github",
      type: "webhook",
      config: { type: "object", required: ["owner", "repo"], properties: { owner: { type: "string" } } },
      payload: { type: "object" },
      cache: { stale: false },
    });
    const user = await userToken(h, acme.apiKey, "alice");
    expect((await h.inject({ method: "GET", url: `${BASE}/types/GITHUB_COMMIT_EVENT`, headers: bearer(user) })).statusCode).toBe(200);
  });

  it("refuses an unknown slug (404), a malformed one (400) and no credential (401)", async () => {
    const unknown = await h.inject({ method: "GET", url: `${BASE}/types/GITHUB_NO_SUCH_THING`, headers: bearer(acme.apiKey) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("NOT_FOUND");
    for (const slug of ["bad-slug", "a%00b", "%ED%A0%80", "%F0%9F%98%80"]) {
      const bad = await h.inject({ method: "GET", url: `${BASE}/types/${slug}`, headers: bearer(acme.apiKey) });
      expect(bad.statusCode, slug).toBe(400);
    }
    // Longer than a path parameter may be: refused by the router (414), never a 5xx.
    expect((await h.inject({ method: "GET", url: `${BASE}/types/${"X".repeat(300)}`, headers: bearer(acme.apiKey) })).statusCode).toBe(414);
    expect((await h.inject({ method: "GET", url: `${BASE}/types?toolkit=a%00b`, headers: bearer(acme.apiKey) })).statusCode).toBe(400);
    expect((await h.inject({ method: "GET", url: `${BASE}/types` })).statusCode).toBe(401);
  });
});

describe("POST /triggers", () => {
  it("creates on the user's ACTIVE connection of the toolkit: 201 ACTIVE, with labels", async () => {
    await connection(acme.tenantId, "alice", "github", "EXPIRED");
    const active = await connection(acme.tenantId, "alice");
    const response = await post({ user_id: "alice", ...GOOD, labels: ["ci", "ci", "team:a"] });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      trigger_id: expect.any(String),
      user_id: "alice",
      toolkit: "github",
      trigger_slug: "GITHUB_COMMIT_EVENT",
      connection_id: active,
      composio_trigger_id: expect.stringMatching(/^ti_/),
      status: "ACTIVE",
      config: GOOD.config,
      labels: ["ci", "team:a"],
    });
  });

  it("uses the given connection; refuses a second trigger of the same type on it (409)", async () => {
    const chosen = await connection(acme.tenantId, "dora");
    await connection(acme.tenantId, "dora");
    const response = await post({ user_id: "dora", connection_id: chosen, ...GOOD });
    expect(response.statusCode).toBe(201);
    expect(response.json().connection_id).toBe(chosen);
    const twin = await post({ user_id: "dora", connection_id: chosen, ...GOOD });
    expect(twin.statusCode).toBe(409);
    expect(twin.json().error.message).toContain(response.json().trigger_id);
  });

  it("refuses a config that does not match the type's schema, naming the field, and queues nothing", async () => {
    await connection(acme.tenantId, "erin");
    const before = await jobs();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ owner: "kronos" }, "body.config.repo"],
      [{ owner: "kronos", repo: 42 }, "body.config.repo"],
      [{}, "body.config.owner"],
    ];
    for (const [config, field] of cases) {
      const response = await post({ user_id: "erin", trigger_slug: "GITHUB_COMMIT_EVENT", config });
      expect(response.statusCode, JSON.stringify(config)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
      expect(response.json().error.details).toContainEqual({ field, message: expect.any(String) });
      expect(response.json().error.message).toContain(field);
    }
    await connection(acme.tenantId, "erin", "linear");
    const priority = await post({
      user_id: "erin",
      trigger_slug: "LINEAR_ISSUE_CREATED_TRIGGER",
      config: { team_id: "t", priority: "whenever" },
    });
    expect(priority.json().error.details).toContainEqual({ field: "body.config.priority", message: expect.any(String) });
    expect(await jobs()).toBe(before);
    expect(await h.prisma.trigger.count({ where: { userId: "erin" } })).toBe(0);
  });

  it("refuses an unknown type (404), a missing or unusable connection (404/409/400), another user's connection (404)", async () => {
    const before = await jobs();
    const unknown = await post({ user_id: "frank", trigger_slug: "GITHUB_NO_SUCH_TRIGGER", config: {} });
    expect(unknown.statusCode).toBe(404);
    const none = await post({ user_id: "frank", ...GOOD });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.message).toContain("no ACTIVE github connection");
    const expired = await connection(acme.tenantId, "frank", "github", "EXPIRED");
    expect((await post({ user_id: "frank", connection_id: expired, ...GOOD })).statusCode).toBe(409);
    const slack = await connection(acme.tenantId, "frank", "slack");
    const wrongToolkit = await post({ user_id: "frank", connection_id: slack, ...GOOD });
    expect(wrongToolkit.statusCode).toBe(400);
    expect(wrongToolkit.json().error.details).toEqual([{ field: "body.connection_id", message: expect.any(String) }]);
    const someoneElses = await connection(acme.tenantId, "gina");
    expect((await post({ user_id: "frank", connection_id: someoneElses, ...GOOD })).statusCode).toBe(404);
    const foreign = await connection(globex.tenantId, "frank");
    expect((await post({ user_id: "frank", connection_id: foreign, ...GOOD })).statusCode).toBe(404);
    expect(await jobs()).toBe(before);
  });

  it("a user token acts for its own user only", async () => {
    await connection(acme.tenantId, "hana");
    const hana = await userToken(h, acme.apiKey, "hana");
    expect((await post({ user_id: "ivan", ...GOOD }, hana)).statusCode).toBe(403);
    expect((await post({ user_id: "hana", ...GOOD }, hana)).statusCode).toBe(201);
  });

  it("fuzz: bad bodies are 4xx, never 5xx, and queue nothing", async () => {
    await connection(acme.tenantId, "fuzz");
    const before = await jobs();
    let deep: unknown = "x";
    for (let i = 0; i < 50; i++) deep = { d: deep };
    let veryDeep = "1";
    for (let i = 0; i < 5_000; i++) veryDeep = `[${veryDeep}]`;
    const bodies: unknown[] = [
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "a\u0000b", repo: "r" } },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "\ud800", repo: "r" } },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "o", repo: "r", "k\u0000": 1 } },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "o", repo: "r", deep } },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "o", repo: "r", big: "x".repeat(20_000) } },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: [1, 2] },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT", config: "owner" },
      { user_id: "fuzz", trigger_slug: "GITHUB_COMMIT_EVENT\u0000", config: {} },
      { user_id: "fu\u0000zz", ...GOOD },
      { user_id: "fuzz", trigger_slug: 42, config: {} },
      { user_id: "fuzz", ...GOOD, labels: ["bad label"] },
      { user_id: "fuzz", ...GOOD, connection_id: "not-a-uuid" },
      { user_id: "fuzz", ...GOOD, extra: true },
      { ...GOOD },
      [],
      null,
    ];
    for (const body of bodies) {
      const response = await post(body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 200)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, JSON.stringify(body).slice(0, 200)).toBeLessThan(500);
      expect(response.json().error.code).toEqual(expect.any(String));
    }
    for (const raw of [
      `{"user_id":"fuzz","trigger_slug":"GITHUB_COMMIT_EVENT","config":{"owner":"\\ud800","repo":"r"}}`,
      `{"user_id":"fuzz","trigger_slug":"GITHUB_COMMIT_EVENT","config":{"owner":${veryDeep},"repo":"r"}}`,
      `{"user_id":"fuzz","trigger_slug":"GITHUB_COMMIT_EVENT","config":{"owner":"o"`,
    ]) {
      const response = await h.inject({
        method: "POST",
        url: BASE,
        headers: { ...bearer(acme.apiKey), "content-type": "application/json" },
        payload: raw,
      });
      expect(response.statusCode, raw.slice(0, 120)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, raw.slice(0, 120)).toBeLessThan(500);
    }
    expect(await jobs()).toBe(before);
    expect(await h.prisma.trigger.count({ where: { userId: "fuzz" } })).toBe(0);
  });

  it("a worker failure is the job's error; 202 with a poll_url when the worker is slower than CONNECT_WAIT_MS", async () => {
    await connection(acme.tenantId, "jack");
    const failed = await post({ user_id: "jack", ...GOOD, labels: ["fail"] });
    expect(failed.statusCode).toBe(400);
    expect(failed.json()).toEqual({ error: { code: "BAD_REQUEST", message: "Composio rejected the request" } });
    expect(await h.prisma.trigger.findFirst({ where: { userId: "jack" } })).toMatchObject({ status: "FAILED" });

    const slow = await h.sibling({ CONNECT_WAIT_MS: "0" });
    await connection(acme.tenantId, "kate");
    const accepted = await slow.inject({ method: "POST", url: BASE, headers: bearer(acme.apiKey), payload: { user_id: "kate", ...GOOD } });
    expect(accepted.statusCode).toBe(202);
    const { trigger_id: id } = accepted.json();
    expect(accepted.json()).toEqual({ trigger_id: id, op: "create", status: "PENDING", poll_url: `${BASE}/${id}` });
    const polled = await h.inject({ method: "GET", url: `${BASE}/${id}`, headers: bearer(acme.apiKey) });
    expect(polled.statusCode).toBe(200);
    expect(["PENDING", "ACTIVE"]).toContain(polled.json().status);
  });
});

describe("reading and changing triggers", () => {
  async function trigger(
    tenant: { apiKey: string; tenantId: string },
    userId: string,
    labels: string[] = [],
    slug = "GITHUB_COMMIT_EVENT",
  ) {
    const toolkit = slug.startsWith("SLACK") ? "slack" : "github";
    const connectionId = await connection(tenant.tenantId, userId, toolkit);
    const config = toolkit === "github" ? GOOD.config : {};
    const response = await post({ user_id: userId, trigger_slug: slug, connection_id: connectionId, config, labels }, tenant.apiKey);
    expect(response.statusCode).toBe(201);
    return response.json().trigger_id as string;
  }

  it("lists with filters (user, toolkit, status, label) and a cursor; a user token sees its own only", async () => {
    const a1 = await trigger(acme, "lena", ["prod"]);
    const a2 = await trigger(acme, "lena", [], "SLACK_RECEIVE_MESSAGE");
    const m1 = await trigger(acme, "mo", ["prod"]);
    await trigger(globex, "lena", ["prod"]);
    const list = (query: string, key = acme.apiKey) => h.inject({ method: "GET", url: `${BASE}?${query}`, headers: bearer(key) });
    const ids = async (query: string, key?: string) =>
      (await list(query, key)).json().items.map((t: { trigger_id: string }) => t.trigger_id);
    expect(await ids("user_id=lena")).toEqual([a2, a1]);
    expect(await ids("user_id=lena&toolkit=slack")).toEqual([a2]);
    expect(await ids("label=prod&limit=200")).toEqual(expect.arrayContaining([a1, m1]));
    expect(await ids("label=prod&limit=200")).not.toContain(a2);
    expect(await ids("user_id=lena&status=DISABLED")).toEqual([]);
    const first = (await list("user_id=lena&limit=1")).json();
    expect(first.items.map((t: { trigger_id: string }) => t.trigger_id)).toEqual([a2]);
    expect(await ids(`user_id=lena&limit=1&cursor=${first.next_cursor}`)).toEqual([a1]);
    const lena = await userToken(h, acme.apiKey, "lena");
    expect(await ids("", lena)).toEqual([a2, a1]);
    expect((await list("user_id=mo", lena)).statusCode).toBe(403);
    for (const query of ["status=NOPE", "cursor=bm9wZQ", "limit=0", "label=a%00b", "user_id=%ED%A0%80"]) {
      expect((await list(query)).statusCode, query).toBe(400);
    }
  });

  it("gets, disables, enables, updates (config checked again, labels) and deletes", async () => {
    const id = await trigger(acme, "nina", ["a"]);
    const url = `${BASE}/${id}`;
    const got = await h.inject({ method: "GET", url, headers: bearer(acme.apiKey) });
    expect(got.json()).toMatchObject({ trigger_id: id, status: "ACTIVE", labels: ["a"] });
    const disabled = await h.inject({ method: "POST", url: `${url}/disable`, headers: bearer(acme.apiKey) });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json().status).toBe("DISABLED");
    expect((await h.inject({ method: "POST", url: `${url}/enable`, headers: bearer(acme.apiKey) })).json().status).toBe("ACTIVE");

    const updated = await h.inject({
      method: "PUT",
      url,
      headers: bearer(acme.apiKey),
      payload: { config: { owner: "kronos", repo: "chat" }, labels: ["b"] },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ config: { owner: "kronos", repo: "chat" }, labels: ["b"] });
    const before = await jobs();
    for (const payload of [
      {},
      { config: { owner: "kronos" } },
      { labels: "b" },
      { config: { owner: "o", repo: "\u0000" } },
      { other: 1 },
    ]) {
      const bad = await h.inject({ method: "PUT", url, headers: bearer(acme.apiKey), payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const missingRepo = await h.inject({ method: "PUT", url, headers: bearer(acme.apiKey), payload: { config: { owner: "kronos" } } });
    expect(missingRepo.json().error.details).toContainEqual({ field: "body.config.repo", message: expect.any(String) });
    expect(await jobs()).toBe(before);

    expect((await h.inject({ method: "DELETE", url, headers: bearer(acme.apiKey) })).statusCode).toBe(204);
    expect((await h.inject({ method: "GET", url, headers: bearer(acme.apiKey) })).statusCode).toBe(404);
  });

  it("another tenant's or another user's trigger is 404 on every route, and nothing is queued", async () => {
    const foreign = await trigger(globex, "olga");
    const bobs = await trigger(acme, "bob");
    const olga = await userToken(h, acme.apiKey, "olga");
    const before = await jobs();
    const attempts = [
      { key: acme.apiKey, id: foreign },
      { key: olga, id: bobs },
      { key: acme.apiKey, id: randomUUID() },
    ];
    for (const { key, id } of attempts) {
      for (const [method, suffix, payload] of [
        ["GET", "", undefined],
        ["POST", "/enable", undefined],
        ["POST", "/disable", undefined],
        ["PUT", "", { labels: ["x"] }],
        ["DELETE", "", undefined],
      ] as const) {
        const response = await h.inject({ method, url: `${BASE}/${id}${suffix}`, headers: bearer(key), ...(payload ? { payload } : {}) });
        expect(response.statusCode, `${method} ${suffix}`).toBe(404);
      }
    }
    expect((await h.inject({ method: "GET", url: `${BASE}/not-a-uuid`, headers: bearer(acme.apiKey) })).statusCode).toBe(400);
    expect(await jobs()).toBe(before);
    expect(await h.prisma.trigger.findUnique({ where: { id: foreign } })).toMatchObject({ status: "ACTIVE" });
  });
});
