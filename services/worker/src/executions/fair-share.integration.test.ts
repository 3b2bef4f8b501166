import { createQueue, createQueues, executionFairShare, JOBS, QUEUES, queueExecution } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { FlowProducer, type Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import { sweepAcceptedJobs } from "../sweeper/sweep.js";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";

const FLOOD = 600;
const suite = workerOnEmulator({
  // The Composio budget is the bottleneck, as in production under a flood: 30 executions a second.
  config: { COMPOSIO_REQUESTS_PER_MINUTE: "1800", WORKER_CONCURRENCY: "10" },
  // Drops what is left of the flood (hundreds of jobs) before the workers stop.
  beforeStop: () => h.workers.queues.toolExecution.obliterate({ force: true }).catch(() => {}),
});
const h = suite.harness;
/** A tenant whose user "alice" has an ACTIVE github connection at the emulator and in our table. */
const connectedTenant = async () => (await suite.connectedUser()).tenantId;

describe("fair share of executions between tenants", () => {
  it("starts tenant B's execution soon while tenant A floods the queue", async () => {
    const [flooder, other] = [await connectedTenant(), await connectedTenant()];
    const fairShare = executionFairShare(h.redis, h.config.REDIS_KEY_PREFIX);
    const queue = h.workers.queues.toolExecution;
    // Tenant A queues FLOOD executions at once, each admitted as the gateway does.
    const flood = [];
    for (let i = 0; i < FLOOD; i++) {
      const data = executionJob(flooder);
      flood.push({ name: JOBS.executeTool, data, opts: { jobId: data.executionId, priority: await fairShare.admit(flooder) } });
    }
    await queue.addBulk(flood as never);
    // Then tenant B queues one.
    const mine = executionJob(other);
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
      const again = executionJob(busy);
      await queueExecution(queue, again, 3);
      const other = executionJob(quiet);
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
      const lost = executionJob(tenantId);
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
