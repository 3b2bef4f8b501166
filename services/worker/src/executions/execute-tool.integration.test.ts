import { toExecutionView } from "@kronos/db";
import {
  decodeJobFailure,
  EVENT_TYPES,
  type ExecuteToolJob,
  type ExecutionCompletedEventData,
  eventKeys,
  executeToolJobResultSchema,
  JOBS,
} from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { afterEach, describe, expect, it } from "vitest";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";
import { CONNECTION_NOT_ACTIVE_CODE, storedResult, TOOL_FAILED_CODE, toolkitOfTool } from "./execute-tool.js";

/** Results past this many bytes of JSON are stored truncated (small here, to test it). */
const MAX_RESULT_BYTES = 400;
const suite = workerOnEmulator({
  timeoutMs: 2_000,
  config: { EXECUTION_RESULT_MAX_BYTES: String(MAX_RESULT_BYTES), COMPOSIO_MAX_ATTEMPTS: "5" },
});
const h = suite.harness;
const control = suite.control;
const connectedUser = suite.connectedUser;
afterEach(() => control("DELETE", "/faults"));

const execute = (data: ExecuteToolJob, options: { attempts?: number; jobId?: string } = {}) =>
  h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: options.jobId ?? data.executionId, ...options });

const executions = async (accountId: string) =>
  (await control<{ items: Array<{ connectedAccountId: string; toolSlug: string }> }>("GET", "/executions")).items.filter(
    (e) => e.connectedAccountId === accountId,
  );

const completedEvents = (executionId: string) =>
  h.eventsOf<ExecutionCompletedEventData>(EVENT_TYPES.executionCompleted, (d) => d.execution_id === executionId);

