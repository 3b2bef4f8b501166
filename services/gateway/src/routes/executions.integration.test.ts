import { randomUUID } from "node:crypto";
import { type ExecuteToolJob, encodeJobFailure, QUEUES } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announceCompleted, bearer, countJobs, type Harness, startFakeWorker, startHarness, userToken } from "../../test/harness.js";

const EXECUTE = "/api/v1/composio/tools/execute";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
let worker: { close(): Promise<void> };
const processed: string[] = [];

/** Like the real execution worker: writes the Execution row; SLOW_TOOL takes a while, NO_ACCOUNT_TOOL finds no connection. */
async function behave(job: Job<ExecuteToolJob>) {
  const d = job.data;
  processed.push(d.executionId);
  if (d.toolSlug === "NO_ACCOUNT_TOOL")
    throw new UnrecoverableError(encodeJobFailure({ code: "NOT_FOUND", message: "No ACTIVE connection for this toolkit" }));
  if (d.toolSlug === "SLOW_TOOL") await new Promise((resolve) => setTimeout(resolve, 1_500));
  const started = new Date();
  const row = await h.prisma.execution.create({
    data: {
      id: d.executionId,
      tenantId: d.tenantId,
      userId: d.userId,
      toolSlug: d.toolSlug,
      connectedAccountId: d.connectedAccountId ?? null,
      arguments: d.arguments as object,
      idempotencyKey: d.idempotencyKey ?? null,
      status: "SUCCEEDED",
      result: { echo: d.arguments } as object,
      logId: "log_1",
      attempts: job.attemptsMade + 1,
      durationMs: 3,
      startedAt: started,
      completedAt: new Date(),
    },
  });
  await announceCompleted(h, row);
  return { execution_id: d.executionId, status: "SUCCEEDED" };
}

const execute = (payload: unknown, options: { key?: string; query?: string; idempotencyKey?: string; app?: Harness["app"] } = {}) =>
  (options.app ?? h.app).inject({
    method: "POST",
    url: `${EXECUTE}${options.query ?? ""}`,
    headers: { ...bearer(options.key ?? acme.apiKey), ...(options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : {}) },
    payload: payload as object,
  });

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey);
  worker = startFakeWorker(h.config, QUEUES.toolExecution, behave);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const body = { user_id: "alice", action_name: "GITHUB_GET_THE_AUTHENTICATED_USER", params: { a: 1 } };

