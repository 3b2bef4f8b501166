// The sweeper against what a Redis that lost data leaves behind (issue 11.1): nothing at all, a stub a worker fetched
// after its hash went (locked), a whole job no state list holds, and executions queued again (sign-in, approval)
// whose new job is lost. Each must run, once. Only the accepted-jobs part of a pass runs here: the webhook and
// status-poll parts read the whole database, which test files share.
import { type AcceptedJobRecord, recordAcceptedJob } from "@kronos/db";
import { composioUserId, EVENT_TYPES, type ExecuteToolJob, type InitiateConnectionJob, JOBS, QUEUES } from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { wakeParkedOn } from "../executions/wake-parked.js";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";
import { sweepDeps } from "./jobs.js";
import { sweepAcceptedRecords } from "./sweep.js";

const suite = workerOnEmulator();
const h = suite.harness;

const prefix = () => h.config.REDIS_KEY_PREFIX;
/** One pass over this file's accepted jobs, as if the grace had passed (records are dated back instead). */
const sweep = () => sweepAcceptedRecords(sweepDeps(h.workers.context, h.logger));

/** An accepted job's record, as the gateway writes it before its 2xx, dated past the sweeper's grace. */
async function accepted(record: AcceptedJobRecord): Promise<void> {
  await recordAcceptedJob(h.prisma, prefix(), record);
  await ageRecord(record.jobId);
}
/** How many times the sweeper added the job again. */
const redrives = async (jobId: string) =>
  (await h.prisma.acceptedJob.findFirstOrThrow({ where: { keyPrefix: prefix(), jobId } })).redriveCount;
const ageRecord = (jobId: string) =>
  h.prisma.acceptedJob.updateMany({ where: { keyPrefix: prefix(), jobId }, data: { createdAt: new Date(Date.now() - 60_000) } });

function initiation(tenantId: string): InitiateConnectionJob {
  return {
    connectionId: crypto.randomUUID(),
    tenantId,
    userId: `u-${crypto.randomUUID()}`,
    toolkit: "github",
    labels: [],
    actor: "api_key:t",
  };
}
const initiationRecord = (data: InitiateConnectionJob): AcceptedJobRecord => ({
  queue: QUEUES.connection,
  name: JOBS.initiateConnection,
  jobId: data.connectionId,
  tenantId: data.tenantId,
  data,
  opts: { jobId: data.connectionId },
});
const initiated = (connectionId: string) =>
  waitFor(
    async () => {
      const row = await h.prisma.connection.findUnique({ where: { id: connectionId } });
      return row?.status === "INITIATED" ? row : undefined;
    },
    { what: `connection ${connectionId} to be INITIATED` },
  );
/** Connected accounts the emulator holds for one of our users: one per run of the initiation. */
async function accountsAtComposio(tenantId: string, userId: string): Promise<number> {
  const response = await fetch(
    `${suite.emulator.url}/api/v3/connected_accounts?user_ids=${encodeURIComponent(composioUserId(tenantId, userId))}`,
    {
      headers: { "x-api-key": suite.emulator.apiKey },
    },
  );
  return ((await response.json()) as { items: unknown[] }).items.length;
}

describe("the sweeper, after Redis lost data", () => {
  it("adds back an accepted job Redis does not have at all, once", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const data = initiation(tenantId);
    await accepted(initiationRecord(data));
    await sweep();
    await initiated(data.connectionId);
    await sweep();
    expect(await redrives(data.connectionId)).toBe(1);
    expect(await accountsAtComposio(tenantId, data.userId)).toBe(1);
  });

  it("replaces the locked stub a worker leaves when it fetches a job id whose hash is gone", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const data = initiation(tenantId);
    await accepted(initiationRecord(data));
    // What BullMQ's moveToActive writes for an id still listed after its hash was lost: a lock, the id in the active
    // list, and a hash with only processedOn and the attempt count (no name, no data). BullMQ's remove refuses a locked
    // job, and an add with the id sees the stub and does nothing.
    const key = `${prefix()}:${QUEUES.connection}:${data.connectionId}`;
    await h.redis.hset(key, "processedOn", Date.now(), "ats", 1);
    await h.redis.set(`${key}:lock`, "a-worker-that-will-never-finish", "PX", 120_000);
    await h.redis.lpush(`${prefix()}:${QUEUES.connection}:active`, data.connectionId);

    await sweep();
    expect(await redrives(data.connectionId)).toBe(1);
    await initiated(data.connectionId);
    expect(await accountsAtComposio(tenantId, data.userId)).toBe(1);
  });

  it("adds back a whole job that no state list holds (its list was lost): no worker would ever fetch it", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const data = initiation(tenantId);
    await accepted(initiationRecord(data));
    await h.workers.pause();
    try {
      await h.workers.queues.connection.add(JOBS.initiateConnection, data, { jobId: data.connectionId });
      await h.redis.lrem(`${prefix()}:${QUEUES.connection}:wait`, 0, data.connectionId);
      await sweep();
      expect(await redrives(data.connectionId)).toBe(1);
    } finally {
      h.workers.resume();
    }
    await initiated(data.connectionId);
    expect(await accountsAtComposio(tenantId, data.userId)).toBe(1);
  });

  it("leaves a waiting job alone", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const data = initiation(tenantId);
    await accepted(initiationRecord(data));
    await h.workers.pause();
    try {
      await h.workers.queues.connection.add(JOBS.initiateConnection, data, { jobId: data.connectionId });
      await sweep();
      expect(await redrives(data.connectionId)).toBe(0);
    } finally {
      h.workers.resume();
    }
    await initiated(data.connectionId);
    expect(await accountsAtComposio(tenantId, data.userId)).toBe(1);
  });
});