describe("tool execution", () => {
  it("runs a tool on the user's ACTIVE connection of the toolkit and records the result", async () => {
    const { tenantId, accountId, connection } = await connectedUser();
    const data = executionJob(tenantId, { idempotencyKey: "key-1" });
    const job = await execute(data);
    expect(executeToolJobResultSchema.parse(job.returnvalue)).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });

    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({
      tenantId,
      userId: "alice",
      toolSlug: "GITHUB_CREATE_AN_ISSUE",
      status: "SUCCEEDED",
      connectionId: connection.id,
      connectedAccountId: accountId,
      idempotencyKey: "key-1",
      attempts: 1,
      resultTruncated: false,
      errorCode: null,
    });
    expect(row.result).toMatchObject({ issue: { title: "Bug", owner: "acme" }, user_id: `${tenantId}:alice` });
    expect(row.logId).toMatch(/^log/);
    expect(row.durationMs).toEqual(expect.any(Number));
    expect(row.startedAt).not.toBeNull();
    expect(row.completedAt).not.toBeNull();
    expect(await executions(accountId)).toHaveLength(1);

    const event = await h.waitForEvent<ExecutionCompletedEventData>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === data.executionId,
    );
    expect(event).toMatchObject({
      tenantId,
      userId: "alice",
      data: { tool: "GITHUB_CREATE_AN_ISSUE", status: "SUCCEEDED", error: null, log_id: row.logId, duration_ms: row.durationMs },
    });

    // Running the same execution again (a duplicate job) neither runs the tool nor publishes again.
    const again = await execute(data, { jobId: `${data.executionId}-again` });
    expect(again.returnvalue).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    expect(await executions(accountId)).toHaveLength(1);
    expect(completedEvents(data.executionId)).toHaveLength(1);
  });

  it("wakes a request waiting for it (?wait=) with its view, the same as a read of the row shows", async () => {
    const { tenantId } = await connectedUser();
    const data = executionJob(tenantId);
    const listener = h.redis.duplicate();
    try {
      const heard = new Promise<string>((resolve) => listener.on("message", (_channel: string, message: string) => resolve(message)));
      await listener.subscribe(eventKeys(h.config.REDIS_KEY_PREFIX).executionChanged(data.executionId));
      await execute(data);
      const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
      expect(JSON.parse(await heard)).toEqual(JSON.parse(JSON.stringify(toExecutionView(row))));
    } finally {
      listener.disconnect();
    }
  });

  it("accepts our connection id or Composio's account id, and refuses one that is not the user's", async () => {
    const { tenantId, accountId, connection } = await connectedUser();
    const byOurs = await execute(executionJob(tenantId, { connectedAccountId: connection.id }));
    expect(byOurs.returnvalue.status).toBe("SUCCEEDED");
    const byComposio = await execute(executionJob(tenantId, { connectedAccountId: accountId }));
    expect(byComposio.returnvalue.status).toBe("SUCCEEDED");

    const bob = executionJob(tenantId, { userId: "bob", connectedAccountId: accountId });
    const refused = await execute(bob);
    expect(decodeJobFailure(refused.failedReason).code).toBe("NOT_FOUND");
    expect(await h.prisma.execution.findUniqueOrThrow({ where: { id: bob.executionId } })).toMatchObject({
      status: "FAILED",
      errorCode: "NOT_FOUND",
    });
    expect(await executions(accountId)).toHaveLength(2);
  });

  it("fails with a clear code when the connection is not active, and NOT_FOUND when the user has none", async () => {
    const { tenantId, connection } = await connectedUser({ status: "EXPIRED" });
    const data = executionJob(tenantId, { connectedAccountId: connection.id });
    const job = await execute(data);
    expect(job.attemptsMade).toBe(1);
    expect(decodeJobFailure(job.failedReason).message).toContain("not active");
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({ status: "FAILED", errorCode: CONNECTION_NOT_ACTIVE_CODE });
    const event = await h.waitForEvent<ExecutionCompletedEventData>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === data.executionId,
    );
    expect(event.data.error).toEqual({ code: CONNECTION_NOT_ACTIVE_CODE, message: row.errorMessage });

    // No ACTIVE github connection for the user, and sign-in on demand off: NOT_FOUND.
    await h.prisma.toolPolicy.create({ data: { tenantId, userId: "", document: { sign_in_on_demand: false }, updatedBy: "test" } });
    const none = executionJob(tenantId);
    const missing = await execute(none);
    expect(decodeJobFailure(missing.failedReason).code).toBe("NOT_FOUND");
    expect((await h.prisma.execution.findUniqueOrThrow({ where: { id: none.executionId } })).errorCode).toBe("NOT_FOUND");
  });

  it("records FAILED with the provider's message when Composio answers successful: false", async () => {
    const { tenantId } = await connectedUser();
    const data = executionJob(tenantId, { toolSlug: "GITHUB_DELETE_A_REPOSITORY", arguments: { owner: "acme", repo: "app" } });
    const job = await execute(data);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "FAILED" });
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({
      status: "FAILED",
      errorCode: TOOL_FAILED_CODE,
      errorMessage: "403 Forbidden: Must have admin rights to Repository.",
      attempts: 1,
    });
    expect(row.logId).not.toBeNull();
    const event = await h.waitForEvent<ExecutionCompletedEventData>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === data.executionId,
    );
    expect(event.data).toMatchObject({ status: "FAILED", error: { code: TOOL_FAILED_CODE, message: row.errorMessage } });
  });

  it("stores a truncated preview of a result larger than EXECUTION_RESULT_MAX_BYTES", async () => {
    const { tenantId } = await connectedUser();
    const data = executionJob(tenantId, { arguments: { owner: "acme", repo: "app", title: "Big", body: "é".repeat(1_000) } });
    const job = await execute(data);
    expect(job.returnvalue.status).toBe("SUCCEEDED");
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row.resultTruncated).toBe(true);
    expect(typeof row.result).toBe("string");
    const preview = row.result as string;
    expect(Buffer.byteLength(preview, "utf8")).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(preview.startsWith('{"issue":')).toBe(true);
    expect(preview).not.toContain("\uFFFD");
  });

  it("retries a 5xx with backoff and runs the tool exactly once, on the attempt that got through", async () => {
    const { tenantId, accountId } = await connectedUser();
    await control("POST", "/faults", { kind: "server_error", status: 502, path: "/tools/execute/GITHUB_CREATE_AN_ISSUE", times: 2 });
    const data = executionJob(tenantId);
    const job = await execute(data);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(3);
    expect(await executions(accountId)).toHaveLength(1);
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({ status: "SUCCEEDED", attempts: 3 });
    await waitFor(() => completedEvents(data.executionId).length === 1);
  });

  it("does not retry a 4xx: an unknown tool fails at once with NOT_FOUND", async () => {
    const { tenantId } = await connectedUser();
    const data = executionJob(tenantId, { toolSlug: "GITHUB_NO_SUCH_TOOL", arguments: {} });
    const job = await execute(data);
    expect(job.attemptsMade).toBe(1);
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    const requests = await control<{ items: unknown[] }>("GET", "/requests?route=/tools/execute/GITHUB_NO_SUCH_TOOL");
    expect(requests.items).toHaveLength(1);
    expect(await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({
      status: "FAILED",
      errorCode: "NOT_FOUND",
    });
  });

  it("pauses the queue on a 429 (Retry-After) and completes the job later without a failed attempt", async () => {
    const { tenantId, accountId } = await connectedUser();
    await control("POST", "/faults", { kind: "rate_limit", path: "/tools/execute/GITHUB_CREATE_AN_ISSUE", times: 1, retryAfterSeconds: 1 });
    const data = executionJob(tenantId, { arguments: { owner: "acme", repo: "rl", title: "Rate limited" } });
    const queue = h.workers.queues.toolExecution;
    await queue.add(JOBS.executeTool, data, {
      attempts: 5,
      backoff: { type: "exponential", delay: 20, jitter: 0.5 },
      jobId: data.executionId,
    });
    // While paused, the queue reports a rate limit.
    await waitFor(async () => (await queue.getRateLimitTtl(Number.MAX_SAFE_INTEGER)) > 0, { what: "the queue to be rate limited" });
    const job = await h.finished(queue, data.executionId);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(1);
    expect(job.stacktrace ?? []).toEqual([]);
    expect(await executions(accountId)).toHaveLength(1);
    expect((await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).status).toBe("SUCCEEDED");
  });

  it("gives up after its attempts with a reason the row and the event show", async () => {
    const { tenantId, accountId } = await connectedUser();
    await control("POST", "/faults", { kind: "server_error", status: 503, path: "/tools/execute/GITHUB_GET_THE_AUTHENTICATED_USER" });
    const data = executionJob(tenantId, { toolSlug: "GITHUB_GET_THE_AUTHENTICATED_USER", arguments: {} });
    const job = await execute(data, { attempts: 3 });
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(3);
    const failure = decodeJobFailure(job.failedReason);
    expect(failure).toEqual({ code: "UPSTREAM_ERROR", message: "Composio is unavailable (server); gave up after 3 attempts" });
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({ status: "FAILED", errorCode: "UPSTREAM_ERROR", errorMessage: failure.message, attempts: 3 });
    const event = await h.waitForEvent<ExecutionCompletedEventData>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === data.executionId,
    );
    expect(event.data.error).toEqual(failure);
    expect(completedEvents(data.executionId)).toHaveLength(1);
    expect(await executions(accountId)).toHaveLength(0);
  });
});

describe("execution helpers", () => {
  it("derives the toolkit from the tool slug", () => {
    expect(toolkitOfTool("GITHUB_CREATE_ISSUE")).toBe("github");
    expect(toolkitOfTool("NOTION")).toBe("notion");
  });

  it("keeps small results whole", () => {
    expect(storedResult({ a: 1 }, 100)).toEqual({ result: { a: 1 }, truncated: false });
  });
});
