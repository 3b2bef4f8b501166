// A tool that changes something runs at most once (issue 11.4), and an interrupted execution resumes quickly (11.5):
// against the emulator, whose answer_drop fault runs the tool and then drops the answer.
import { type ComposioPort, createQueue, EVENT_TYPES, type ExecutionCompletedEventData, JOBS, QUEUES } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis, waitFor } from "@kronos/testing";
import { Worker } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import type { JobContext } from "../jobs/context.js";
import { attemptOf } from "../jobs/failure-policy.js";
import { runWithPolicy } from "../jobs/run-job.js";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";
import { OUTCOME_UNKNOWN_CODE } from "./execute-tool.js";
import { executeToolJob } from "./jobs.js";

const config = testConfig({ JOB_LOCK_MS: "1000", JOB_STALLED_CHECK_MS: "500" });
const suite = workerOnEmulator({
  config: {
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
    JOB_LOCK_MS: "1000",
    JOB_STALLED_CHECK_MS: "500",
    COMPOSIO_MAX_ATTEMPTS: "5",
  },
});
const h = suite.harness;
const control = suite.control;
afterEach(() => control("DELETE", "/faults"));

async function connectedUser(options: { retryUnknownOutcomes?: boolean } = {}) {
  const user = await suite.connectedUser();
  if (options.retryUnknownOutcomes) {
    await h.prisma.tenant.update({ where: { id: user.tenantId }, data: { retryUnknownOutcomes: true } });
  }
  return user;
}

const CREATE_ISSUE = "GITHUB_CREATE_AN_ISSUE";
/** Tagged readOnlyHint in the catalogue. */
const READ_USER = "GITHUB_GET_THE_AUTHENTICATED_USER";

const jobData = (tenantId: string, toolSlug: string) =>
  executionJob(tenantId, { toolSlug, arguments: toolSlug === CREATE_ISSUE ? { owner: "acme", repo: "app", title: "Once" } : {} });

/** The tool runs the emulator recorded for one account. */
const runsAt = async (accountId: string) =>
  (await control<{ items: Array<{ connectedAccountId: string }> }>("GET", "/executions")).items.filter(
    (e) => e.connectedAccountId === accountId,
  ).length;

const dropNextAnswer = (toolSlug: string) =>
  control("POST", "/faults", { kind: "answer_drop", path: `/tools/execute/${toolSlug}`, times: 1 });

const completedEvent = (executionId: string) =>
  h.waitForEvent<ExecutionCompletedEventData>(EVENT_TYPES.executionCompleted, (d) => d.execution_id === executionId);

describe("a call whose answer is lost after the tool ran", () => {
  it("ends a tool that changes something OUTCOME_UNKNOWN instead of running it twice", async () => {
    const { tenantId, accountId } = await connectedUser();
    await dropNextAnswer(CREATE_ISSUE);
    const data = jobData(tenantId, CREATE_ISSUE);
    const job = await h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: data.executionId });

    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "OUTCOME_UNKNOWN" });
    expect(await runsAt(accountId)).toBe(1);
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } });
    expect(row).toMatchObject({ status: "OUTCOME_UNKNOWN", errorCode: OUTCOME_UNKNOWN_CODE, attempts: 2 });
    expect(row.errorMessage).toMatch(/may or may not have run/);
    const event = await completedEvent(data.executionId);
    expect(event.data).toMatchObject({ status: "OUTCOME_UNKNOWN", error: { code: OUTCOME_UNKNOWN_CODE } });
  });

  it("runs a read-only tool again", async () => {
    const { tenantId, accountId } = await connectedUser();
    await dropNextAnswer(READ_USER);
    const data = jobData(tenantId, READ_USER);
    const job = await h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: data.executionId });
    expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    expect(await runsAt(accountId)).toBe(2);
  });

  it("runs it again when the tenant's policy says so", async () => {
    const { tenantId, accountId } = await connectedUser({ retryUnknownOutcomes: true });
    await dropNextAnswer(CREATE_ISSUE);
    const data = jobData(tenantId, CREATE_ISSUE);
    const job = await h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: data.executionId });
    expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    expect(await runsAt(accountId)).toBe(2);
  });

  it("does not count a 5xx answer as an unknown outcome: the tool is retried", async () => {
    const { tenantId, accountId } = await connectedUser();
    await control("POST", "/faults", { kind: "server_error", status: 503, path: `/tools/execute/${CREATE_ISSUE}`, times: 1 });
    const data = jobData(tenantId, CREATE_ISSUE);
    const job = await h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: data.executionId });
    expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    expect(await runsAt(accountId)).toBe(1);
  });
});

