// Trigger jobs with the real Composio adapter against the emulator, the real Postgres and the event bus.
import type { Prisma, Trigger } from "@kronos/db";
import {
  COMPOSIO_WEBHOOK_TYPES,
  decodeJobFailure,
  EVENT_TYPES,
  JOBS,
  type TriggerMessageEventData,
  type TriggerOpJob,
  type TriggerStatusEventData,
} from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { type ConnectedUser, workerOnEmulator } from "../test-support/on-emulator.js";
import { CONNECTION_DELETED_REASON, TRIGGER_DELETED_REASON } from "./trigger-ops.js";

const suite = workerOnEmulator({
  // The config names the emulator too, as in production (the workers themselves use the adapter they are given).
  config: (emulator) => ({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey }),
});
const h = suite.harness;

interface EmulatorInstance {
  id: string;
  slug: string;
  connectedAccountId: string;
  config: Record<string, unknown>;
  disabledAt: string | null;
}

const instances = async () => (await suite.control<{ items: EmulatorInstance[] }>("GET", "/trigger_instances")).items;

/** A user's ACTIVE github connection: the account made at the emulator through its hosted link, the row ours. */
const connection = (userId = "alice") => suite.connectedUser({ userId, signIn: "hosted-link" });

async function pendingTrigger(c: ConnectedUser, config: Record<string, unknown> = { owner: "kronos", repo: "connect" }): Promise<Trigger> {
  return h.prisma.trigger.create({
    data: {
      id: crypto.randomUUID(),
      tenantId: c.tenantId,
      userId: c.connection.userId,
      connectionId: c.connection.id,
      toolkitSlug: "github",
      triggerSlug: "GITHUB_COMMIT_EVENT",
      config: config as Prisma.InputJsonObject,
      labels: ["team:a"],
    },
  });
}

type OpInput = TriggerOpJob extends infer J ? (J extends TriggerOpJob ? Omit<J, "actor"> : never) : never;
const op = (data: OpInput) => h.run(h.workers.queues.triggerOps, JOBS.triggerOp, { actor: "api_key:test", ...data });
const row = (id: string) => h.prisma.trigger.findUnique({ where: { id } });
const statusEvents = (triggerId: string) =>
  h.eventsOf<TriggerStatusEventData>(EVENT_TYPES.triggerStatus, (d) => d.trigger_id === triggerId).map((e) => e.data);

async function created(c: ConnectedUser) {
  const trigger = await pendingTrigger(c);
  const job = await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "create" });
  expect(job.failedReason).toBeUndefined();
  return (await row(trigger.id)) as Trigger;
}

