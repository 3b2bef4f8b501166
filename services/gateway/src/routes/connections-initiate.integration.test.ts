import { randomUUID } from "node:crypto";
import { encodeJobFailure, type InitiateConnectionJob, type InitiateConnectionResult, JOBS, QUEUES } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, jobsOf, startFakeConnectionWorker, startHarness } from "../../test/harness.js";

const URL_PATH = "/api/v1/composio/connections/initiate-enhanced";
const EXPIRES_AT = "2026-11-24T10:10:00.000Z";

let h: Harness;
let worker: { close(): Promise<void> };
let release: () => void;
const released = new Promise<void>((resolve) => {
  release = resolve;
});
let tenant: { tenantId: string; apiKey: string };
let other: { tenantId: string; apiKey: string };

/** What the stand-in worker does, by toolkit. */
async function behave(job: Job<InitiateConnectionJob>): Promise<InitiateConnectionResult> {
  switch (job.data.toolkit) {
    case "conflicting":
      throw new UnrecoverableError(encodeJobFailure({ code: "CONFLICT", message: "This user already has an active github connection" }));
    case "crashing":
      throw new UnrecoverableError("TypeError: cannot read x of undefined at /srv/worker.js:12");
    case "slow":
      await released;
      break;
  }
  return {
    connection_id: job.data.connectionId,
    redirect_url: "https://connect.composio.dev/link/lk_1",
    status: "INITIATED",
    expires_at: EXPIRES_AT,
  };
}

beforeAll(async () => {
  h = await startHarness();
  worker = startFakeConnectionWorker(h.config, behave);
  tenant = await createTestTenant(h.prisma, "initiate");
  other = await createTestTenant(h.prisma, "initiate-other");
  h.secrets.push(tenant.apiKey, other.apiKey);
});
afterAll(async () => {
  release();
  await worker?.close();
  await h?.close();
});

/** Other test files write connections in parallel: count this file's tenants' rows only. */
const rowsOfOurTenants = () => h.prisma.connection.count({ where: { tenantId: { in: [tenant.tenantId, other.tenantId] } } });

async function session(userId: string): Promise<string> {
  const response = await h.inject({
    method: "POST",
    url: "/api/v1/sessions",
    headers: bearer(tenant.apiKey),
    payload: { user_id: userId },
  });
  return response.json().token;
}

