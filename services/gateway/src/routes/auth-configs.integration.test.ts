import { randomUUID } from "node:crypto";
import { type AuthConfigJob, encodeJobFailure, openJobSecret, QUEUES } from "@kronos/shared";
import { createTestTenant, TEST_SESSION_SECRET } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

const BASE = "/api/v1/composio/auth-configs";
const CLIENT_SECRET = "very-secret-client-secret-42";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
let worker: { close(): Promise<void> };
/** What the fake worker saw in its jobs, as stored in Redis. */
const seen: { raw: string; opened: unknown }[] = [];

/** Behaves like the real auth-config worker: persists the row, never the credentials. */
async function behave(job: Job<AuthConfigJob>) {
  const data = job.data;
  seen.push({
    raw: JSON.stringify(data),
    opened: "sealedCredentials" in data && data.sealedCredentials ? openJobSecret(data.sealedCredentials, TEST_SESSION_SECRET) : null,
  });
  if ("name" in data && data.name === "explode")
    throw new UnrecoverableError(encodeJobFailure({ code: "UPSTREAM_ERROR", message: "Composio refused the config" }));
  if (data.op === "create") {
    const id = `ac_${randomUUID().slice(0, 12)}`;
    await h.prisma.authConfig.create({
      data: {
        id,
        tenantId: data.tenantId,
        toolkitSlug: data.toolkit ?? "",
        name: data.name ?? "",
        authScheme: data.authScheme ?? "",
        isComposioManaged: false,
      },
    });
    return { auth_config_id: id, deleted: false };
  }
  const id = data.authConfigId as string;
  if (data.op === "delete") {
    await h.prisma.authConfig.delete({ where: { id } });
    return { auth_config_id: id, deleted: true };
  }
  if (data.op === "update" && data.name) await h.prisma.authConfig.update({ where: { id }, data: { name: data.name } });
  if (data.op === "set_enabled") await h.prisma.authConfig.update({ where: { id }, data: { enabled: data.enabled ?? true } });
  return { auth_config_id: id, deleted: false };
}

async function seedConfig(tenantId: string, id: string, name: string, toolkit: string, managed: boolean, enabled: boolean, minute: number) {
  await h.prisma.authConfig.create({
    data: {
      id,
      tenantId,
      name,
      toolkitSlug: toolkit,
      authScheme: "OAUTH2",
      isComposioManaged: managed,
      enabled,
      createdAt: new Date(Date.UTC(2026, 10, 24, 8, minute)),
    },
  });
}

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey, CLIENT_SECRET);
  worker = startFakeWorker(h.config, QUEUES.authConfig, behave);
  const suffix = acme.tenantId.slice(0, 8);
  await seedConfig(acme.tenantId, `ac_gh_managed_${suffix}`, "GitHub (managed)", "github", true, true, 1);
  await seedConfig(acme.tenantId, `ac_gh_custom_${suffix}`, "Acme GitHub App", "github", false, true, 2);
  await seedConfig(acme.tenantId, `ac_gm_custom_${suffix}`, "Acme Gmail", "gmail", false, false, 3);
  await seedConfig(acme.tenantId, `ac_sl_custom_${suffix}`, "Team Slack", "slack", false, true, 4);
  await seedConfig(globex.tenantId, `ac_globex_${suffix}`, "Globex GitHub", "github", false, true, 5);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const names = (body: { items: { name: string }[] }) => body.items.map((item) => item.name);
const list = async (query = "", key = acme.apiKey) => h.inject({ method: "GET", url: `${BASE}${query}`, headers: bearer(key) });