describe("trigger jobs against the emulator", () => {
  it("create: upserts the instance on the connection's account, ACTIVE with its id, one trigger.status; a rerun does nothing", async () => {
    const c = await connection();
    const trigger = await pendingTrigger(c);
    const job = await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "create" });
    expect(job.returnvalue).toEqual({ trigger_id: trigger.id, status: "ACTIVE" });
    const stored = (await row(trigger.id)) as Trigger;
    expect(stored).toMatchObject({ status: "ACTIVE", composioTriggerId: expect.stringMatching(/^ti_/) });
    expect(await instances()).toContainEqual(
      expect.objectContaining({
        id: stored.composioTriggerId,
        connectedAccountId: c.accountId,
        config: { owner: "kronos", repo: "connect" },
      }),
    );
    const event = await h.waitForEvent<TriggerStatusEventData>(EVENT_TYPES.triggerStatus, (d) => d.trigger_id === trigger.id);
    expect(event).toMatchObject({
      tenantId: c.tenantId,
      userId: "alice",
      data: {
        status: "ACTIVE",
        previous_status: "PENDING",
        connection_id: c.connection.id,
        labels: ["team:a"],
        trigger_slug: "GITHUB_COMMIT_EVENT",
      },
    });
    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "create" });
    expect(statusEvents(trigger.id)).toHaveLength(1);
    expect(await h.prisma.auditLog.count({ where: { targetId: trigger.id, action: "trigger.status_changed" } })).toBe(1);
  });

  it("create refused by Composio (config it rejects): FAILED with the reason, a trigger.status, the job failed with BAD_REQUEST", async () => {
    const c = await connection();
    const trigger = await pendingTrigger(c, { owner: "kronos" });
    const job = await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "create" });
    expect(decodeJobFailure(job.failedReason)).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("repo") });
    expect(await row(trigger.id)).toMatchObject({
      status: "FAILED",
      statusReason: expect.stringContaining("repo"),
      composioTriggerId: null,
    });
    expect(statusEvents(trigger.id)).toMatchObject([{ status: "FAILED", previous_status: "PENDING" }]);
  });

  it("create on a connection that is not ACTIVE: CONFLICT, nothing sent to Composio", async () => {
    const c = await connection();
    await h.prisma.connection.update({ where: { id: c.connection.id }, data: { status: "EXPIRED" } });
    const trigger = await pendingTrigger(c);
    const job = await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "create" });
    expect(decodeJobFailure(job.failedReason).code).toBe("CONFLICT");
    expect((await instances()).filter((i) => i.connectedAccountId === c.accountId)).toEqual([]);
  });

  it("another tenant's trigger is not found", async () => {
    const c = await connection();
    const trigger = await pendingTrigger(c);
    const { tenantId: other } = await createTestTenant(h.prisma);
    const job = await op({ tenantId: other, triggerId: trigger.id, op: "create" });
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    expect(await row(trigger.id)).toMatchObject({ status: "PENDING" });
  });

  it("disable and enable at Composio and here, one trigger.status each; update sends the new config and keeps the labels", async () => {
    const c = await connection();
    const trigger = await created(c);
    expect((await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "disable" })).returnvalue).toMatchObject({ status: "DISABLED" });
    expect((await instances()).find((i) => i.id === trigger.composioTriggerId)?.disabledAt).toEqual(expect.any(String));
    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "disable" });
    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "enable" });
    expect((await instances()).find((i) => i.id === trigger.composioTriggerId)?.disabledAt).toBeNull();
    expect(statusEvents(trigger.id).map((e) => e.status)).toEqual(["ACTIVE", "DISABLED", "ACTIVE"]);

    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "update", config: { owner: "kronos", repo: "chat" } });
    expect((await instances()).find((i) => i.id === trigger.composioTriggerId)?.config).toEqual({ owner: "kronos", repo: "chat" });
    expect(await row(trigger.id)).toMatchObject({ config: { repo: "chat" }, labels: ["team:a"] });
    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "update", labels: ["team:b", "prod"] });
    expect(await row(trigger.id)).toMatchObject({ config: { repo: "chat" }, labels: ["team:b", "prod"] });
  });

  it("delete: gone at Composio and here, one DELETED event; a rerun (or an instance already gone) is fine", async () => {
    const c = await connection();
    const trigger = await created(c);
    await fetch(`${suite.emulator.url}/api/v3.1/trigger_instances/manage/${trigger.composioTriggerId}`, {
      method: "DELETE",
      headers: { "x-api-key": suite.emulator.apiKey },
    });
    const job = await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "delete" });
    expect(job.returnvalue).toEqual({ trigger_id: trigger.id, status: null });
    expect(await row(trigger.id)).toBeNull();
    await op({ tenantId: c.tenantId, triggerId: trigger.id, op: "delete" });
    expect(statusEvents(trigger.id).map((e) => [e.status, e.status_reason])).toEqual([
      ["ACTIVE", null],
      ["DELETED", TRIGGER_DELETED_REASON],
    ]);
  });

  it("deleting a connection deletes its triggers first, at Composio and here", async () => {
    const c = await connection();
    const trigger = await created(c);
    const job = await h.run(h.workers.queues.connectionOps, JOBS.connectionOp, {
      tenantId: c.tenantId,
      connectionId: c.connection.id,
      op: "delete",
      actor: "api_key:test",
    });
    expect(job.failedReason).toBeUndefined();
    expect(await row(trigger.id)).toBeNull();
    expect((await instances()).some((i) => i.id === trigger.composioTriggerId)).toBe(false);
    expect(statusEvents(trigger.id).at(-1)).toMatchObject({ status: "DELETED", status_reason: CONNECTION_DELETED_REASON });
  });

  it("Composio's trigger.disabled webhook disables our row; trigger.message carries our trigger id, labels and connection", async () => {
    const c = await connection("carol");
    const trigger = await created(c);
    const deliver = async (type: string, body: { metadata?: unknown; data?: unknown }) => {
      const id = `msg_${crypto.randomUUID()}`;
      await h.prisma.webhookEvent.create({
        data: {
          id,
          type,
          payload: { id, timestamp: new Date().toISOString(), type, metadata: body.metadata ?? {}, data: body.data ?? {} },
        },
      });
      return h.run(h.workers.queues.webhookEvent, JOBS.processWebhookEvent, { webhookId: id }, { jobId: id });
    };
    await deliver(COMPOSIO_WEBHOOK_TYPES.triggerMessage, {
      metadata: {
        trigger_slug: "GITHUB_COMMIT_EVENT",
        trigger_id: trigger.composioTriggerId,
        connected_account_id: c.accountId,
        user_id: `${c.tenantId}:carol`,
      },
      data: { sha: "abc" },
    });
    const message = await h.waitForEvent<TriggerMessageEventData>(EVENT_TYPES.triggerMessage, (d) => d.trigger_id === trigger.id);
    expect(message.data).toMatchObject({
      trigger_id: trigger.id,
      composio_trigger_id: trigger.composioTriggerId,
      labels: ["team:a"],
      connection_id: c.connection.id,
      user_id: "carol",
      payload: { sha: "abc" },
    });

    await deliver(COMPOSIO_WEBHOOK_TYPES.triggerDisabled, {
      data: {
        id: trigger.composioTriggerId,
        connected_account_id: c.accountId,
        trigger_name: "GITHUB_COMMIT_EVENT",
        user_id: `${c.tenantId}:carol`,
        disabled_at: new Date().toISOString(),
        disabled_reason: "Auth expired",
      },
    });
    expect(await row(trigger.id)).toMatchObject({ status: "DISABLED", statusReason: "Auth expired" });
    expect(statusEvents(trigger.id).at(-1)).toMatchObject({ status: "DISABLED", previous_status: "ACTIVE", status_reason: "Auth expired" });
  });
});