describe("a worker that dies in the middle of a call", () => {
  it("resumes the execution within seconds and ends it OUTCOME_UNKNOWN, the tool having run once", async () => {
    const { tenantId, accountId } = await connectedUser();
    const data = jobData(tenantId, CREATE_ISSUE);
    // The doomed worker: takes the job, calls Composio (the tool runs), and dies before the answer arrives; its
    // lock is never renewed. The live workers must not take the job first: the job is added to a queue they watch,
    // so the doomed worker takes it by id as soon as it is waiting.
    const connection = testRedis(config);
    const doomed = new Worker(QUEUES.toolExecution, null, {
      connection,
      prefix: config.REDIS_KEY_PREFIX,
      lockDuration: 1_000,
      autorun: false,
    });
    await h.workers.pause();
    const queue = createQueue("toolExecution", { connection: h.redis, prefix: config.REDIS_KEY_PREFIX });
    await queue.add(JOBS.executeTool, data, { jobId: data.executionId, attempts: 5 });
    const job = await waitFor(async () => (await doomed.getNextJob("doomed", { block: false })) ?? undefined, {
      what: "the doomed worker takes the job",
    });
    expect(job.id).toBe(data.executionId);
    const called = { done: false };
    const hangingComposio: ComposioPort = Object.assign(Object.create(suite.composio) as ComposioPort, {
      executeTool: async (input: Parameters<ComposioPort["executeTool"]>[0]) => {
        await suite.composio.executeTool(input);
        called.done = true;
        return new Promise<never>(() => undefined); // dies before it can record the answer
      },
    });
    // Another process: its attempts are not the live workers' to wait for.
    const ctx: JobContext = { ...h.workers.context, composio: hangingComposio, attemptsInFlight: new Map() };
    void runWithPolicy(executeToolJob, data, { job, token: "doomed", log: h.logger, attempt: attemptOf(job, h.config) }, ctx);
    await waitFor(() => called.done || undefined, { what: "the doomed call to reach Composio" });
    await doomed.close(true);
    await connection.quit();
    await queue.close();

    // The live workers come back and find the job whose lock expired.
    await h.workers.resume();
    const event = await completedEvent(data.executionId);
    expect(event.data).toMatchObject({ status: "OUTCOME_UNKNOWN", error: { code: OUTCOME_UNKNOWN_CODE } });
    expect(await runsAt(accountId)).toBe(1);
  });
});

describe("an attempt still running when its job is added again (Redis lost its data meanwhile)", () => {
  it("is waited for: the execution ends with its real outcome, the tool having run once", async () => {
    const { tenantId, accountId } = await connectedUser();
    const data = jobData(tenantId, CREATE_ISSUE);
    // The tool runs at once and its answer takes 1.5 s: the first attempt is mid-call for that long.
    await control("POST", "/faults", { kind: "answer_latency", ms: 1_500, path: `/tools/execute/${CREATE_ISSUE}`, times: 1 });
    const queue = h.workers.queues.toolExecution;
    await queue.add(JOBS.executeTool, data, { jobId: data.executionId, attempts: 5 });
    await waitFor(async () => ((await runsAt(accountId)) === 1 ? true : undefined), { what: "the first attempt's call to run the tool" });

    // Redis loses everything, the job with it; the sweeper adds it again (as here) while the first attempt waits.
    await deleteRedisPrefix(h.redis, h.config.REDIS_KEY_PREFIX);
    await queue.add(JOBS.executeTool, data, { jobId: data.executionId, attempts: 5 });

    const event = await completedEvent(data.executionId);
    expect(event.data).toMatchObject({ status: "SUCCEEDED" });
    expect(await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({ status: "SUCCEEDED" });
    expect(await runsAt(accountId)).toBe(1);
  });
});
