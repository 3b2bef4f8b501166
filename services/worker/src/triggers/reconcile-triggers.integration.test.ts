// Our trigger rows against Composio's trigger instances (GET /trigger_instances/active), at the emulator.
import type { Trigger } from "@kronos/db";
import {
  ComposioError,
  EVENT_TYPES,
  JOBS,
  QUEUES,
  type ReconcileTriggersResult,
  TRIGGER_RECONCILE_SCHEDULER_ID,
  type TriggerStatusEventData,
} from "@kronos/shared";
import { createTestTenant, testRedis } from "@kronos/testing";
import { Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import type { RunCursor } from "../jobs/redis-cursor.js";
import { type ConnectedUser, workerOnEmulator } from "../test-support/on-emulator.js";
import { scheduleTriggerReconciliation } from "../workers.js";
import {
  reconcileTriggers,
  SETTLE_MS,
  TRIGGER_DISABLED_AT_COMPOSIO_REASON,
  TRIGGER_ENABLED_AT_COMPOSIO_REASON,
  TRIGGER_GONE_AT_COMPOSIO_REASON,
} from "./reconcile-triggers.js";

const suite = workerOnEmulator({
  // The config names the emulator too, as in production (the workers themselves use the adapter they are given).
  config: (emulator) => ({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey }),
});
const h = suite.harness;

/** A user's ACTIVE github connection (in a new tenant unless given), signed in through the hosted link's page. */
const connection = (userId = "alice", tenantId?: string) => suite.connectedUser({ userId, tenantId, signIn: "hosted-link" });

/** A trigger made through our API: its instance at the emulator, its row ACTIVE (or as given) with the instance's id. */
async function trigger(c: ConnectedUser, slug: string, status: Trigger["status"] = "ACTIVE") {
  const { triggerId } = await suite.composio.upsertTriggerInstance(slug, {
    connectedAccountId: c.accountId,
    config: { owner: "kronos", repo: "connect" },
  });
  if (status === "DISABLED") await suite.composio.setTriggerInstanceEnabled(triggerId, false);
  return h.prisma.trigger.create({
    data: {
      id: crypto.randomUUID(),
      tenantId: c.tenantId,
      userId: c.connection.userId,
      connectionId: c.connection.id,
      toolkitSlug: "github",
      triggerSlug: slug,
      composioTriggerId: triggerId,
      status,
      config: { owner: "kronos", repo: "connect" },
      labels: ["ci"],
    },
  });
}

/** Rows changed longer ago than the settle time, as they are between a change and a later run. */
const age = (tenantId: string) =>
  h.prisma.$executeRaw`UPDATE triggers SET updated_at = updated_at - interval '10 minutes' WHERE tenant_id = ${tenantId}::uuid`;

function memoryCursor(): RunCursor & { value: string | null } {
  return {
    value: null,
    async get() {
      return this.value;
    },
    async set(lastId) {
      this.value = lastId;
    },
  };
}

/** One run for one tenant, with the clock past the settle time (the emulator's instances were just made). */
const runFor = (tenantId: string, cursor = memoryCursor(), batchSize?: number) =>
  reconcileTriggers({
    prisma: h.prisma,
    composio: suite.composio,
    bus: h.bus,
    logger: h.logger,
    cursor,
    tenantId,
    ...(batchSize ? { batchSize } : {}),
    now: () => new Date(Date.now() + SETTLE_MS + 60_000),
  });

const row = (id: string) => h.prisma.trigger.findUniqueOrThrow({ where: { id } });
const statusEvents = (triggerId: string) =>
  h.eventsOf<TriggerStatusEventData>(EVENT_TYPES.triggerStatus, (d) => d.trigger_id === triggerId).map((e) => e.data);
const emulatorInstances = async () => (await suite.control<{ items: Array<{ id: string }> }>("GET", "/trigger_instances")).items;

describe("trigger reconciliation against the emulator", () => {
  it("corrects what drifted at Composio: gone → FAILED, disabled → DISABLED, enabled → ACTIVE, each with its reason and one trigger.status", async () => {
    const c = await connection();
    const other = await connection("alice", c.tenantId);
    // One instance per account and trigger type, as at Composio: two accounts for four triggers.
    const gone = await trigger(c, "GITHUB_COMMIT_EVENT");
    const disabled = await trigger(c, "GITHUB_STAR_ADDED_EVENT");
    const enabled = await trigger(other, "GITHUB_COMMIT_EVENT", "DISABLED");
    const fine = await trigger(other, "GITHUB_STAR_ADDED_EVENT");
    // Changes made at Composio, not through us (or whose webhook we missed).
    await suite.composio.deleteTriggerInstance(gone.composioTriggerId as string);
    await suite.composio.setTriggerInstanceEnabled(disabled.composioTriggerId as string, false);
    await suite.composio.setTriggerInstanceEnabled(enabled.composioTriggerId as string, true);

    const summary = await runFor(c.tenantId);
    expect(summary).toEqual({ connections: 2, corrected: 3, orphans: 0, errors: 0, wrapped: true });
    expect(await row(gone.id)).toMatchObject({ status: "FAILED", statusReason: TRIGGER_GONE_AT_COMPOSIO_REASON });
    expect(await row(disabled.id)).toMatchObject({ status: "DISABLED", statusReason: TRIGGER_DISABLED_AT_COMPOSIO_REASON });
    expect(await row(enabled.id)).toMatchObject({ status: "ACTIVE", statusReason: TRIGGER_ENABLED_AT_COMPOSIO_REASON });
    expect(await row(fine.id)).toMatchObject({ status: "ACTIVE", statusReason: null });
    expect(statusEvents(gone.id)).toEqual([
      expect.objectContaining({
        status: "FAILED",
        previous_status: "ACTIVE",
        status_reason: TRIGGER_GONE_AT_COMPOSIO_REASON,
        labels: ["ci"],
      }),
    ]);
    expect(statusEvents(disabled.id)).toMatchObject([{ status: "DISABLED", previous_status: "ACTIVE" }]);
    expect(statusEvents(enabled.id)).toMatchObject([{ status: "ACTIVE", previous_status: "DISABLED" }]);
    expect(statusEvents(fine.id)).toEqual([]);
    expect(await h.prisma.auditLog.count({ where: { targetId: gone.id, action: "trigger.status_changed" } })).toBe(1);

    // A second run finds nothing left to correct, and publishes nothing more.
    expect(await runFor(c.tenantId)).toMatchObject({ corrected: 0, orphans: 0 });
    expect(statusEvents(gone.id)).toHaveLength(1);
  });

  it("reports an instance on our connection that is no trigger of ours, and leaves it at Composio", async () => {
    const c = await connection("bob");
    await trigger(c, "GITHUB_COMMIT_EVENT");
    // Made at Composio outside our API (or left behind by a trigger whose row is gone).
    const { triggerId: orphan } = await suite.composio.upsertTriggerInstance("GITHUB_STAR_ADDED_EVENT", {
      connectedAccountId: c.accountId,
      config: { owner: "kronos", repo: "connect" },
    });
    expect(await runFor(c.tenantId)).toMatchObject({ connections: 1, corrected: 0, orphans: 1 });
    expect((await emulatorInstances()).map((i) => i.id)).toContain(orphan);
  });

  it("leaves alone what changed in the last minute (an operation may be under way)", async () => {
    const c = await connection("carol");
    const recent = await trigger(c, "GITHUB_COMMIT_EVENT");
    await suite.composio.deleteTriggerInstance(recent.composioTriggerId as string);
    const summary = await reconcileTriggers({
      prisma: h.prisma,
      composio: suite.composio,
      bus: h.bus,
      logger: h.logger,
      cursor: memoryCursor(),
      tenantId: c.tenantId,
    });
    expect(summary).toMatchObject({ connections: 1, corrected: 0 });
    expect(await row(recent.id)).toMatchObject({ status: "ACTIVE" });
  });

  it("walks the connections in batches, continuing where the last run stopped", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const made = [];
    for (const user of ["u1", "u2", "u3"]) made.push(await trigger(await connection(user, tenantId), "GITHUB_COMMIT_EVENT"));
    for (const t of made) await suite.composio.deleteTriggerInstance(t.composioTriggerId as string);
    const cursor = memoryCursor();
    const first = await runFor(tenantId, cursor, 2);
    expect(first).toMatchObject({ connections: 2, corrected: 2, wrapped: false });
    expect(cursor.value).not.toBeNull();
    const second = await runFor(tenantId, cursor, 2);
    expect(second).toMatchObject({ connections: 1, corrected: 1, wrapped: true });
    expect(cursor.value).toBeNull();
    for (const t of made) expect(await row(t.id)).toMatchObject({ status: "FAILED" });
  });

  it("stops on a Composio 429 with the cursor where it was, so that the queue pauses and the batch is read again", async () => {
    const c = await connection("erin");
    const cursor = memoryCursor();
    cursor.value = "00000000-0000-0000-0000-000000000000";
    const limited = new ComposioError("rate_limited", "Too many requests", { status: 429, retryAfterSeconds: 2 });
    const run = reconcileTriggers({
      prisma: h.prisma,
      composio: { listTriggerInstances: () => Promise.reject(limited) },
      bus: h.bus,
      logger: h.logger,
      cursor,
      tenantId: c.tenantId,
    });
    await expect(run).rejects.toBe(limited);
    expect(cursor.value).toBe("00000000-0000-0000-0000-000000000000");
  });

  it("runs as the scheduled job through the registry and the Composio adapter", async () => {
    const c = await connection("dave");
    const gone = await trigger(c, "GITHUB_COMMIT_EVENT");
    await suite.composio.deleteTriggerInstance(gone.composioTriggerId as string);
    await age(c.tenantId);
    const job = await h.run(h.workers.queues.triggerReconcile as unknown as Queue, JOBS.reconcileTriggers, { tenantId: c.tenantId });
    expect(job.returnvalue as ReconcileTriggersResult).toMatchObject({ connections: 1, corrected: 1 });
    expect(await row(gone.id)).toMatchObject({ status: "FAILED", statusReason: TRIGGER_GONE_AT_COMPOSIO_REASON });
  });

  it("keeps one scheduler whatever the interval, and removes it with 0", async () => {
    // This file's workers started with TRIGGER_RECONCILE_INTERVAL_SECONDS=0 (testConfig): no scheduler.
    expect(await h.workers.queues.triggerReconcile.getJobScheduler(TRIGGER_RECONCILE_SCHEDULER_ID)).toBeUndefined();
    // On a prefix no worker reads: a scheduled run here would read every test file's triggers.
    const queue = new Queue(QUEUES.triggerReconcile, { connection: testRedis(h.config), prefix: `${h.config.REDIS_KEY_PREFIX}-sched` });
    try {
      await scheduleTriggerReconciliation(queue, 300);
      await scheduleTriggerReconciliation(queue, 600); // a new interval replaces the old one: still one scheduler
      expect(await queue.getJobSchedulers()).toHaveLength(1);
      expect(await queue.getJobScheduler(TRIGGER_RECONCILE_SCHEDULER_ID)).toMatchObject({
        key: TRIGGER_RECONCILE_SCHEDULER_ID,
        every: 600_000,
      });
      await scheduleTriggerReconciliation(queue, 0);
      expect(await queue.getJobScheduler(TRIGGER_RECONCILE_SCHEDULER_ID)).toBeUndefined();
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
