// The emulator is not a dependency of the worker's build: tests use its build directly.
import { CONTROL_PREFIX, type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import {
  type ComposioPort,
  composioUserId,
  createComposioClient,
  createQueue,
  createQueues,
  type ExecuteToolJob,
  executionFairShare,
  JOBS,
  QUEUES,
  queueExecution,
} from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { FlowProducer, type Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepAcceptedJobs } from "../sweeper/sweep.js";
import { WorkerHarness } from "../test-support/harness.js";

let emulator: RunningEmulator;
let composio: ComposioPort;
const h = new WorkerHarness();
const FLOOD = 600;

beforeAll(async () => {
  emulator = await startEmulator();
  composio = createComposioClient({ apiKey: emulator.apiKey, baseUrl: emulator.url, timeoutMs: 5_000 });
  // The Composio budget is the bottleneck, as in production under a flood: 30 executions a second.
  await h.start(composio, { config: { COMPOSIO_REQUESTS_PER_MINUTE: "1800", WORKER_CONCURRENCY: "10" } });
});
afterAll(async () => {
  await h.workers.queues.toolExecution.obliterate({ force: true }).catch(() => {});
  await h.stop();
  await emulator?.close();
});

/** A tenant whose user "alice" has an ACTIVE github connection at the emulator and in our table. */
async function connectedTenant(): Promise<string> {
  const { tenantId } = await createTestTenant(h.prisma);
  const authConfig = await composio.createAuthConfig({ toolkitSlug: "github", managed: true });
  const link = await composio.createConnectLink({ authConfigId: authConfig.id, userId: composioUserId(tenantId, "alice") });
  await fetch(`${emulator.url}${CONTROL_PREFIX}/connected_accounts/${link.connectedAccountId}/status`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ status: "ACTIVE" }),
  });
  await h.connection({ tenantId, status: "ACTIVE", composioAccountId: link.connectedAccountId });
  return tenantId;
}

const job = (tenantId: string): ExecuteToolJob => ({
  executionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolSlug: "GITHUB_CREATE_AN_ISSUE",
  arguments: { owner: "acme", repo: "app", title: "Bug" },
  actor: "api_key:test",
});

describe("fair share of executions between tenants", () => {
  it("starts tenant B's execution soon while tenant A floods the queue", async () => {
    const [flooder, other] = [await connectedTenant(), await connectedTenant()];
    const fairShare = executionFairShare(h.redis, h.config.REDIS_KEY_PREFIX);
    const queue = h.workers.queues.toolExecution;
    // Tenant A queues FLOOD executions at once, each admitted as the gateway does.
    const flood = [];
    for (let i = 0; i < FLOOD; i++) {
      const data = job(flooder);
      flood.push({ name: JOBS.executeTool, data, opts: { jobId: data.executionId, priority: await fairShare.admit(flooder) } });
    }
    await queue.addBulk(flood as never);
    // Then tenant B queues one.
    const mine = job(other);
    const queuedAt = Date.now();
    await queue.add(JOBS.executeTool as never, mine as never, { jobId: mine.executionId, priority: await fairShare.admit(other) });
    const row = await waitFor(
      async () => {
        const execution = await h.prisma.execution.findUnique({ where: { id: mine.executionId } });
        return execution?.status === "SUCCEEDED" ? execution : undefined;
      },
      { what: "tenant B's execution", timeoutMs: 30_000 },
    );
    const startedOfFlood = await h.prisma.execution.count({ where: { tenantId: flooder, startedAt: { lte: row.startedAt! } } });
    // B did not wait behind A's backlog: most of A's executions had not started when B's did.
    expect(startedOfFlood).toBeLessThan(FLOOD / 2);
    console.info(
      `fair share: tenant B's execution started ${row.startedAt!.getTime() - queuedAt} ms after it was queued, behind ${startedOfFlood} of tenant A's ${FLOOD}`,
    );
    // Finished executions give their share back.
    const shareKey = `${h.config.REDIS_KEY_PREFIX}:fair-share:executions:${other}`;
    await waitFor(async () => Number(await h.redis.get(shareKey)) === 0, { what: "tenant B's share given back" });
  });
});

describe("executions queued again get the fair share too (a job without a priority would run before every other)", () => {
  // A queue of its own that no worker drains, so that the jobs stay where they were put.
  const prefix = () => `${h.config.REDIS_KEY_PREFIX}-requeue-${crypto.randomUUID().slice(0, 8)}`;

  it("an approved or woken execution (queueExecution) is admitted like a new one, after the tenant's outstanding jobs", async () => {
    const p = prefix();
    const queue = createQueue("toolExecution", { connection: h.redis, prefix: p });
    try {
      const fairShare = executionFairShare(h.redis, p);
      const [busy, quiet] = [crypto.randomUUID(), crypto.randomUUID()];
      for (let i = 0; i < 4; i++) await fairShare.admit(busy);
      const again = job(busy);
      await queueExecution(queue, again, 3);
      const other = job(quiet);
      await queueExecution(queue, other);
      expect((await queue.getJob(again.executionId))?.opts).toMatchObject({ priority: 5, attempts: 3 });
      expect((await queue.getJob(other.executionId))?.opts.priority).toBe(1);
      // The quiet tenant's job runs first: it is first among the prioritized jobs.
      expect((await queue.getPrioritized()).map((j) => j.id)).toEqual([other.executionId, again.executionId]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it("a job the sweeper adds again (Redis lost it) is admitted with its tenant's priority now", async () => {
    const p = prefix();
    // Every queue (a pass also looks at webhook deliveries and connection polls), none of them drained.
    const queues = Object.values(createQueues({ connection: h.redis, prefix: p })) as unknown as Queue[];
    const queue = queues.find((q) => q.name === QUEUES.toolExecution) as Queue;
    const flows = new FlowProducer({ connection: h.redis, prefix: p });
    try {
      const tenantId = (await createTestTenant(h.prisma)).tenantId;
      await executionFairShare(h.redis, p).admit(tenantId);
      const lost = job(tenantId);
      // Accepted (its record, as the gateway writes it: no priority), then lost by Redis.
      await h.prisma.acceptedJob.create({
        data: {
          keyPrefix: p,
          queue: QUEUES.toolExecution,
          jobId: lost.executionId,
          name: JOBS.executeTool,
          tenantId,
          data: lost as object,
          opts: { jobId: lost.executionId, attempts: 5 },
          createdAt: new Date(Date.now() - 60_000),
        },
      });
      const report = await sweepAcceptedJobs({
        prisma: h.prisma,
        bus: h.bus,
        redis: h.redis,
        prefix: p,
        queues: new Map(queues.map((q) => [q.name, q])),
        flows,
        logger: h.logger,
        graceMs: 1_000,
      });
      expect(report.redriven).toBe(1);
      expect((await queue.getJob(lost.executionId))?.opts).toMatchObject({ priority: 2, attempts: 5 });
    } finally {
      await h.prisma.acceptedJob.deleteMany({ where: { keyPrefix: p } });
      for (const q of queues) {
        await q.obliterate({ force: true });
        await q.close();
      }
      await flows.close();
    }
  });
});
