import { randomUUID } from "node:crypto";
import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { type BusEnvelope, type ExecuteToolJob, eventKeys, QUEUES } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceCompleted, bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

const EXECUTE = "/api/v1/composio/tools/execute";
const executions = (id: string, action = "") => `/api/v1/composio/executions/${id}${action}`;

let emulator: RunningEmulator;
let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
let aliceToken: string;
let bobToken: string;
let worker: { close(): Promise<void> };
const ran: string[] = [];

/** Like the real worker: QUEUED (or no row) → RUNNING → SUCCEEDED, never a parked or final row. */
async function behave(job: Job<ExecuteToolJob>) {
  const d = job.data;
  const moved = await h.prisma.execution.updateMany({
    where: { id: d.executionId, status: { in: ["QUEUED", "RUNNING"] } },
    data: { status: "SUCCEEDED", result: { ran: d.arguments } as object, startedAt: new Date(), completedAt: new Date(), attempts: 1 },
  });
  if (moved.count === 0 && !(await h.prisma.execution.findUnique({ where: { id: d.executionId } }))) {
    await h.prisma.execution.create({
      data: {
        id: d.executionId,
        tenantId: d.tenantId,
        userId: d.userId,
        toolSlug: d.toolSlug,
        arguments: d.arguments as object,
        status: "SUCCEEDED",
      },
    });
  }
  if (moved.count > 0) ran.push(d.executionId);
  const row = await h.prisma.execution.findUnique({ where: { id: d.executionId } });
  if (row?.status === "SUCCEEDED") await announceCompleted(h, row);
  return { execution_id: d.executionId, status: "SUCCEEDED" };
}

