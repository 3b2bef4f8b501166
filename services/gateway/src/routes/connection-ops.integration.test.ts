import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type ConnectionOpJob, type ConnectionStatus, encodeJobFailure, QUEUES } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

const BASE = "/api/v1/composio/connections";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
let worker: { close(): Promise<void> };

/** Behaves like the real connection-ops worker: changes the row (or deletes it) and answers the op result. */
async function behave(job: Job<ConnectionOpJob>) {
  const { connectionId, op, tenantId } = job.data;
  const row = await h.prisma.connection.findFirst({ where: { id: connectionId, tenantId } });
  if (!row) throw new UnrecoverableError(encodeJobFailure({ code: "NOT_FOUND", message: "Connection not found" }));
  if (row.labels.includes("fail")) throw new UnrecoverableError(encodeJobFailure({ code: "UPSTREAM_ERROR", message: "Composio said no" }));
  if (op === "delete") {
    await h.prisma.connection.delete({ where: { id: connectionId } });
    return { connection_id: connectionId, status: null, redirect_url: null };
  }
  const changes: { status?: ConnectionStatus; redirectUrl?: string; labels?: string[] } = {};
  if (op === "enable") changes.status = "ACTIVE";
  if (op === "disable") changes.status = "INACTIVE";
  if (op === "refresh") Object.assign(changes, { status: "INITIATED", redirectUrl: `https://connect.example/link/${job.id}` });
  if (op === "update_labels") changes.labels = job.data.labels ?? [];
  const updated = await h.prisma.connection.update({ where: { id: connectionId }, data: changes });
  return { connection_id: connectionId, status: updated.status, redirect_url: op === "refresh" ? updated.redirectUrl : null };
}

async function seed(tenantId: string, userId: string, status: ConnectionStatus, labels: string[] = []): Promise<string> {
  const id = randomUUID();
  await h.prisma.connection.create({
    data: { id, tenantId, userId, toolkitSlug: "github", status, labels, composioAccountId: `ca_${id}` },
  });
  return id;
}

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey);
  worker = startFakeWorker(h.config, QUEUES.connectionOps, behave);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

describe("connection operations", () => {
  it("disables and enables, answering the row read back", async () => {
    const id = await seed(acme.tenantId, "alice", "ACTIVE");
    const disabled = await h.inject({ method: "POST", url: `${BASE}/${id}/disable`, headers: bearer(acme.apiKey) });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ connection_id: id, status: "INACTIVE", user_id: "alice", toolkit: "github" });
    const enabled = await h.inject({ method: "POST", url: `${BASE}/${id}/enable`, headers: bearer(acme.apiKey) });
    expect(enabled.json()).toMatchObject({ connection_id: id, status: "ACTIVE" });
  });

  it("refreshes: a new redirect_url and INITIATED", async () => {
    const id = await seed(acme.tenantId, "alice", "EXPIRED");
    const response = await h.inject({ method: "POST", url: `${BASE}/${id}/refresh`, headers: bearer(acme.apiKey) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      connection_id: id,
      status: "INITIATED",
      redirect_url: expect.stringMatching(/^https:\/\/connect\.example\/link\//),
    });
  });

  it("replaces labels (deduplicated) and rejects bad ones", async () => {
    const id = await seed(acme.tenantId, "alice", "ACTIVE", ["old"]);
    const response = await h.inject({
      method: "PUT",
      url: `${BASE}/${id}/labels`,
      headers: bearer(acme.apiKey),
      payload: { labels: ["production", "team-alpha", "production"] },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().labels).toEqual(["production", "team-alpha"]);
    const before = await countJobs(h.config, h.redis, QUEUES.connectionOps);
    for (const payload of [{}, { labels: ["bad label"] }, { labels: "x" }, { labels: [], extra: true }]) {
      const bad = await h.inject({ method: "PUT", url: `${BASE}/${id}/labels`, headers: bearer(acme.apiKey), payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await countJobs(h.config, h.redis, QUEUES.connectionOps)).toBe(before);
  });

  it("deletes: 204 and the row is gone", async () => {
    const id = await seed(acme.tenantId, "bob", "ACTIVE");
    const response = await h.inject({ method: "DELETE", url: `${BASE}/${id}`, headers: bearer(acme.apiKey) });
    expect(response.statusCode).toBe(204);
    expect(await h.prisma.connection.findUnique({ where: { id } })).toBeNull();
    expect((await h.inject({ method: "GET", url: `${BASE}/${id}`, headers: bearer(acme.apiKey) })).statusCode).toBe(404);
  });

  it("turns a worker failure into its error", async () => {
    const id = await seed(acme.tenantId, "alice", "ACTIVE", ["fail"]);
    const response = await h.inject({ method: "POST", url: `${BASE}/${id}/disable`, headers: bearer(acme.apiKey) });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toEqual({ error: { code: "UPSTREAM_ERROR", message: "Composio said no" } });
  });

  it("answers 202 with a poll_url when the worker is slower than CONNECT_WAIT_MS", async () => {
    const slow = await h.sibling({ CONNECT_WAIT_MS: "0" });
    const id = await seed(acme.tenantId, "alice", "ACTIVE");
    const response = await slow.inject({ method: "POST", url: `${BASE}/${id}/disable`, headers: bearer(acme.apiKey) });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ connection_id: id, op: "disable", status: "PENDING", poll_url: `${BASE}/${id}` });
  });

  it("scopes to the tenant and the user, enqueuing nothing for anyone else's connection", async () => {
    const foreign = await seed(globex.tenantId, "alice", "ACTIVE");
    const bobs = await seed(acme.tenantId, "bob", "ACTIVE");
    const alices = await seed(acme.tenantId, "alice", "ACTIVE");
    const alice = await userToken(h, acme.apiKey, "alice");
    const before = await countJobs(h.config, h.redis, QUEUES.connectionOps);
    const attempts = [
      { key: acme.apiKey, method: "POST", url: `${BASE}/${foreign}/disable` },
      { key: acme.apiKey, method: "DELETE", url: `${BASE}/${foreign}` },
      { key: alice, method: "POST", url: `${BASE}/${bobs}/refresh` },
      { key: alice, method: "DELETE", url: `${BASE}/${bobs}` },
      { key: acme.apiKey, method: "POST", url: `${BASE}/${randomUUID()}/enable` },
    ] as const;
    for (const { key, method, url } of attempts) {
      const response = await h.inject({ method, url, headers: bearer(key) });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await h.inject({ method: "POST", url: `${BASE}/not-a-uuid/enable`, headers: bearer(acme.apiKey) })).statusCode).toBe(400);
    expect(await countJobs(h.config, h.redis, QUEUES.connectionOps)).toBe(before);
    expect((await h.prisma.connection.findUnique({ where: { id: bobs } }))?.status).toBe("ACTIVE");
    const own = await h.inject({ method: "POST", url: `${BASE}/${alices}/disable`, headers: bearer(alice) });
    expect(own.json()).toMatchObject({ status: "INACTIVE" });
  });
});