describe("POST initiate-enhanced", () => {
  it("enqueues the job and answers 201 with the worker's result", async () => {
    const response = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice", app_name: "GitHub", labels: ["work", "work"], redirect_url: "https://chat.example.com/done" },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({
      connection_id: expect.any(String),
      redirect_url: "https://connect.composio.dev/link/lk_1",
      status: "INITIATED",
      expires_at: EXPIRES_AT,
    });

    const job = await jobsOf(h.config, h.redis, QUEUES.connection).getJob(body.connection_id);
    expect(job?.name).toBe(JOBS.initiateConnection);
    const key = await h.prisma.apiKey.findFirstOrThrow({ where: { tenantId: tenant.tenantId } });
    expect(job?.data).toEqual({
      connectionId: body.connection_id,
      tenantId: tenant.tenantId,
      userId: "alice",
      toolkit: "github",
      labels: ["work"],
      returnUrl: "https://chat.example.com/done",
      actor: `api_key:${key.id}`,
    });
  });

  it("lets a user token act for its own user only", async () => {
    const token = await session("bob");
    const own = await h.inject({ method: "POST", url: URL_PATH, headers: bearer(token), payload: { user_id: "bob", app_name: "github" } });
    expect(own.statusCode).toBe(201);
    const job = await jobsOf(h.config, h.redis, QUEUES.connection).getJob(own.json().connection_id);
    expect(job?.data).toMatchObject({ userId: "bob", actor: "user:bob", tenantId: tenant.tenantId });

    const before = await countJobs(h.config, h.redis, QUEUES.connection);
    const someoneElse = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(token),
      payload: { user_id: "alice", app_name: "github" },
    });
    expect(someoneElse.statusCode).toBe(403);
    expect(someoneElse.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
    expect(await countJobs(h.config, h.redis, QUEUES.connection)).toBe(before);
  });

  it("maps the worker's failure to its error code", async () => {
    const response = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice", app_name: "conflicting" },
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ error: { code: "CONFLICT", message: "This user already has an active github connection" } });
  });

  it("hides a failure that is not one of ours behind 502", async () => {
    const response = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice", app_name: "crashing" },
    });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toEqual({ error: { code: "UPSTREAM_ERROR", message: "The job failed" } });
    expect(response.body).not.toContain("worker.js");
  });

  it("answers 202 with a poll URL when the worker is slow, and the connection reads as INITIALIZING", async () => {
    const quick = await h.sibling({ CONNECT_WAIT_MS: "150" });
    const response = await quick.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "carol", app_name: "slow" },
    });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({
      connection_id: expect.any(String),
      status: "INITIALIZING",
      poll_url: `/api/v1/composio/connections/${body.connection_id}`,
    });
    expect(response.headers.location).toBe(body.poll_url);

    const view = await h.inject({ method: "GET", url: body.poll_url, headers: bearer(tenant.apiKey) });
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({
      connection_id: body.connection_id,
      status: "INITIALIZING",
      user_id: "carol",
      toolkit: "slow",
      connected_account_id: null,
    });

    const otherTenant = await h.inject({ method: "GET", url: body.poll_url, headers: bearer(other.apiKey) });
    expect(otherTenant.statusCode).toBe(404);
    const otherUser = await h.inject({ method: "GET", url: body.poll_url, headers: bearer(await session("dave")) });
    expect(otherUser.statusCode).toBe(404);
  });

  it("answers 202 at once when CONNECT_WAIT_MS is 0", async () => {
    const noWait = await h.sibling({ CONNECT_WAIT_MS: "0" });
    const response = await noWait.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "carol", app_name: "slow" },
    });
    expect(response.statusCode).toBe(202);
  });

  it("checks auth_config_id belongs to the tenant before enqueueing", async () => {
    const foreign = await h.prisma.authConfig.create({
      data: {
        id: `ac_${randomUUID()}`,
        tenantId: other.tenantId,
        toolkitSlug: "github",
        name: "theirs",
        authScheme: "OAUTH2",
        isComposioManaged: false,
      },
    });
    const own = await h.prisma.authConfig.create({
      data: {
        id: `ac_${randomUUID()}`,
        tenantId: tenant.tenantId,
        toolkitSlug: "github",
        name: "ours",
        authScheme: "OAUTH2",
        isComposioManaged: false,
      },
    });
    const before = await countJobs(h.config, h.redis, QUEUES.connection);
    for (const authConfigId of [foreign.id, "ac_missing"]) {
      const response = await h.inject({
        method: "POST",
        url: URL_PATH,
        headers: bearer(tenant.apiKey),
        payload: { user_id: "alice", app_name: "github", auth_config_id: authConfigId },
      });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: { code: "NOT_FOUND", message: `Auth config "${authConfigId}" not found` } });
    }
    const wrongToolkit = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice", app_name: "gmail", auth_config_id: own.id },
    });
    expect(wrongToolkit.statusCode).toBe(400);
    expect(wrongToolkit.json().error).toMatchObject({ code: "VALIDATION_FAILED", details: [{ field: "body.auth_config_id" }] });
    expect(await countJobs(h.config, h.redis, QUEUES.connection)).toBe(before);

    const ok = await h.inject({
      method: "POST",
      url: URL_PATH,
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice", app_name: "github", auth_config_id: own.id },
    });
    expect(ok.statusCode).toBe(201);
    const job = await jobsOf(h.config, h.redis, QUEUES.connection).getJob(ok.json().connection_id);
    expect(job?.data.authConfigId).toBe(own.id);
  });

  describe("bad input: a clear 4xx, nothing enqueued, nothing written", () => {
    const cases: Array<{ name: string; status: number; code: string; request: () => Parameters<Harness["inject"]>[0]; fields?: string[] }> =
      [
        {
          name: "malformed JSON",
          status: 400,
          code: "BAD_REQUEST",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: { ...bearer(tenant.apiKey), "content-type": "application/json" },
            payload: '{"user_id": "alice",',
          }),
        },
        {
          name: "wrong types",
          status: 400,
          code: "VALIDATION_FAILED",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: bearer(tenant.apiKey),
            payload: { user_id: 42, app_name: ["github"], labels: "x" },
          }),
          fields: ["body.user_id", "body.app_name", "body.labels"],
        },
        {
          name: "missing fields",
          status: 400,
          code: "VALIDATION_FAILED",
          request: () => ({ method: "POST", url: URL_PATH, headers: bearer(tenant.apiKey), payload: {} }),
          fields: ["body.user_id", "body.app_name"],
        },
        {
          name: "unknown fields",
          status: 400,
          code: "VALIDATION_FAILED",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: bearer(tenant.apiKey),
            payload: { user_id: "alice", app_name: "github", tenant_id: other.tenantId },
          }),
          fields: ["body.tenant_id"],
        },
        {
          name: "a redirect_url that is not http(s)",
          status: 400,
          code: "VALIDATION_FAILED",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: bearer(tenant.apiKey),
            payload: { user_id: "alice", app_name: "github", redirect_url: "javascript:alert(1)" },
          }),
          fields: ["body.redirect_url"],
        },
        {
          name: "an unsupported content type",
          status: 415,
          code: "UNSUPPORTED_MEDIA_TYPE",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: { ...bearer(tenant.apiKey), "content-type": "text/plain" },
            payload: "user_id=alice",
          }),
        },
        {
          name: "a body over 1 MiB",
          status: 413,
          code: "PAYLOAD_TOO_LARGE",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: bearer(tenant.apiKey),
            payload: { user_id: "alice", app_name: "github", pad: "x".repeat(1_100_000) },
          }),
        },
        {
          name: "no credential",
          status: 401,
          code: "UNAUTHENTICATED",
          request: () => ({ method: "POST", url: URL_PATH, payload: { user_id: "alice", app_name: "github" } }),
        },
        {
          name: "a wrong credential",
          status: 401,
          code: "UNAUTHENTICATED",
          request: () => ({
            method: "POST",
            url: URL_PATH,
            headers: bearer(`${tenant.apiKey}x`),
            payload: { user_id: "alice", app_name: "github" },
          }),
        },
      ];
    for (const c of cases) {
      it(c.name, async () => {
        const jobsBefore = await countJobs(h.config, h.redis, QUEUES.connection);
        const rowsBefore = await rowsOfOurTenants();
        const response = await h.inject(c.request());
        expect(response.statusCode).toBe(c.status);
        const body = response.json();
        expect(body.error.code).toBe(c.code);
        expect(typeof body.error.message).toBe("string");
        if (c.fields) expect(body.error.details.map((d: { field: string }) => d.field)).toEqual(expect.arrayContaining(c.fields));
        expect(await countJobs(h.config, h.redis, QUEUES.connection)).toBe(jobsBefore);
        expect(await rowsOfOurTenants()).toBe(rowsBefore);
      });
    }
  });
});
