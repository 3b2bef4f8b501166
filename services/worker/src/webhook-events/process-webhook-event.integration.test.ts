import {
  COMPOSIO_WEBHOOK_TYPES,
  type ConnectionStatusEventData,
  EVENT_TYPES,
  JOBS,
  type TriggerDisabledEventData,
  type TriggerMessageEventData,
  WEBHOOK_CLAIM_LEASE_MS,
  WEBHOOK_JOB_CLAIM,
} from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { processWebhookEvent } from "./process-webhook-event.js";

const h = new WorkerHarness();

beforeAll(() => h.start(new FakeComposio()));
afterAll(() => h.stop());

/** Stores a delivery as the webhooks service does, then enqueues its job (job id = webhook id). */
async function deliver(type: string, body: { data?: unknown; metadata?: unknown }, options: { jobId?: string } = {}) {
  const id = `msg_${crypto.randomUUID()}`;
  await h.prisma.webhookEvent.create({
    data: { id, type, payload: { id, timestamp: new Date().toISOString(), type, metadata: body.metadata ?? {}, data: body.data ?? {} } },
  });
  const job = await h.run(h.workers.queues.webhookEvent, JOBS.processWebhookEvent, { webhookId: id }, { jobId: options.jobId ?? id });
  return { id, job, row: await h.prisma.webhookEvent.findUniqueOrThrow({ where: { id } }) };
}

async function connected() {
  const { tenantId } = await createTestTenant(h.prisma);
  const accountId = `ca_${crypto.randomUUID().slice(0, 12)}`;
  const row = await h.connection({ tenantId, userId: "carol", status: "ACTIVE", composioAccountId: accountId, labels: ["x"] });
  return { tenantId, accountId, row };
}

describe("webhook events", () => {
  it("marks the connection EXPIRED on connected_account.expired, once even when delivered twice", async () => {
    const { tenantId, accountId, row } = await connected();
    const first = await deliver(COMPOSIO_WEBHOOK_TYPES.connectedAccountExpired, {
      data: { id: accountId, status: "EXPIRED", status_reason: "Refresh token revoked" },
    });
    expect(first.job.returnvalue).toEqual({ webhook_id: first.id, outcome: "applied", duplicate: false });
    expect(first.row).toMatchObject({ outcome: "applied", tenantId });
    expect(first.row.processedAt).not.toBeNull();
    expect(await h.prisma.connection.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "EXPIRED",
      statusReason: "Refresh token revoked",
    });
    const event = await h.waitForEvent<ConnectionStatusEventData>(EVENT_TYPES.connectionStatus, (d) => d.connection_id === row.id);
    expect(event).toMatchObject({ tenantId, userId: "carol", data: { status: "EXPIRED", previous_status: "ACTIVE" } });

    // The same webhook id processed again (a duplicate job): nothing more happens.
    const again = await h.run(
      h.workers.queues.webhookEvent,
      JOBS.processWebhookEvent,
      { webhookId: first.id },
      { jobId: `${first.id}-dup` },
    );
    expect(again.returnvalue).toEqual({ webhook_id: first.id, outcome: "applied", duplicate: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.eventsOf(EVENT_TYPES.connectionStatus, (d) => d.connection_id === row.id)).toHaveLength(1);
  });

  it("publishes trigger.message to the user of the connected account", async () => {
    const { tenantId, accountId, row } = await connected();
    const delivered = await deliver(COMPOSIO_WEBHOOK_TYPES.triggerMessage, {
      metadata: { trigger_slug: "GITHUB_COMMIT_EVENT", trigger_id: "ti_1", connected_account_id: accountId, user_id: `${tenantId}:carol` },
      data: { commit: "abc123" },
    });
    expect(delivered.row).toMatchObject({ outcome: "applied", tenantId });
    const event = await h.waitForEvent<TriggerMessageEventData>(EVENT_TYPES.triggerMessage, (d) => d.connected_account_id === accountId);
    expect(event).toEqual({
      tenantId,
      userId: "carol",
      type: EVENT_TYPES.triggerMessage,
      data: {
        trigger_slug: "GITHUB_COMMIT_EVENT",
        trigger_id: null,
        composio_trigger_id: "ti_1",
        labels: [],
        connection_id: row.id,
        connected_account_id: accountId,
        user_id: "carol",
        payload: { commit: "abc123" },
      },
    });
  });

  it("falls back to the tenant and user in Composio's user id when the account is unknown to us", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const delivered = await deliver(COMPOSIO_WEBHOOK_TYPES.triggerMessage, {
      metadata: { trigger_slug: "SLACK_MESSAGE", trigger_id: "ti_2", connected_account_id: "ca_unknown1", user_id: `${tenantId}:dave` },
      data: { text: "hi" },
    });
    expect(delivered.row).toMatchObject({ outcome: "applied", tenantId });
    const event = await h.waitForEvent<TriggerMessageEventData>(EVENT_TYPES.triggerMessage, (d) => d.composio_trigger_id === "ti_2");
    expect(event).toMatchObject({ tenantId, userId: "dave", data: { connection_id: null, user_id: "dave" } });
  });

  it("audits and publishes trigger.disabled", async () => {
    const { tenantId, accountId, row } = await connected();
    const delivered = await deliver(COMPOSIO_WEBHOOK_TYPES.triggerDisabled, {
      data: {
        id: "ti_3",
        connected_account_id: accountId,
        trigger_name: "GITHUB_STAR_ADDED_EVENT",
        user_id: `${tenantId}:carol`,
        disabled_at: "2026-11-24T10:00:00Z",
        disabled_reason: "Connection expired",
      },
    });
    expect(delivered.row).toMatchObject({ outcome: "applied", tenantId });
    const event = await h.waitForEvent<TriggerDisabledEventData>(EVENT_TYPES.triggerDisabled, (d) => d.trigger_id === "ti_3");
    expect(event).toMatchObject({
      tenantId,
      userId: "carol",
      data: { connection_id: row.id, trigger_name: "GITHUB_STAR_ADDED_EVENT", disabled_reason: "Connection expired", user_id: "carol" },
    });
    const audit = await h.prisma.auditLog.findFirstOrThrow({ where: { tenantId, action: "trigger.disabled" } });
    expect(audit).toMatchObject({ targetType: "trigger", targetId: "ti_3", actor: "composio:webhook" });
  });

  it("records unknown types and unknown accounts as ignored, with the reason", async () => {
    const unknownType = await deliver("composio.something.new", { data: { x: 1 } });
    expect(unknownType.job.failedReason).toBeUndefined();
    expect(unknownType.row.outcome).toBe('ignored: unknown event type "composio.something.new"');
    expect(unknownType.row.processedAt).not.toBeNull();
    expect(unknownType.row.tenantId).toBeNull();

    const unknownAccount = await deliver(COMPOSIO_WEBHOOK_TYPES.connectedAccountExpired, { data: { id: "ca_nobody" } });
    expect(unknownAccount.row.outcome).toBe('ignored: unknown connected account "ca_nobody"');

    const nobody = await deliver(COMPOSIO_WEBHOOK_TYPES.triggerMessage, {
      metadata: { connected_account_id: "ca_nobody", user_id: "someone" },
    });
    expect(nobody.row.outcome).toMatch(/^ignored: /);
  });
});

