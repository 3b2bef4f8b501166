// Every way a job ends ends its record (issue 11.2), and Postgres outages are not Composio's attempts (issue 11.3).
import {
  type ComposioPort,
  type ConnectionStatusEventData,
  createQueue,
  EVENT_TYPES,
  type ExecuteToolJob,
  type ExecutionCompletedEventData,
  type InitiateConnectionJob,
  JOBS,
  QUEUES,
} from "@kronos/shared";
import { createTestTenant, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { Job, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { TcpProxy } from "../test-support/tcp-proxy.js";
import { INFRA_WAIT_KEY } from "./failure-policy.js";

/** A Composio whose tool runs succeed, counted. */
function countingComposio() {
  const composio = Object.assign(new FakeComposio(), { toolRuns: 0 });
  const executeTool: ComposioPort["executeTool"] = async () => {
    composio.toolRuns += 1;
    return { successful: true, data: { ok: true }, error: null, logId: "log_1" };
  };
  return Object.assign(composio, { executeTool }) as unknown as ComposioPort & { toolRuns: number };
}

const executionJob = (tenantId: string): ExecuteToolJob => ({
  executionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolSlug: "GITHUB_CREATE_AN_ISSUE",
  arguments: { title: "Bug" },
  actor: "api_key:test",
});

describe("a job that BullMQ fails for stalling (two worker deaths)", () => {
  const config = testConfig();
  const prisma = testPrisma(config);
  const redis = testRedis(config);
  const h = new WorkerHarness();
  afterAll(async () => {
    await h.stop();
    await redis.quit();
    await prisma.$disconnect();
  });

  /**
   * A worker that takes the job and dies (never finishes it, never renews its lock), twice, while its stalled-job
   * check hands the job back. The next live worker to fetch it fails it ("job stalled more than allowable limit")
   * without running its handler, with attempts left.
   */
  async function dieTwiceWith(queueName: string, jobId: string): Promise<void> {
    const connection = testRedis(config);
    const dead = new Worker(queueName, null, {
      connection,
      prefix: config.REDIS_KEY_PREFIX,
      lockDuration: 200,
      stalledInterval: 100,
      maxStalledCount: 1,
      autorun: false,
    });
    try {
      for (let death = 1; death <= 2; death++) {
        await waitFor(async () => ((await dead.getNextJob(`dead-${death}`, { block: false }))?.id === jobId ? true : undefined), {
          what: `death ${death}: the worker takes ${jobId}`,
        });
        void dead.startStalledCheckTimer();
        await waitFor(async () => ((await (await Job.fromId(dead, jobId))?.getState()) === "waiting" ? true : undefined), {
          what: `death ${death}: ${jobId} handed back`,
        });
      }
    } finally {
      await dead.close(true);
      await connection.quit();
    }
  }

  it("ends the execution and the connection FAILED, with the reason and one event each", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const execution = executionJob(tenantId);
    const connection: InitiateConnectionJob = {
      connectionId: crypto.randomUUID(),
      tenantId,
      userId: "alice",
      toolkit: "github",
      labels: [],
      actor: "api_key:test",
    };
    // As the dead workers' attempts left them: RUNNING, INITIALIZING.
    await prisma.execution.create({
      data: {
        id: execution.executionId,
        tenantId,
        userId: "alice",
        toolSlug: execution.toolSlug,
        status: "RUNNING",
        attempts: 1,
        startedAt: new Date(),
      },
    });
    await prisma.connection.create({
      data: { id: connection.connectionId, tenantId, userId: "alice", toolkitSlug: "github", status: "INITIALIZING" },
    });
    const executions = createQueue("toolExecution", { connection: redis, prefix: config.REDIS_KEY_PREFIX });
    const connections = createQueue("connection", { connection: redis, prefix: config.REDIS_KEY_PREFIX });
    await executions.add(JOBS.executeTool, execution, { jobId: execution.executionId });
    await connections.add(JOBS.initiateConnection, connection, { jobId: connection.connectionId });
    await dieTwiceWith(QUEUES.toolExecution, execution.executionId);
    await dieTwiceWith(QUEUES.connection, connection.connectionId);
    await executions.close();
    await connections.close();

    // A live worker comes up.
    await h.start(countingComposio(), { config: { REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX } });

    const completed = await h.waitForEvent<ExecutionCompletedEventData>(
      EVENT_TYPES.executionCompleted,
      (d) => d.execution_id === execution.executionId,
    );
    expect(completed.data).toMatchObject({ status: "FAILED", error: { code: "INTERNAL" } });
    expect(completed.data.error?.message).toMatch(/stalled more than allowable limit/);
    expect(await prisma.execution.findUniqueOrThrow({ where: { id: execution.executionId } })).toMatchObject({
      status: "FAILED",
      errorCode: "INTERNAL",
    });

    const failed = await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === connection.connectionId,
    );
    expect(failed.data).toMatchObject({ status: "FAILED", previous_status: "INITIALIZING" });
    expect(failed.data.status_reason).toMatch(/stalled more than allowable limit/);

    const job = await h.finished(h.workers.queues.toolExecution, execution.executionId);
    expect(job.attemptsMade).toBeLessThan(job.opts.attempts ?? 0);
    expect(h.eventsOf(EVENT_TYPES.executionCompleted, (d) => d.execution_id === execution.executionId)).toHaveLength(1);
  });
});

describe("a Postgres outage during a job", () => {
  const proxy = new TcpProxy("127.0.0.1", 5432);
  const composio = countingComposio();
  const h = new WorkerHarness();
  let direct: ReturnType<typeof testPrisma>;
  afterAll(async () => {
    proxy.restore();
    await h.stop();
    await proxy.stop();
    await direct?.$disconnect();
  });

  it("is waited out with its own backoff, not counted as a Composio attempt, and the tool runs once afterwards", async () => {
    const base = testConfig();
    const target = new URL(base.DATABASE_URL);
    Object.assign(proxy, { targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
    direct = testPrisma(base);
    await h.start(composio, {
      config: { DATABASE_URL: proxy.url(base.DATABASE_URL), INFRA_RETRY_MAX_DELAY_MS: "100", COMPOSIO_MAX_ATTEMPTS: "2" },
    });
    const { tenantId } = await createTestTenant(direct);
    await direct.connection.create({
      data: {
        id: crypto.randomUUID(),
        tenantId,
        userId: "alice",
        toolkitSlug: "github",
        status: "ACTIVE",
        composioAccountId: `ca_${crypto.randomUUID()}`,
      },
    });
    const data = executionJob(tenantId);

    proxy.cutOff();
    const queue = h.workers.queues.toolExecution;
    await queue.add(JOBS.executeTool, data, { jobId: data.executionId, attempts: 2, backoff: { type: "fixed", delay: 10 } });
    // Far more waits than the job has attempts, and none of them counted.
    const waiting = await waitFor(
      async () => {
        const job = await Job.fromId(queue, data.executionId);
        const wait = (job?.data as Record<string, { retries: number }> | undefined)?.[INFRA_WAIT_KEY];
        return wait && wait.retries >= 5 ? job : undefined;
      },
      { what: "five waits on Postgres" },
    );
    expect(waiting?.attemptsMade).toBe(0);
    expect(waiting?.finishedOn ?? null).toBeNull();
    expect(composio.toolRuns).toBe(0);

    proxy.restore();
    const job = await h.finished(queue, data.executionId);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(1); // the one attempt that completed
    expect(composio.toolRuns).toBe(1);
    expect(await direct.execution.findUniqueOrThrow({ where: { id: data.executionId } })).toMatchObject({ status: "SUCCEEDED" });
  });
});
