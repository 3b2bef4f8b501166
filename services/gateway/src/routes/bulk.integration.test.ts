import { randomUUID } from "node:crypto";
import type { Prisma } from "@kronos/db";
import {
  type BulkResult,
  type CompleteBulkJob,
  type ConnectionOpJob,
  type ConnectionStatus,
  decodeJobFailure,
  encodeJobFailure,
  type InitiateConnectionJob,
  QUEUES,
} from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
const workers: { close(): Promise<void> }[] = [];

/** Like the real connection job: writes the row; a toolkit named "broken" fails at Composio. */
async function initiate(job: Job<InitiateConnectionJob>) {
  const d = job.data;
  if (d.toolkit === "broken") throw new UnrecoverableError(encodeJobFailure({ code: "UPSTREAM_ERROR", message: "Composio failed" }));
  await h.prisma.connection.create({
    data: { id: d.connectionId, tenantId: d.tenantId, userId: d.userId, toolkitSlug: d.toolkit, status: "INITIATED", labels: d.labels },
  });
  return { connection_id: d.connectionId, redirect_url: "https://connect.example/x", status: "INITIATED", expires_at: null };
}

async function connectionOp(job: Job<ConnectionOpJob>) {
  const { connectionId, op } = job.data;
  if (op === "delete") {
    await h.prisma.connection.delete({ where: { id: connectionId } });
    return { connection_id: connectionId, status: null, redirect_url: null };
  }
  await h.prisma.connection.update({ where: { id: connectionId }, data: { status: "INACTIVE" } });
  return { connection_id: connectionId, status: "INACTIVE", redirect_url: null };
}

/** Like the real parent job: one result per item, in request order: refused by the gateway, or the child's value or failure. */
async function completeBulk(job: Job<CompleteBulkJob>) {
  const prefix = h.config.REDIS_KEY_PREFIX;
  const values = await job.getChildrenValues();
  const failures = await job.getIgnoredChildrenFailures();
  const results = job.data.items.map((item, index) => {
    const refused = job.data.rejected.find((r) => r.index === index);
    if (refused)
      return { index, ok: false, connection_id: item.connectionId, status: null, error: { code: refused.code, message: refused.message } };
    const key = `${prefix}:${item.queue}:${item.jobId}`;
    const value = values[key] as { status?: ConnectionStatus | null } | undefined;
    if (value) return { index, ok: true, connection_id: item.connectionId, status: value.status ?? null, error: null };
    const failure = failures[key] ? decodeJobFailure(failures[key]) : { code: "INTERNAL", message: "The item's outcome is unknown" };
    return { index, ok: false, connection_id: item.connectionId, status: null, error: failure };
  });
  const succeeded = results.filter((r) => r.ok).length;
  await h.prisma.bulkOperation.create({
    data: {
      id: job.data.bulkId,
      tenantId: job.data.tenantId,
      userId: job.data.userId,
      kind: job.data.kind,
      itemCount: results.length,
      results: results as unknown as Prisma.InputJsonValue,
      completedAt: new Date(),
    },
  });
  return { bulk_id: job.data.bulkId, kind: job.data.kind, succeeded, failed: results.length - succeeded, results } satisfies BulkResult;
}

async function seed(tenantId: string, userId: string): Promise<string> {
  const id = randomUUID();
  await h.prisma.connection.create({ data: { id, tenantId, userId, toolkitSlug: "github", status: "ACTIVE" } });
  return id;
}

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey);
  workers.push(
    startFakeWorker(h.config, QUEUES.connection, initiate),
    startFakeWorker(h.config, QUEUES.connectionOps, connectionOp),
    startFakeWorker(h.config, QUEUES.bulk, completeBulk),
  );
  await h.prisma.authConfig.create({
    data: {
      id: `ac_globex_${globex.tenantId}`,
      tenantId: globex.tenantId,
      toolkitSlug: "gmail",
      name: "g",
      authScheme: "OAUTH2",
      isComposioManaged: false,
    },
  });
});
afterAll(async () => {
  for (const worker of workers) await worker.close();
  await h?.close();
});

