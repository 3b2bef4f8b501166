// The execution row's attempt bookkeeping (one INSERT ... ON CONFLICT per attempt): the job's handler, called directly.
import { type PrismaClient, prismaSql, toExecutionView } from "@kronos/db";
import { createLogger, decodeJobFailure, EVENT_TYPES, type ExecuteToolJob } from "@kronos/shared";
import { createTestTenant, testConfig, testPrisma } from "@kronos/testing";
import { type Job, UnrecoverableError } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobContext } from "../jobs/context.js";
import { runWithPolicy } from "../jobs/run-job.js";
import type { ExecuteToolDeps } from "./execute-tool.js";
import { recordOutcome } from "./execution-store.js";
import { executeToolJob } from "./jobs.js";

let prisma: PrismaClient;
const published: Array<{ type: string; data: unknown }> = [];
let toolRuns = 0;
const deps = (): ExecuteToolDeps => ({
  config: { EXECUTION_RESULT_MAX_BYTES: 10_000, INFRA_RETRY_MAX_DELAY_MS: 100, INFRA_RETRY_MAX_MS: 1_000 },
  prisma,
  composio: {
    getTool: async () => {
      throw new Error("not used: no earlier call was left unanswered");
    },
    executeTool: async () => {
      toolRuns += 1;
      return { successful: true, data: { ok: true }, error: null, logId: "log_1" };
    },
  },
  bus: {
    publish: async (event) => {
      published.push(event);
      return {} as never; // the published envelope: not used by executeTool
    },
  },
  logger: createLogger("worker-test", "silent"),
});
const first = { attemptsMade: 0, maxAttempts: 3 };

/** One attempt of the execution job, under the failure policy (refusals end the row), without BullMQ. */
const runExecution = (data: ExecuteToolJob) =>
  runWithPolicy(executeToolJob, data, { job: { data } as unknown as Job, token: undefined, log: deps().logger, attempt: first }, {
    ...deps(),
    config: { ...testConfig(), EXECUTION_RESULT_MAX_BYTES: 10_000 },
  } as unknown as JobContext);

beforeAll(() => {
  prisma = testPrisma(testConfig());
});
afterAll(async () => {
  await prisma?.$disconnect();
});

async function userWithConnection() {
  const { tenantId } = await createTestTenant(prisma);
  const connection = await prisma.connection.create({
    data: {
      id: crypto.randomUUID(),
      tenantId,
      userId: "alice",
      toolkitSlug: "github",
      status: "ACTIVE",
      composioAccountId: `ca_${crypto.randomUUID()}`,
    },
  });
  return { tenantId, connection };
}

const job = (tenantId: string, overrides: Partial<ExecuteToolJob> = {}): ExecuteToolJob => ({
  executionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolSlug: "GITHUB_STAR_A_REPO",
  arguments: { owner: "acme", nested: { list: [1, "two", null] } },
  actor: "api_key:test",
  ...overrides,
});

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnrecoverableError);
  return decodeJobFailure((error as Error).message);
}

describe("execution attempts", () => {
  it("creates the row with its arguments, connection and UTC timestamps, and counts later attempts on a QUEUED row", async () => {
    const { tenantId, connection } = await userWithConnection();
    const before = Date.now();
    const data = job(tenantId);
    await runExecution(data);
    const row = await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
      arguments: data.arguments,
      connectionId: connection.id,
      connectedAccountId: connection.composioAccountId,
      idempotencyKey: null,
    });
    for (const at of [row.createdAt, row.startedAt as Date]) {
      expect(at.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(at.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    }

    // A row the gateway left QUEUED (or an earlier attempt left RUNNING) gets the attempt counted and keeps started_at.
    const startedAt = new Date("2026-01-01T00:00:00.000Z");
    const queued = job(tenantId, { idempotencyKey: "k-queued" });
    await prisma.execution.create({
      data: { id: queued.executionId, tenantId, userId: "alice", toolSlug: queued.toolSlug, status: "RUNNING", attempts: 2, startedAt },
    });
    await runExecution(queued);
    expect(await prisma.execution.findUniqueOrThrow({ where: { id: queued.executionId } })).toMatchObject({
      status: "SUCCEEDED",
      attempts: 3,
      startedAt,
      idempotencyKey: "k-queued",
      connectionId: connection.id,
    });
  });

  it("does not run a finished execution again, even when its connection is gone", async () => {
    const { tenantId, connection } = await userWithConnection();
    const data = job(tenantId);
    await runExecution(data);
    const runs = toolRuns;
    const events = published.length;
    await prisma.connection.delete({ where: { id: connection.id } });
    expect(await runExecution(data)).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    expect(toolRuns).toBe(runs);
    expect(published).toHaveLength(events);
    expect(await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({ attempts: 1 });
  });

  it("refuses an execution id of another tenant and an idempotency key held by another execution", async () => {
    const { tenantId } = await userWithConnection();
    const other = await userWithConnection();
    const data = job(tenantId, { idempotencyKey: "k-1" });
    await runExecution(data);
    const runs = toolRuns;

    expect(await failureOf(runExecution({ ...data, tenantId: other.tenantId }))).toMatchObject({ code: "CONFLICT" });
    expect(await failureOf(runExecution(job(tenantId, { idempotencyKey: "k-1" })))).toMatchObject({ code: "CONFLICT" });
    expect(toolRuns).toBe(runs);
    expect(await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({ tenantId, attempts: 1 });
  });

  it("records a connection refusal on the row, publishing it once", async () => {
    const { tenantId } = await createTestTenant(prisma);
    // No connection, and no sign-in on demand (sign-in-on-demand.integration.test.ts covers it): refused.
    await prisma.toolPolicy.create({ data: { tenantId, userId: "", document: { sign_in_on_demand: false }, updatedBy: "test" } });
    const data = job(tenantId);
    expect(await failureOf(runExecution(data))).toMatchObject({ code: "NOT_FOUND" });
    expect(await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({
      status: "FAILED",
      errorCode: "NOT_FOUND",
      attempts: 1,
      connectionId: null,
    });
    const completed = published.filter(
      (e) => e.type === EVENT_TYPES.executionCompleted && (e.data as { execution_id: string }).execution_id === data.executionId,
    );
    expect(completed).toHaveLength(1);
  });

  it("the outcome writes the whole row, final, when the attempt's row is missing (its commit, asynchronous, was lost with Postgres); a final row stays", async () => {
    const { tenantId } = await userWithConnection();
    const data = job(tenantId, { idempotencyKey: `k-${crypto.randomUUID()}` });
    const outcome = { status: "SUCCEEDED" as const, error: null, durationMs: 7, logId: "log_9", result: { ok: 1 }, resultTruncated: false };
    const view = await recordOutcome(prismaSql(prisma), data, outcome, new Date());
    const row = await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({
      tenantId,
      userId: "alice",
      toolSlug: data.toolSlug,
      arguments: data.arguments,
      idempotencyKey: data.idempotencyKey,
      status: "SUCCEEDED",
      result: { ok: 1 },
      durationMs: 7,
      logId: "log_9",
    });
    // What it answers is the execution as the API shows it: the same as a read of the row.
    expect(toExecutionView(view!)).toEqual(toExecutionView(row));
    // Final: a second outcome changes nothing and answers nothing.
    expect(await recordOutcome(prismaSql(prisma), data, { ...outcome, status: "FAILED" }, new Date())).toBeNull();
    expect((await prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).status).toBe("SUCCEEDED");
  });
});