describe("body-less requests with Content-Type: application/json (what axios in Node sends)", () => {
  it("are accepted on enable, disable, refresh and delete, over a real socket", async () => {
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    const id = await seed(acme.tenantId, "alice", "ACTIVE");
    const send = (method: string, path: string) =>
      fetch(`http://127.0.0.1:${port}${BASE}/${id}${path}`, {
        method,
        headers: { ...bearer(acme.apiKey), "content-type": "application/json", accept: "application/json, text/plain, */*" },
      });
    for (const op of ["disable", "enable", "refresh"]) {
      const response = await send("POST", `/${op}`);
      expect(response.status, op).toBe(200);
      expect((await response.json()) as { connection_id: string }, op).toMatchObject({ connection_id: id });
    }
    expect((await send("DELETE", "")).status).toBe(204);
  });
});

describe("connection operations by Composio's account id", () => {
  it("accept the ca_ id as well as ours: the job acts on our row, and another tenant's account is 404", async () => {
    const id = await seed(acme.tenantId, "alice", "ACTIVE");
    const disabled = await h.inject({ method: "POST", url: `${BASE}/ca_${id}/disable`, headers: bearer(acme.apiKey) });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ connection_id: id, status: "INACTIVE" });
    const relabelled = await h.inject({
      method: "PUT",
      url: `${BASE}/ca_${id}/labels`,
      headers: bearer(acme.apiKey),
      payload: { labels: ["by-ca"] },
    });
    expect(relabelled.json()).toMatchObject({ connection_id: id, labels: ["by-ca"] });
    const deleted = await h.inject({ method: "DELETE", url: `${BASE}/ca_${id}`, headers: bearer(acme.apiKey) });
    expect(deleted.statusCode).toBe(204);
    expect(await h.prisma.connection.findUnique({ where: { id } })).toBeNull();

    const theirs = await seed(globex.tenantId, "alice", "ACTIVE");
    const foreign = await h.inject({ method: "POST", url: `${BASE}/ca_${theirs}/disable`, headers: bearer(acme.apiKey) });
    expect(foreign.statusCode).toBe(404);
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: theirs } })).status).toBe("ACTIVE");
  });
});