describe("POST /connections/bulk/initiate", () => {
  it("reports each item in request order; one failure hides no success", async () => {
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/composio/connections/bulk/initiate",
      headers: bearer(acme.apiKey),
      payload: {
        user_id: "alice",
        items: [
          { app_name: "github", labels: ["work"] },
          { app_name: "broken" },
          { app_name: "gmail", auth_config_id: `ac_globex_${globex.tenantId}` },
          { app_name: "slack", redirect_url: "https://chat.example/done" },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ bulk_id: expect.any(String), kind: "connect", succeeded: 2, failed: 2 });
    expect(body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, false, true]);
    expect(body.results[1].error).toEqual({ code: "UPSTREAM_ERROR", message: "Composio failed" });
    expect(body.results[2]).toEqual({
      index: 2,
      ok: false,
      connection_id: null,
      status: null,
      error: { code: "NOT_FOUND", message: `Auth config "ac_globex_${globex.tenantId}" not found` },
    });
    const github = await h.prisma.connection.findUnique({ where: { id: body.results[0].connection_id } });
    expect(github).toMatchObject({ userId: "alice", toolkitSlug: "github", labels: ["work"] });

    const read = await h.inject({ method: "GET", url: `/api/v1/composio/bulk/${body.bulk_id}`, headers: bearer(acme.apiKey) });
    expect(read.json()).toMatchObject({
      bulk_id: body.bulk_id,
      status: "COMPLETED",
      kind: "connect",
      item_count: 4,
      succeeded: 2,
      failed: 2,
    });
    expect(
      (await h.inject({ method: "GET", url: `/api/v1/composio/bulk/${body.bulk_id}`, headers: bearer(globex.apiKey) })).statusCode,
    ).toBe(404);
  });

  it("rejects malformed bodies and other users, enqueuing nothing", async () => {
    const before = await countJobs(h.config, h.redis, QUEUES.bulk);
    const url = "/api/v1/composio/connections/bulk/initiate";
    const items = Array.from({ length: 26 }, () => ({ app_name: "github" }));
    for (const payload of [
      { user_id: "alice", items: [] },
      { user_id: "alice", items },
      { user_id: "alice", items: [{ app_name: "git hub" }] },
      { items: [{ app_name: "github" }] },
    ]) {
      const response = await h.inject({ method: "POST", url, headers: bearer(acme.apiKey), payload });
      expect(response.statusCode).toBe(400);
    }
    const alice = await userToken(h, acme.apiKey, "alice");
    const forBob = await h.inject({
      method: "POST",
      url,
      headers: bearer(alice),
      payload: { user_id: "bob", items: [{ app_name: "github" }] },
    });
    expect(forBob.statusCode).toBe(403);
    expect(await countJobs(h.config, h.redis, QUEUES.bulk)).toBe(before);
  });
});

describe("POST /connections/bulk/disable and delete", () => {
  it("disables the caller's connections; others fail alone with NOT_FOUND", async () => {
    const [a1, a2, bob, foreign] = [
      await seed(acme.tenantId, "alice"),
      await seed(acme.tenantId, "alice"),
      await seed(acme.tenantId, "bob"),
      await seed(globex.tenantId, "alice"),
    ];
    const alice = await userToken(h, acme.apiKey, "alice");
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/composio/connections/bulk/disable",
      headers: bearer(alice),
      payload: { connection_ids: [a1, bob, foreign, "garbage", a2] },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ kind: "disable", succeeded: 2, failed: 3 });
    expect(body.results.map((r: { ok: boolean; error: { code: string } | null }) => (r.ok ? "ok" : r.error?.code))).toEqual([
      "ok",
      "NOT_FOUND",
      "NOT_FOUND",
      "NOT_FOUND",
      "ok",
    ]);
    expect(body.results[0]).toEqual({ index: 0, ok: true, connection_id: a1, status: "INACTIVE", error: null });
    expect((await h.prisma.connection.findUnique({ where: { id: bob } }))?.status).toBe("ACTIVE");
    expect((await h.prisma.connection.findUnique({ where: { id: foreign } }))?.status).toBe("ACTIVE");
  });

  it("deletes, and answers 202 then the result when the wait is shorter than the work", async () => {
    const slow = await h.sibling({ CONNECT_WAIT_MS: "0" });
    const ids = [await seed(acme.tenantId, "carol"), await seed(acme.tenantId, "carol")];
    const response = await slow.inject({
      method: "POST",
      url: "/api/v1/composio/connections/bulk/delete",
      headers: bearer(acme.apiKey),
      payload: { connection_ids: ids },
    });
    expect(response.statusCode).toBe(202);
    const { bulk_id, poll_url } = response.json();
    expect(response.json()).toEqual({ bulk_id, status: "RUNNING", poll_url: `/api/v1/composio/bulk/${bulk_id}` });
    const done = await waitFor(async () => {
      const read = (await h.inject({ method: "GET", url: poll_url, headers: bearer(acme.apiKey) })).json();
      return read.status === "COMPLETED" ? read : undefined;
    });
    expect(done).toMatchObject({ kind: "delete", succeeded: 2, failed: 0 });
    expect(await h.prisma.connection.count({ where: { id: { in: ids } } })).toBe(0);
  });

  it("rejects malformed bodies, enqueuing nothing", async () => {
    const before = await countJobs(h.config, h.redis, QUEUES.bulk);
    for (const payload of [
      {},
      { connection_ids: [] },
      { connection_ids: "x" },
      { connection_ids: Array.from({ length: 26 }, () => randomUUID()) },
    ]) {
      const response = await h.inject({
        method: "POST",
        url: "/api/v1/composio/connections/bulk/delete",
        headers: bearer(acme.apiKey),
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await countJobs(h.config, h.redis, QUEUES.bulk)).toBe(before);
    expect((await h.inject({ method: "GET", url: `/api/v1/composio/bulk/${randomUUID()}`, headers: bearer(acme.apiKey) })).statusCode).toBe(
      404,
    );
  });
});