const post = (url: string, key: string, payload?: unknown, headers: Record<string, string> = {}) =>
  h.inject({
    method: "POST",
    url,
    headers: { ...bearer(key), ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const execute = (action: string, params: Record<string, unknown> = {}, key = acme.apiKey, headers: Record<string, string> = {}) =>
  post(EXECUTE, key, { user_id: "alice", action_name: action, params }, headers);
const read = async (id: string) => (await h.inject({ method: "GET", url: executions(id), headers: bearer(acme.apiKey) })).json();

/** The tenant's events (from its stream) about one execution. */
async function eventsOf(tenantId: string, executionId: string) {
  const entries = await h.redis.xrange(eventKeys(h.config.REDIS_KEY_PREFIX).stream(tenantId), "-", "+");
  return entries
    .map(([, fields]) => JSON.parse(fields[1]!) as BusEnvelope)
    .filter((e) => (e.event.data as { execution_id?: string }).execution_id === executionId)
    .map(
      (e) => ({ type: e.event.type as string, ...(e.event.data as Record<string, unknown>) }) as Record<string, unknown> & { type: string },
    );
}

async function setPolicy(policy: unknown, key = acme.apiKey) {
  const response = await h.inject({ method: "PUT", url: "/api/v1/policies/tools", headers: bearer(key), payload: policy as object });
  expect(response.statusCode).toBe(200);
}

beforeAll(async () => {
  emulator = await startEmulator();
  // The parked sweep (expiry without anyone asking) runs here, for this file's tenants only.
  h = await startHarness(
    { COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey, APPROVAL_TTL_SECONDS: "600" },
    { parkedSweep: { intervalMs: 1_000, tenantIds: () => [acme?.tenantId, globex?.tenantId].filter((id): id is string => !!id) } },
  );
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey, emulator.apiKey);
  aliceToken = await userToken(h, acme.apiKey, "alice");
  bobToken = await userToken(h, acme.apiKey, "bob");
  await setPolicy({ require_approval: { tools: ["GMAIL_SEND_*", "NOTION_CREATE_*"], tags: ["destructiveHint"] } });
  worker = startFakeWorker(h.config, QUEUES.toolExecution, behave);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
  await emulator?.close();
});

describe("approvals", () => {
  it("parks AWAITING_APPROVAL (nothing queued), publishes the request with secrets redacted, and the user's approval runs it", async () => {
    const jobsBefore = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const params = { parent_id: "p1", title: "Plan", integration_token: "ntn_secret_value_123" };
    const parked = await execute("NOTION_CREATE_NOTION_PAGE", params);
    expect(parked.statusCode).toBe(202);
    const id = parked.json().execution_id;
    expect(parked.json()).toMatchObject({
      status: "AWAITING_APPROVAL",
      approval: { rules: ["tool:NOTION_CREATE_*"], expires_at: expect.any(String) },
    });
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(jobsBefore);
    // Whoever reads the parked execution sees what the approval covers, the secret redacted.
    expect(await read(id)).toMatchObject({
      status: "AWAITING_APPROVAL",
      approval: { arguments: { parent_id: "p1", title: "Plan", integration_token: "[REDACTED]" } },
    });
    expect(JSON.stringify(parked.json())).not.toContain("ntn_secret_value_123");

    const [status, requested] = await eventsOf(acme.tenantId, id);
    expect(status).toMatchObject({
      type: "execution.status",
      status: "AWAITING_APPROVAL",
      previous_status: null,
      reason: { code: "APPROVAL_REQUIRED" },
    });
    expect(requested).toMatchObject({
      type: "execution.approval_requested",
      tool: "NOTION_CREATE_NOTION_PAGE",
      toolkit: "notion",
      arguments: { parent_id: "p1", title: "Plan", integration_token: "[REDACTED]" },
      redacted: ["integration_token"],
      rules: ["tool:NOTION_CREATE_*"],
      requested_by: expect.stringMatching(/^api_key:/),
    });
    expect(JSON.stringify(await eventsOf(acme.tenantId, id))).not.toContain("ntn_secret_value_123");

    const approved = await post(executions(id, "/approve"), aliceToken, { arguments_hash: requested!.arguments_hash });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: "QUEUED", approval: { decided_by: "user:alice" } });
    const done = await waitFor(async () => ((await read(id)).status === "SUCCEEDED" ? read(id) : undefined));
    expect(done.data).toEqual({ ran: params }); // exactly the parked arguments
    expect(ran).toContain(id);
    const actions = (await h.prisma.auditLog.findMany({ where: { targetId: id }, orderBy: { id: "asc" } })).map((a) => a.action);
    expect(actions).toEqual(["execution.awaiting_approval", "execution.queued"]);
  });

  it("an approval is used once; approving a denied one, or denying twice, is 409 with the status", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "b@x.io", body: "hi" })).json().execution_id;
    expect((await post(executions(id, "/approve"), aliceToken)).statusCode).toBe(200);
    const again = await post(executions(id, "/approve"), aliceToken);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.details.status).toMatch(/QUEUED|RUNNING|SUCCEEDED/);

    const other = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "c@x.io", body: "hi" })).json().execution_id;
    const denied = await post(executions(other, "/deny"), aliceToken, { reason: "Not to this person" });
    expect(denied.json()).toMatchObject({ status: "DENIED", error: { code: "DENIED", message: "Not to this person" }, successful: false });
    expect((await post(executions(other, "/approve"), aliceToken)).json().error).toMatchObject({
      code: "CONFLICT",
      details: { status: "DENIED" },
    });
    expect((await post(executions(other, "/deny"), aliceToken)).statusCode).toBe(409);
    const events = await eventsOf(acme.tenantId, other);
    expect(events.map((e) => `${e.type}:${e.status ?? ""}`)).toEqual([
      "execution.status:AWAITING_APPROVAL",
      "execution.approval_requested:",
      "execution.status:DENIED",
      "execution.completed:DENIED",
    ]);
    expect(events[3]).toMatchObject({ error: { code: "DENIED", message: "Not to this person" } });
  });

  it("two approvals at once: one wins, the other is 409, the tool is queued once", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "d@x.io", body: "hi" })).json().execution_id;
    const answers = await Promise.all([post(executions(id, "/approve"), aliceToken), post(executions(id, "/approve"), aliceToken)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
  });

  it("who may decide: another user or tenant is 404; an API key only when the policy says so", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "e@x.io", body: "hi" })).json().execution_id;
    expect((await post(executions(id, "/approve"), bobToken)).statusCode).toBe(404);
    expect((await post(executions(id, "/approve"), globex.apiKey)).statusCode).toBe(404);
    const byKey = await post(executions(id, "/approve"), acme.apiKey);
    expect(byKey.statusCode).toBe(403);
    await setPolicy({
      require_approval: { tools: ["GMAIL_SEND_*", "NOTION_CREATE_*"], tags: ["destructiveHint"] },
      api_key_may_approve: true,
    });
    expect((await post(executions(id, "/approve"), acme.apiKey)).statusCode).toBe(200);
    await setPolicy({ require_approval: { tools: ["GMAIL_SEND_*", "NOTION_CREATE_*"], tags: ["destructiveHint"] } });
  });

  it("a wrong arguments_hash is 409 and leaves it parked; bad bodies are 400", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "f@x.io", body: "hi" })).json().execution_id;
    const wrong = await post(executions(id, "/approve"), aliceToken, { arguments_hash: "0".repeat(64) });
    expect(wrong.statusCode).toBe(409);
    expect((await read(id)).status).toBe("AWAITING_APPROVAL");
    expect((await post(executions(id, "/approve"), aliceToken, { arguments_hash: "nothex" })).statusCode).toBe(400);
    expect((await post(executions(id, "/deny"), aliceToken, { reason: "x", extra: 1 })).statusCode).toBe(400);
    expect((await post(executions("not-a-uuid", "/deny"), aliceToken)).statusCode).toBe(400);
    expect((await post(executions(randomUUID(), "/deny"), aliceToken)).statusCode).toBe(404);
  });

  it("approval by Composio tag (destructiveHint) parks too", async () => {
    const parked = await execute("GITHUB_DELETE_A_REPOSITORY", { owner: "o", repo: "r" });
    expect(parked.json()).toMatchObject({ status: "AWAITING_APPROVAL", approval: { rules: ["tag:destructiveHint"] } });
  });

  it("expiry: past APPROVAL_TTL_SECONDS, deciding is 409 and the execution ends EXPIRED", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "g@x.io", body: "hi" })).json().execution_id;
    await h.prisma.execution.update({ where: { id }, data: { parkedUntil: new Date(Date.now() - 1000) } });
    const late = await post(executions(id, "/approve"), aliceToken);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.details.status).toBe("EXPIRED");
    expect(await read(id)).toMatchObject({ status: "EXPIRED", error: { code: "EXPIRED" } });
    // The expiry may have been the parked sweep's, which publishes just after its commit: wait for the events.
    const lastTwo = async () => (await eventsOf(acme.tenantId, id)).map((e) => `${e.type}:${e.status ?? ""}`).slice(-2);
    await waitFor(async () => (await lastTwo()).includes("execution.completed:EXPIRED"), { what: "the EXPIRED events" });
    expect(await lastTwo()).toEqual(["execution.status:EXPIRED", "execution.completed:EXPIRED"]);
  });

  it("expiry without anyone asking: the sweep ends it EXPIRED and publishes it", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "g2@x.io", body: "hi" })).json().execution_id;
    await h.prisma.execution.update({ where: { id }, data: { parkedUntil: new Date(Date.now() - 1000) } });
    await waitFor(async () => ((await read(id)).status === "EXPIRED" ? true : undefined), { timeoutMs: 20_000 });
    // The row turns EXPIRED before its events are published: wait for the closing event, not the row.
    const events = await waitFor(
      async () => {
        const published = await eventsOf(acme.tenantId, id);
        return published.at(-1)?.type === "execution.completed" ? published : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(events.at(-1)).toMatchObject({ type: "execution.completed", status: "EXPIRED", error: { code: "EXPIRED" } });
    expect(events.at(-2)).toMatchObject({ type: "execution.status", status: "EXPIRED", actor: "system" });
  });

  it("Idempotency-Key across parking: the retried request answers the same parked execution", async () => {
    const key = { "idempotency-key": `k-${randomUUID()}` };
    const first = await execute("GMAIL_SEND_EMAIL", { recipient_email: "h@x.io", body: "hi" }, acme.apiKey, key);
    const second = await execute("GMAIL_SEND_EMAIL", { recipient_email: "h@x.io", body: "hi" }, acme.apiKey, key);
    expect(second.statusCode).toBe(202);
    expect(second.headers["idempotent-replay"]).toBe("true");
    expect(second.json()).toMatchObject({ execution_id: first.json().execution_id, status: "AWAITING_APPROVAL" });
    expect(await h.prisma.execution.count({ where: { tenantId: acme.tenantId, idempotencyKey: key["idempotency-key"] } })).toBe(1);
  });

  it("a policy change does not touch a parked execution's approval", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "i@x.io", body: "hi" })).json().execution_id;
    await setPolicy({});
    expect((await read(id)).status).toBe("AWAITING_APPROVAL");
    expect((await execute("GMAIL_SEND_EMAIL", { recipient_email: "i@x.io", body: "hi" })).json().status).toBe("QUEUED");
    await setPolicy({ require_approval: { tools: ["GMAIL_SEND_*", "NOTION_CREATE_*"], tags: ["destructiveHint"] } });
  });
});