describe("executions queued again (sign-in, approval)", () => {
  /** An execution parked AWAITING_AUTH by sign-in on demand, and its connection, signed in at Composio. */
  async function parkedOnSignIn(): Promise<{ job: ExecuteToolJob; connectionId: string }> {
    const { tenantId } = await createTestTenant(h.prisma);
    const job = executionJob(tenantId, { arguments: { owner: "acme", repo: "app", title: `requeued ${crypto.randomUUID()}` } });
    const parked = await h.run(h.workers.queues.toolExecution, JOBS.executeTool, job, { jobId: job.executionId });
    expect(parked.returnvalue).toMatchObject({ status: "AWAITING_AUTH" });
    const execution = await h.prisma.execution.findUniqueOrThrow({ where: { id: job.executionId } });
    const connection = await h.prisma.connection.findUniqueOrThrow({ where: { id: execution.connectionId as string } });
    // The user signs in at Composio; the workers are paused from here, so nothing notices by itself.
    await h.workers.pause();
    await suite.control("PUT", `/connected_accounts/${connection.composioAccountId}/status`, { status: "ACTIVE" });
    await h.prisma.connection.update({ where: { id: connection.id }, data: { status: "ACTIVE" } });
    return { job, connectionId: connection.id };
  }
  const succeeded = (executionId: string) =>
    h.waitForEvent<{ execution_id: string; status: string }>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === executionId && d.status === "SUCCEEDED",
    );
  const runsAtComposio = async (title: string) => {
    const { items } = await suite.control<{ items: Array<{ arguments: { title?: string } }> }>(
      "GET",
      "/executions?tool_slug=GITHUB_CREATE_AN_ISSUE",
    );
    return items.filter((item) => item.arguments.title === title).length;
  };

  it("woken after a sign-in, then Redis flushed before it ran: it runs, once", async () => {
    const { job, connectionId } = await parkedOnSignIn();
    try {
      await wakeParkedOn(h.workers.context, { id: connectionId, status: "ACTIVE", statusReason: null });
      expect(await h.prisma.execution.findUniqueOrThrow({ where: { id: job.executionId } })).toMatchObject({ status: "QUEUED" });
      await deleteRedisPrefix(h.redis, prefix());
      await ageRecord(job.executionId);
      await sweep();
      expect(await redrives(job.executionId)).toBe(1);
    } finally {
      h.workers.resume();
    }
    await succeeded(job.executionId);
    expect(await runsAtComposio(job.arguments.title as string)).toBe(1);
  });

  it("queued again while Redis still holds the finished job that parked it (a Redis back from an older snapshot)", async () => {
    const { job, connectionId } = await parkedOnSignIn();
    const key = `${prefix()}:${QUEUES.toolExecution}:${job.executionId}`;
    const parkingRun = await h.redis.hgetall(key);
    const finishedAt = Number(parkingRun.finishedOn);
    try {
      await wakeParkedOn(h.workers.context, { id: connectionId, status: "ACTIVE", statusReason: null });
      // The snapshot: the new job is gone, the run that parked the execution is back, finished.
      await deleteRedisPrefix(h.redis, prefix());
      await h.redis.hset(key, parkingRun);
      await h.redis.zadd(`${prefix()}:${QUEUES.toolExecution}:completed`, finishedAt, job.executionId);
      await ageRecord(job.executionId);
      await sweep();
      expect(await redrives(job.executionId)).toBe(1);
    } finally {
      h.workers.resume();
    }
    await succeeded(job.executionId);
    expect(await runsAtComposio(job.arguments.title as string)).toBe(1);
  });
});