describe("POST /tools/execute", () => {
  it("queues: 202 with a poll_url that reads QUEUED, then the finished execution", async () => {
    const response = await execute(body);
    expect(response.statusCode).toBe(202);
    const { execution_id, poll_url } = response.json();
    expect(response.json()).toEqual({ execution_id, status: "QUEUED", poll_url: `/api/v1/composio/executions/${execution_id}` });
    expect(response.headers.location).toBe(poll_url);
    const done = await waitFor(async () => {
      const read = (await h.inject({ method: "GET", url: poll_url, headers: bearer(acme.apiKey) })).json();
      return read.status === "SUCCEEDED" ? read : undefined;
    });
    expect(done).toEqual({
      execution_id,
      user_id: "alice",
      action_name: "GITHUB_GET_THE_AUTHENTICATED_USER",
      connected_account_id: null,
      status: "SUCCEEDED",
      successful: true,
      data: { echo: { a: 1 } },
      result_truncated: false,
      error: null,
      log_id: "log_1",
      duration_ms: 3,
      attempts: 1,
      created_at: expect.any(String),
      started_at: expect.any(String),
      completed_at: expect.any(String),
    });
  });

  it("waits with ?wait=N: 200 with the execution, or 202 when it takes longer", async () => {
    const waited = await execute({ ...body, action_name: "github_create_an_issue", params: { title: "x" } }, { query: "?wait=5" });
    expect(waited.statusCode).toBe(200);
    expect(waited.json()).toMatchObject({ action_name: "GITHUB_CREATE_AN_ISSUE", status: "SUCCEEDED", data: { echo: { title: "x" } } });
    // Sent as the worker wrote it: the same execution a read shows, as JSON.
    expect(waited.headers["content-type"]).toBe("application/json; charset=utf-8");
    const read = await h.inject({
      method: "GET",
      url: `/api/v1/composio/executions/${waited.json().execution_id}`,
      headers: bearer(acme.apiKey),
    });
    expect(waited.json()).toEqual(read.json());
    const slow = await execute({ ...body, action_name: "SLOW_TOOL" }, { query: "?wait=0.2" });
    expect(slow.statusCode).toBe(202);
    expect(slow.json().status).toBe("QUEUED");
  });

  it("turns a job that failed without an execution into its error (when the wait ends: no row says so sooner)", async () => {
    const response = await execute({ ...body, action_name: "NO_ACCOUNT_TOOL" }, { query: "?wait=0.5" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: "NOT_FOUND", message: "No ACTIVE connection for this toolkit" } });
  });

  it("replays an Idempotency-Key: same execution, enqueued once; another request with it is 409", async () => {
    const key = `key-${randomUUID()}`;
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const first = await execute(body, { query: "?wait=5", idempotencyKey: key });
    expect(first.statusCode).toBe(200);
    expect(first.headers["idempotent-replay"]).toBeUndefined();
    // The same request (keys in another order) without ?wait: the same execution, answered 202 like a fresh one.
    const again = await execute({ params: { a: 1 }, action_name: body.action_name, user_id: "alice" }, { idempotencyKey: key });
    expect(again.statusCode).toBe(202);
    expect(again.headers["idempotent-replay"]).toBe("true");
    expect(again.json().execution_id).toBe(first.json().execution_id);
    const waitedAgain = await execute(body, { query: "?wait=5", idempotencyKey: key });
    expect(waitedAgain.statusCode).toBe(200);
    expect(waitedAgain.json()).toEqual(first.json());
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before + 1);
    expect(processed.filter((id) => id === first.json().execution_id)).toHaveLength(1);

    const conflict = await execute({ ...body, params: { a: 2 } }, { idempotencyKey: key });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe("CONFLICT");
    // Keys are per tenant: globex may use the same one.
    expect((await execute(body, { key: globex.apiKey, idempotencyKey: key })).headers["idempotent-replay"]).toBeUndefined();
  });

  it("rejects bad input with 400, enqueuing nothing", async () => {
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const cases: Array<[unknown, { query?: string; idempotencyKey?: string }]> = [
      [body, { query: "?wait=0" }],
      [body, { query: "?wait=31" }],
      [body, { query: "?wait=soon" }],
      [body, { idempotencyKey: "k".repeat(256) }],
      [{ ...body, action_name: "NOT A SLUG" }, {}],
      [{ ...body, user_id: "a b" }, {}],
      [{ ...body, params: [1, 2] }, {}],
      [{ action_name: "X" }, {}],
      [{ ...body, extra: true }, {}],
    ];
    for (const [payload, options] of cases) {
      const response = await execute(payload, options);
      expect(response.statusCode, JSON.stringify([payload, options])).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before);
  });

  it("refuses params over EXECUTION_PARAMS_MAX_BYTES with 413, enqueuing nothing", async () => {
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const limit = h.config.EXECUTION_PARAMS_MAX_BYTES;
    const response = await execute({ ...body, params: { text: "x".repeat(limit) } });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit } });
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before);
    // Just under the limit is accepted.
    const fits = await execute({ ...body, params: { text: "x".repeat(limit - 20) } });
    expect(fits.statusCode).toBe(202);
  });

  it("checks a given connected account: ours by either id, anyone else's is 404", async () => {
    const own = randomUUID();
    const bobs = randomUUID();
    const foreign = randomUUID();
    for (const [id, tenantId, userId] of [
      [own, acme.tenantId, "alice"],
      [bobs, acme.tenantId, "bob"],
      [foreign, globex.tenantId, "alice"],
    ] as const) {
      await h.prisma.connection.create({
        data: { id, tenantId, userId, toolkitSlug: "github", status: "ACTIVE", composioAccountId: `ca_${id}` },
      });
    }
    const byCa = await execute({ ...body, connected_account_id: `ca_${own}` }, { query: "?wait=5" });
    expect(byCa.statusCode).toBe(200);
    expect(byCa.json().connected_account_id).toBe(`ca_${own}`);
    expect((await execute({ ...body, connected_account_id: own }, { query: "?wait=5" })).statusCode).toBe(200);
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    for (const other of [`ca_${bobs}`, bobs, `ca_${foreign}`, foreign, "ca_nothing"]) {
      const response = await execute({ ...body, connected_account_id: other });
      expect(response.statusCode, other).toBe(404);
    }
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before);
  });

  it("keeps user tokens to their user, and executions to their tenant and user", async () => {
    const alice = await userToken(h, acme.apiKey, "alice");
    const forBob = await execute({ ...body, user_id: "bob" }, { key: alice });
    expect(forBob.statusCode).toBe(403);
    const own = await execute(body, { key: alice, query: "?wait=5" });
    expect(own.statusCode).toBe(200);
    const url = `/api/v1/composio/executions/${own.json().execution_id}`;
    expect((await h.inject({ method: "GET", url, headers: bearer(alice) })).statusCode).toBe(200);
    const bob = await userToken(h, acme.apiKey, "bob");
    expect((await h.inject({ method: "GET", url, headers: bearer(bob) })).statusCode).toBe(404);
    expect((await h.inject({ method: "GET", url, headers: bearer(globex.apiKey) })).statusCode).toBe(404);
    expect(
      (await h.inject({ method: "GET", url: `/api/v1/composio/executions/${randomUUID()}`, headers: bearer(acme.apiKey) })).statusCode,
    ).toBe(404);
    expect((await h.inject({ method: "GET", url: "/api/v1/composio/executions/nope", headers: bearer(acme.apiKey) })).statusCode).toBe(400);
  });
});