describe("webhook claims", () => {
  it("does not publish a delivery whose storing request holds a live claim; takes it over once the lease ran out", async () => {
    const { tenantId, accountId } = await connected();
    const id = `msg_${crypto.randomUUID()}`;
    const type = COMPOSIO_WEBHOOK_TYPES.triggerMessage;
    const payload = { id, type, metadata: { connected_account_id: accountId, trigger_slug: "GITHUB_COMMIT_EVENT" }, data: { claim: id } };
    await h.prisma.webhookEvent.create({ data: { id, type, payload, claimedBy: "ingest:someone", claimedAt: new Date() } });
    const deps = { prisma: h.prisma, bus: h.bus, logger: h.logger };

    await expect(processWebhookEvent(deps, { webhookId: id })).rejects.toThrow(/holds its claim/);
    expect(h.events.filter((e) => (e.data as { payload?: { claim?: string } }).payload?.claim === id)).toEqual([]);

    // The storing request died holding it: past the lease, the job claims the row and publishes it, once.
    await h.prisma.webhookEvent.update({ where: { id }, data: { claimedAt: new Date(Date.now() - WEBHOOK_CLAIM_LEASE_MS - 1_000) } });
    expect(await processWebhookEvent(deps, { webhookId: id })).toMatchObject({ outcome: "applied", duplicate: false });
    expect(await processWebhookEvent(deps, { webhookId: id })).toMatchObject({ duplicate: true });
    await h.waitForEvent<TriggerMessageEventData>(EVENT_TYPES.triggerMessage, (d) => (d.payload as { claim?: string })?.claim === id);
    expect(h.events.filter((e) => (e.data as { payload?: { claim?: string } }).payload?.claim === id)).toHaveLength(1);
    expect(await h.prisma.webhookEvent.findUniqueOrThrow({ where: { id } })).toMatchObject({ tenantId, claimedBy: WEBHOOK_JOB_CLAIM });
  });
});