describe("?wait= across an approval", () => {
  const waiting = (params: Record<string, unknown>, wait: number) =>
    post(`${EXECUTE}?wait=${wait}`, acme.apiKey, { user_id: "alice", action_name: "GMAIL_SEND_EMAIL", params });
  /** The execution parked with these arguments (the request that parked it is still waiting). */
  const parkedWith = (recipient: string) =>
    waitFor(async () => {
      const row = await h.prisma.execution.findFirst({
        where: { tenantId: acme.tenantId, status: "AWAITING_APPROVAL", arguments: { path: ["recipient_email"], equals: recipient } },
      });
      return row ?? undefined;
    });

  it("keeps waiting while the execution is parked: approved within the wait, it answers 200 with the result", async () => {
    const answer = waiting({ recipient_email: "w1@x.io", body: "hi" }, 20);
    const row = await parkedWith("w1@x.io");
    expect((await post(executions(row.id, "/approve"), aliceToken)).statusCode).toBe(200);
    const done = await answer;
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ execution_id: row.id, status: "SUCCEEDED", data: { ran: { recipient_email: "w1@x.io" } } });
    expect(ran).toContain(row.id);
  });

  it("denied within the wait: 200 with DENIED and the reason", async () => {
    const answer = waiting({ recipient_email: "w2@x.io", body: "hi" }, 20);
    const row = await parkedWith("w2@x.io");
    expect((await post(executions(row.id, "/deny"), aliceToken, { reason: "Not now" })).statusCode).toBe(200);
    const done = await answer;
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ execution_id: row.id, status: "DENIED", error: { code: "DENIED", message: "Not now" } });
  });

  it("nobody decides within the wait: 202 with the parked state and the approval it waits for", async () => {
    const done = await waiting({ recipient_email: "w3@x.io", body: "hi" }, 0.5);
    expect(done.statusCode).toBe(202);
    expect(done.json()).toMatchObject({
      status: "AWAITING_APPROVAL",
      poll_url: expect.stringContaining(done.json().execution_id),
      approval: { rules: ["tool:GMAIL_SEND_*"], expires_at: expect.any(String), arguments_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it("an Idempotency-Key replay with ?wait= waits for the same parked execution", async () => {
    const key = { "idempotency-key": `wait-${randomUUID()}` };
    const params = { user_id: "alice", action_name: "GMAIL_SEND_EMAIL", params: { recipient_email: "w4@x.io", body: "hi" } };
    const first = await post(EXECUTE, acme.apiKey, params, key);
    expect(first.json().status).toBe("AWAITING_APPROVAL");
    const replayed = post(`${EXECUTE}?wait=20`, acme.apiKey, params, key);
    // Approved once the replay is listening (it reads the row first): it answers the run's result.
    const channel = eventKeys(h.config.REDIS_KEY_PREFIX).executionChanged(first.json().execution_id);
    await waitFor(async () => ((await h.redis.pubsub("NUMSUB", channel)) as [string, number])[1] > 0 || undefined);
    expect((await post(executions(first.json().execution_id, "/approve"), aliceToken)).statusCode).toBe(200);
    const done = await replayed;
    expect(done.statusCode).toBe(200);
    expect(done.headers["idempotent-replay"]).toBe("true");
    expect(done.json()).toMatchObject({ execution_id: first.json().execution_id, status: "SUCCEEDED" });
  });
});

describe("cancel", () => {
  it("cancels a parked execution: CANCELLED, published, and it never runs", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "j@x.io", body: "hi" })).json().execution_id;
    const cancelled = await post(executions(id, "/cancel"), aliceToken, { reason: "changed my mind" });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: "CANCELLED", error: { code: "CANCELLED", message: "changed my mind" } });
    expect((await post(executions(id, "/approve"), aliceToken)).json().error.details.status).toBe("CANCELLED");
    expect((await eventsOf(acme.tenantId, id)).map((e) => e.type).slice(-2)).toEqual(["execution.status", "execution.completed"]);
  });

  it("cancels a QUEUED execution before the worker takes it; the worker then does not run it", async () => {
    await worker.close();
    try {
      const id = (await execute("GMAIL_FETCH_EMAILS")).json().execution_id;
      const cancelled = await post(executions(id, "/cancel"), acme.apiKey);
      expect(cancelled.json()).toMatchObject({ status: "CANCELLED" });
      expect((await post(executions(id, "/cancel"), acme.apiKey)).json().error.details.status).toBe("CANCELLED");
      expect(ran).not.toContain(id);
    } finally {
      worker = startFakeWorker(h.config, QUEUES.toolExecution, behave);
    }
  });

  it("a RUNNING execution is never cut off: 409 with its status", async () => {
    await worker.close();
    try {
      const id = (await execute("GMAIL_FETCH_EMAILS")).json().execution_id;
      // As the worker does when it takes the job: the row, RUNNING.
      await h.prisma.execution.create({
        data: { id, tenantId: acme.tenantId, userId: "alice", toolSlug: "GMAIL_FETCH_EMAILS", status: "RUNNING", startedAt: new Date() },
      });
      const refused = await post(executions(id, "/cancel"), acme.apiKey);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.details.status).toBe("RUNNING");
      expect((await read(id)).status).toBe("RUNNING");
    } finally {
      worker = startFakeWorker(h.config, QUEUES.toolExecution, behave);
    }
  });

  it("another tenant's or user's execution is 404", async () => {
    const id = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "k@x.io", body: "hi" })).json().execution_id;
    expect((await post(executions(id, "/cancel"), globex.apiKey)).statusCode).toBe(404);
    expect((await post(executions(id, "/cancel"), bobToken)).statusCode).toBe(404);
  });
});