describe("GET /auth-configs", () => {
  it("lists the tenant's enabled configs, newest first, as views", async () => {
    const response = await list();
    expect(response.statusCode).toBe(200);
    expect(names(response.json())).toEqual(["Team Slack", "Acme GitHub App", "GitHub (managed)"]);
    expect(response.json().items[0]).toEqual({
      id: expect.stringMatching(/^ac_sl_custom_/),
      name: "Team Slack",
      toolkit_slug: "slack",
      auth_scheme: "OAUTH2",
      is_composio_managed: false,
      enabled: true,
      created_at: "2026-11-24T08:04:00.000Z",
      updated_at: expect.any(String),
    });
  });

  it("applies each filter", async () => {
    expect(names((await list("?show_disabled=true")).json())).toEqual(["Team Slack", "Acme Gmail", "Acme GitHub App", "GitHub (managed)"]);
    expect(names((await list("?is_composio_managed=true")).json())).toEqual(["GitHub (managed)"]);
    expect(names((await list("?is_composio_managed=false&show_disabled=true")).json())).toHaveLength(3);
    expect(names((await list("?toolkit_slug=GitHub")).json())).toEqual(["Acme GitHub App", "GitHub (managed)"]);
    expect(names((await list("?search=acme")).json())).toEqual(["Acme GitHub App"]);
    expect(names((await list("?search=ACME&show_disabled=1")).json())).toEqual(["Acme Gmail", "Acme GitHub App"]);
  });

  it("pages to the end", async () => {
    const seenNames: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const body: { items: { name: string; slug: string }[]; next_cursor: string | null } = (
        await list(`?limit=3&show_disabled=true${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      seenNames.push(...names(body));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seenNames).toEqual(["Team Slack", "Acme Gmail", "Acme GitHub App", "GitHub (managed)"]);
  });

  it("rejects bad queries and user tokens", async () => {
    for (const query of ["?limit=0", "?cursor=garbage", "?show_disabled=maybe", "?toolkit_slug=a%20b"]) {
      const response = await list(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    const alice = await userToken(h, acme.apiKey, "alice");
    expect((await list("", alice)).statusCode).toBe(403);
    expect((await list()).statusCode).toBe(200);
    expect((await h.inject({ method: "GET", url: BASE })).statusCode).toBe(401);
  });

  it("answers one config, and 404 for another tenant's", async () => {
    const id = `ac_gh_custom_${acme.tenantId.slice(0, 8)}`;
    expect((await list(`/${id}`)).json()).toMatchObject({ id, name: "Acme GitHub App" });
    expect((await list(`/ac_globex_${acme.tenantId.slice(0, 8)}`)).statusCode).toBe(404);
  });
});

describe("changing auth configs", () => {
  const credentials = { client_id: "client-1", client_secret: CLIENT_SECRET, scopes: ["repo"] };

  it("creates through the worker, with the credentials sealed, and answers the stored row", async () => {
    const before = seen.length;
    const response = await h.inject({
      method: "POST",
      url: BASE,
      headers: bearer(acme.apiKey),
      payload: { name: "New GitHub", toolkit_slug: "GitHub", auth_scheme: "oauth2", credentials },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      name: "New GitHub",
      toolkit_slug: "github",
      auth_scheme: "OAUTH2",
      enabled: true,
      is_composio_managed: false,
    });
    const job = seen.slice(before)[0];
    expect(job?.raw).not.toContain(CLIENT_SECRET);
    expect(job?.raw).not.toContain("client-1");
    expect(job?.opened).toEqual(credentials);
    // The job is gone: nothing sealed lingers in Redis.
    expect(await countJobs(h.config, h.redis, QUEUES.authConfig)).toBe(0);
  });

  it("updates, disables, enables and deletes", async () => {
    const created = (
      await h.inject({
        method: "POST",
        url: BASE,
        headers: bearer(acme.apiKey),
        payload: { name: "Temp", toolkit_slug: "notion", auth_scheme: "OAUTH2", credentials },
      })
    ).json();
    const url = `${BASE}/${created.id}`;
    const renamed = await h.inject({ method: "PUT", url, headers: bearer(acme.apiKey), payload: { name: "Renamed", credentials } });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ id: created.id, name: "Renamed" });
    const disabled = await h.inject({ method: "POST", url: `${url}/disable`, headers: bearer(acme.apiKey) });
    expect(disabled.json()).toMatchObject({ enabled: false });
    const enabled = await h.inject({ method: "POST", url: `${url}/enable`, headers: bearer(acme.apiKey) });
    expect(enabled.json()).toMatchObject({ enabled: true });
    const deleted = await h.inject({ method: "DELETE", url, headers: bearer(acme.apiKey) });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe("");
    expect(await h.prisma.authConfig.findUnique({ where: { id: created.id } })).toBeNull();
  });

  it("turns a worker failure into its error", async () => {
    const response = await h.inject({
      method: "POST",
      url: BASE,
      headers: bearer(acme.apiKey),
      payload: { name: "explode", toolkit_slug: "github", auth_scheme: "OAUTH2", credentials },
    });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toEqual({ error: { code: "UPSTREAM_ERROR", message: "Composio refused the config" } });
  });

  it("rejects bad bodies, enqueuing nothing", async () => {
    const bodies = [
      {},
      { name: "x", toolkit_slug: "github", auth_scheme: "OAUTH2", credentials: { client_id: "a" } },
      { name: "", toolkit_slug: "github", auth_scheme: "OAUTH2", credentials },
      { name: "x", toolkit_slug: "git hub", auth_scheme: "OAUTH2", credentials },
      { name: "x", toolkit_slug: "github", auth_scheme: "OAUTH2", credentials, extra: 1 },
    ];
    const before = seen.length;
    for (const payload of bodies) {
      const response = await h.inject({ method: "POST", url: BASE, headers: bearer(acme.apiKey), payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    const id = `ac_gh_custom_${acme.tenantId.slice(0, 8)}`;
    const empty = await h.inject({ method: "PUT", url: `${BASE}/${id}`, headers: bearer(acme.apiKey), payload: {} });
    expect(empty.statusCode).toBe(400);
    const managed = await h.inject({
      method: "PUT",
      url: `${BASE}/ac_gh_managed_${acme.tenantId.slice(0, 8)}`,
      headers: bearer(acme.apiKey),
      payload: { credentials },
    });
    expect(managed.statusCode).toBe(409);
    expect(seen.length).toBe(before);
    expect(await countJobs(h.config, h.redis, QUEUES.authConfig)).toBe(0);
  });

  it("refuses another tenant's config (404) and user tokens (403), touching nothing", async () => {
    const before = seen.length;
    const foreign = `${BASE}/ac_globex_${acme.tenantId.slice(0, 8)}`;
    for (const [method, url, payload] of [
      ["PUT", foreign, { name: "mine now" }],
      ["DELETE", foreign, undefined],
      ["POST", `${foreign}/disable`, undefined],
    ] as const) {
      const response = await h.inject({ method, url, headers: bearer(acme.apiKey), ...(payload ? { payload } : {}) });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    const alice = await userToken(h, acme.apiKey, "alice");
    const asUser = await h.inject({
      method: "POST",
      url: BASE,
      headers: bearer(alice),
      payload: { name: "x", toolkit_slug: "github", auth_scheme: "OAUTH2", credentials },
    });
    expect(asUser.statusCode).toBe(403);
    expect(seen.length).toBe(before);
    expect((await h.prisma.authConfig.findFirst({ where: { tenantId: globex.tenantId } }))?.name).toBe("Globex GitHub");
  });
});
