import { ComposioError, type ConnectionStatusEventData, EVENT_TYPES, JOBS, QUEUES, RECONCILE_SCHEDULER_ID } from "@kronos/shared";
import { createTestTenant, testRedis } from "@kronos/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { scheduleReconciliation } from "../workers.js";
import { LINK_EXPIRED_REASON } from "./poll-connection-status.js";
import { DELETED_AT_COMPOSIO_REASON, reconcileConnections } from "./reconcile-connections.js";

const fake = new FakeComposio();
const h = new WorkerHarness();

beforeAll(() => h.start(fake));
afterAll(() => h.stop());

/** Reconciles one tenant (the scheduled run covers every tenant; other test files share the database). */
const reconcile = (tenantId: string) => h.run(h.workers.queues.reconcile, JOBS.reconcileConnections, { tenantId });

async function scenario() {
  const { tenantId } = await createTestTenant(h.prisma);
  const make = async (
    local: "ACTIVE" | "INITIATED",
    remote: "ACTIVE" | "EXPIRED" | "INITIATED" | null,
    extra: { expiresAt?: Date; disabled?: boolean } = {},
  ) => {
    const account = remote ? fake.addAccount({ userId: `${tenantId}:alice`, status: remote, isDisabled: extra.disabled ?? false }) : null;
    const row = await h.connection({
      tenantId,
      status: local,
      composioAccountId: account?.id ?? `ca_gone_${crypto.randomUUID().slice(0, 8)}`,
      expiresAt: extra.expiresAt ?? null,
    });
    return row.id;
  };
  return {
    tenantId,
    expired: await make("ACTIVE", "EXPIRED"),
    disabled: await make("ACTIVE", "ACTIVE", { disabled: true }),
    deleted: await make("ACTIVE", null),
    stuck: await make("INITIATED", "INITIATED", { expiresAt: new Date(Date.now() - 60_000) }),
    pending: await make("INITIATED", "INITIATED", { expiresAt: new Date(Date.now() + 600_000) }),
    unchanged: await make("ACTIVE", "ACTIVE"),
  };
}

const statusEvents = (connectionId: string) =>
  h.eventsOf<ConnectionStatusEventData>(EVENT_TYPES.connectionStatus, (d) => d.connection_id === connectionId);

describe("reconciliation", () => {
  it("corrects expired, disabled, deleted and stuck connections, publishing each change once", async () => {
    const s = await scenario();
    const job = await reconcile(s.tenantId);
    expect(job.returnvalue).toMatchObject({ checked: 6, corrected: 4, errors: 0, wrapped: true });

    const status = async (id: string) => h.prisma.connection.findUniqueOrThrow({ where: { id } });
    expect(await status(s.expired)).toMatchObject({ status: "EXPIRED" });
    expect(await status(s.disabled)).toMatchObject({ status: "INACTIVE" });
    expect(await status(s.deleted)).toMatchObject({ status: "REVOKED", statusReason: DELETED_AT_COMPOSIO_REASON });
    expect(await status(s.stuck)).toMatchObject({ status: "FAILED", statusReason: LINK_EXPIRED_REASON });
    expect(await status(s.pending)).toMatchObject({ status: "INITIATED" });
    expect(await status(s.unchanged)).toMatchObject({ status: "ACTIVE" });

    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === s.stuck && d.status === "FAILED",
    );
    expect(statusEvents(s.deleted).map((e) => [e.data.previous_status, e.data.status, e.data.status_reason])).toEqual([
      ["ACTIVE", "REVOKED", DELETED_AT_COMPOSIO_REASON],
    ]);
    expect(statusEvents(s.expired).map((e) => e.data.status)).toEqual(["EXPIRED"]);
    expect(statusEvents(s.disabled).map((e) => e.data.status)).toEqual(["INACTIVE"]);

    // Idempotent: a second run (and concurrent direct runs) change and publish nothing more.
    const cursor = { get: async () => null, set: async () => undefined };
    const [again] = await Promise.all([
      reconcile(s.tenantId),
      reconcileConnections({ prisma: h.prisma, composio: fake, bus: h.bus, logger: h.logger, cursor, tenantId: s.tenantId }),
      reconcileConnections({ prisma: h.prisma, composio: fake, bus: h.bus, logger: h.logger, cursor, tenantId: s.tenantId }),
    ]);
    expect(again.returnvalue).toMatchObject({ corrected: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const id of [s.expired, s.disabled, s.deleted, s.stuck]) expect(statusEvents(id)).toHaveLength(1);
    expect(statusEvents(s.pending)).toHaveLength(0);
    expect(statusEvents(s.unchanged)).toHaveLength(0);
  });

  it("reads a bounded batch per run and continues where the previous run stopped", async () => {
    const s = await scenario();
    let stored: string | null = null;
    const cursor = {
      get: async () => stored,
      set: async (id: string | null) => {
        stored = id;
      },
    };
    const deps = { prisma: h.prisma, composio: fake, bus: h.bus, logger: h.logger, cursor, tenantId: s.tenantId, batchSize: 4 };
    const first = await reconcileConnections(deps);
    expect(first).toMatchObject({ checked: 4, wrapped: false });
    expect(stored).not.toBeNull();
    const second = await reconcileConnections(deps);
    expect(second).toMatchObject({ checked: 2, wrapped: true });
    expect(stored).toBeNull();
    expect(first.corrected + second.corrected).toBe(4);
  });

  it("stops on a 429 and pauses the queue; the run completes after the pause", async () => {
    const s = await scenario();
    const ids = new Set((await h.prisma.connection.findMany({ where: { tenantId: s.tenantId } })).map((c) => c.composioAccountId));
    fake.failNext(
      "getConnectedAccount",
      new ComposioError("rate_limited", "Rate limit exceeded", { status: 429, retryAfterSeconds: 1 }),
      1,
      (id) => ids.has(id as string),
    );
    const job = await reconcile(s.tenantId);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(1);
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: s.expired } })).status).toBe("EXPIRED");
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: s.deleted } })).status).toBe("REVOKED");
  });

  it("schedules the repeatable run at start-up unless the interval is 0", async () => {
    // This file's workers started with RECONCILE_INTERVAL_SECONDS=0 (testConfig): no scheduler.
    expect(await h.workers.queues.reconcile.getJobScheduler(RECONCILE_SCHEDULER_ID)).toBeUndefined();
    // On a prefix no worker reads: a scheduled run here would read every test file's connections.
    const queue = new Queue(QUEUES.reconcile, { connection: testRedis(h.config), prefix: `${h.config.REDIS_KEY_PREFIX}-sched` });
    try {
      await scheduleReconciliation(queue, 300);
      await scheduleReconciliation(queue, 600); // a new interval replaces the old one: still one scheduler
      expect(await queue.getJobSchedulers()).toHaveLength(1);
      expect(await queue.getJobScheduler(RECONCILE_SCHEDULER_ID)).toMatchObject({ key: RECONCILE_SCHEDULER_ID, every: 600_000 });
      await scheduleReconciliation(queue, 0);
      expect(await queue.getJobScheduler(RECONCILE_SCHEDULER_ID)).toBeUndefined();
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