describe("the list of executions (the approvals inbox)", () => {
  const list = async (query: string, key = acme.apiKey) =>
    h.inject({ method: "GET", url: `/api/v1/composio/executions${query}`, headers: bearer(key) });

  it("lists the parked ones by status, newest first, a page at a time; a user token sees its own only", async () => {
    const first = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "l1@x.io", body: "hi" })).json().execution_id;
    const second = (await execute("GMAIL_SEND_EMAIL", { recipient_email: "l2@x.io", body: "hi" })).json().execution_id;
    const onePage = (await list("?status=AWAITING_APPROVAL&limit=1")).json();
    expect(onePage.items).toHaveLength(1);
    expect(onePage.items[0]).toMatchObject({ execution_id: second, status: "AWAITING_APPROVAL", approval: { rules: expect.any(Array) } });
    const next = (await list(`?status=AWAITING_APPROVAL&limit=1&cursor=${onePage.next_cursor}`)).json();
    expect(next.items[0].execution_id).toBe(first);

    const ids = (query: string, key?: string) =>
      list(query, key).then((r) => r.json().items.map((e: { execution_id: string }) => e.execution_id));
    expect(await ids("?status=AWAITING_APPROVAL&limit=200", aliceToken)).toEqual(expect.arrayContaining([first, second]));
    expect(await ids("?status=AWAITING_APPROVAL", bobToken)).toEqual([]);
    expect((await list("?status=AWAITING_APPROVAL&user_id=alice", bobToken)).statusCode).toBe(403);
    expect(await ids("?status=AWAITING_APPROVAL", globex.apiKey)).toEqual([]);
    expect(await ids("?status=SUCCEEDED&limit=200")).not.toContain(first);
  });

  it("refuses a bad status or cursor with 400, and a key without the executions scope with 403", async () => {
    expect((await list("?status=NOPE")).statusCode).toBe(400);
    expect((await list("?cursor=%00nope")).json().error.code).toBe("VALIDATION_FAILED");
    const created = await post("/api/v1/api-keys", acme.apiKey, { name: "conn-only", scopes: ["connections"] });
    expect(created.statusCode).toBe(201);
    h.secrets.push(created.json().api_key);
    expect((await list("", created.json().api_key)).statusCode).toBe(403);
  });
});
