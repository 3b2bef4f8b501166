import {
  CALLBACK_SECRET_PARAM,
  ComposioError,
  type ConnectionOpJob,
  type ConnectionStatusEventData,
  callbackSecretMatches,
  connectionOpResultSchema,
  decodeJobFailure,
  EVENT_TYPES,
  JOBS,
  statusPollJobId,
} from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { DELETED_REASON } from "./connection-ops.js";

/** A job as the test writes it: any op, the actor optional. */
type Draft<T> = T extends unknown ? Omit<T, "actor"> & { actor?: string } : never;

const fake = new FakeComposio();
const h = new WorkerHarness();

beforeAll(() => h.start(fake));
afterAll(() => h.stop());

const op = (data: Draft<ConnectionOpJob>) => h.run(h.workers.queues.connectionOps, JOBS.connectionOp, { actor: "api_key:test", ...data });

async function activeConnection(status: "ACTIVE" | "INACTIVE" | "EXPIRED" = "ACTIVE") {
  const { tenantId } = await createTestTenant(h.prisma);
  const account = fake.addAccount({ userId: `${tenantId}:alice`, status, isDisabled: status === "INACTIVE" });
  const row = await h.connection({ tenantId, status, composioAccountId: account.id, labels: ["team:a"] });
  return { tenantId, row, account };
}

const statusEvents = (connectionId: string) =>
  h.eventsOf<ConnectionStatusEventData>(EVENT_TYPES.connectionStatus, (d) => d.connection_id === connectionId);

describe("connection ops", () => {
  it("disables then enables a connection at Composio, with audit rows and connection.status events", async () => {
    const { tenantId, row, account } = await activeConnection();
    const disabled = await op({ tenantId, connectionId: row.id, op: "disable" });
    expect(disabled.failedReason).toBeUndefined();
    expect(connectionOpResultSchema.parse(disabled.returnvalue)).toEqual({ connection_id: row.id, status: "INACTIVE", redirect_url: null });
    expect(fake.accounts.get(account.id)?.isDisabled).toBe(true);
    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === row.id && d.status === "INACTIVE",
    );

    const enabled = await op({ tenantId, connectionId: row.id, op: "enable" });
    expect(enabled.returnvalue.status).toBe("ACTIVE");
    expect(fake.accounts.get(account.id)?.isDisabled).toBe(false);
    const active = await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === row.id && d.status === "ACTIVE",
    );
    expect(active).toMatchObject({ tenantId, userId: "alice", data: { previous_status: "INACTIVE", labels: ["team:a"] } });

    const audit = await h.prisma.auditLog.findMany({ where: { targetId: row.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actor, (a.data as { to: string }).to])).toEqual([
      ["connection.status_changed", "api_key:test", "INACTIVE"],
      ["connection.status_changed", "api_key:test", "ACTIVE"],
    ]);

    // Enabling an ACTIVE connection again changes nothing and publishes nothing.
    const again = await op({ tenantId, connectionId: row.id, op: "enable" });
    expect(again.returnvalue.status).toBe("ACTIVE");
    expect(statusEvents(row.id).map((e) => e.data.status)).toEqual(["INACTIVE", "ACTIVE"]);
  });

  it("refuses a connection of another tenant with NOT_FOUND, without calling Composio", async () => {
    const { row } = await activeConnection();
    const other = await createTestTenant(h.prisma);
    const before = fake.callsOf("setConnectedAccountEnabled").length;
    const job = await op({ tenantId: other.tenantId, connectionId: row.id, op: "disable" });
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    expect(job.attemptsMade).toBe(1);
    expect(fake.callsOf("setConnectedAccountEnabled")).toHaveLength(before);
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: row.id } })).status).toBe("ACTIVE");
  });

  it("refreshes: new hosted link and expiry stored, INITIATED published, status polling restarted", async () => {
    const { tenantId, row, account } = await activeConnection("EXPIRED");
    const job = await op({ tenantId, connectionId: row.id, op: "refresh" });
    const result = connectionOpResultSchema.parse(job.returnvalue);
    expect(result.status).toBe("INITIATED");
    expect(result.redirect_url).toMatch(/^https:\/\/connect\.composio\.example\/link\/refresh_/);
    const callbackUrl = new URL(fake.accounts.get(account.id)!.callbackUrl!);
    expect(`${callbackUrl.origin}${callbackUrl.pathname}`).toBe(
      `${h.config.PUBLIC_GATEWAY_URL}/api/v1/composio/connections/${row.id}/callback`,
    );
    const stored = await h.prisma.connection.findUniqueOrThrow({ where: { id: row.id } });
    // A new link, a new callback secret: only its hash is stored.
    expect(callbackSecretMatches(callbackUrl.searchParams.get(CALLBACK_SECRET_PARAM), stored.callbackSecretHash)).toBe(true);
    expect(stored).toMatchObject({ status: "INITIATED", redirectUrl: result.redirect_url });
    expect(stored.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === row.id && d.status === "INITIATED" && d.previous_status === "EXPIRED",
    );
    expect(await h.prisma.auditLog.count({ where: { targetId: row.id, action: "connection.refreshed" } })).toBe(1);

    // The poller sees the user finish.
    expect(await h.workers.queues.statusPoll.getJob(statusPollJobId(row.id))).toBeDefined();
    fake.setAccountStatus(account.id, "ACTIVE");
    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === row.id && d.status === "ACTIVE" && d.previous_status === "INITIATED",
    );
  });

  it("deletes: account deleted at Composio, REVOKED published with the previous status, row gone, audit kept", async () => {
    const { tenantId, row, account } = await activeConnection();
    const job = await op({ tenantId, connectionId: row.id, op: "delete", actor: "user:alice" });
    expect(job.returnvalue).toEqual({ connection_id: row.id, status: null, redirect_url: null });
    expect(fake.accounts.has(account.id)).toBe(false);
    expect(fake.callsOf("revokeConnectedAccount")).toContain(account.id);
    expect(fake.callsOf("deleteConnectedAccount")).toContain(account.id);
    expect(await h.prisma.connection.findUnique({ where: { id: row.id } })).toBeNull();
    const revoked = await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === row.id && d.status === "REVOKED",
    );
    expect(revoked).toMatchObject({
      tenantId,
      userId: "alice",
      data: { previous_status: "ACTIVE", status_reason: DELETED_REASON, toolkit: "github" },
    });
    const deleted = await h.prisma.auditLog.findFirstOrThrow({ where: { targetId: row.id, action: "connection.deleted" } });
    expect(deleted).toMatchObject({ actor: "user:alice", data: { previous_status: "ACTIVE", composio_account_id: account.id } });

    // Deleting it again: NOT_FOUND, and no second event.
    const again = await op({ tenantId, connectionId: row.id, op: "delete" });
    expect(decodeJobFailure(again.failedReason).code).toBe("NOT_FOUND");
    expect(statusEvents(row.id)).toHaveLength(1);
  });

  it("deletes a connection whose account Composio no longer knows", async () => {
    const { tenantId, row, account } = await activeConnection();
    fake.accounts.delete(account.id);
    const job = await op({ tenantId, connectionId: row.id, op: "delete" });
    expect(job.failedReason).toBeUndefined();
    expect(await h.prisma.connection.findUnique({ where: { id: row.id } })).toBeNull();
  });

  it("updates labels with an audit row", async () => {
    const { tenantId, row } = await activeConnection();
    const job = await op({ tenantId, connectionId: row.id, op: "update_labels", labels: ["prod", "team:b", "prod"] });
    expect(job.returnvalue).toEqual({ connection_id: row.id, status: "ACTIVE", redirect_url: null });
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: row.id } })).labels).toEqual(["prod", "team:b"]);
    const audit = await h.prisma.auditLog.findFirstOrThrow({ where: { targetId: row.id, action: "connection.labels_updated" } });
    expect(audit.data).toEqual({ from: ["team:a"], to: ["prod", "team:b"] });
  });

  it("retries a 5xx and does not retry a 4xx", async () => {
    const { tenantId, row, account } = await activeConnection();
    const mine = (input: unknown) => (input as { id: string }).id === account.id;
    fake.failNext("setConnectedAccountEnabled", new ComposioError("server", "Bad gateway", { status: 502 }), 2, mine);
    const retried = await op({ tenantId, connectionId: row.id, op: "disable" });
    expect(await retried.getState()).toBe("completed");
    expect(retried.attemptsMade).toBe(3);

    fake.failNext("setConnectedAccountEnabled", new ComposioError("client", "Account is locked", { status: 400 }), 1, mine);
    const refused = await op({ tenantId, connectionId: row.id, op: "enable" });
    expect(refused.attemptsMade).toBe(1);
    expect(decodeJobFailure(refused.failedReason)).toEqual({
      code: "BAD_REQUEST",
      message: "Composio rejected the request: Account is locked",
    });
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: row.id } })).status).toBe("INACTIVE");
  });

  it("pauses the queue on a 429 and completes the job later without a failed attempt", async () => {
    const { tenantId, row, account } = await activeConnection();
    fake.failNext(
      "setConnectedAccountEnabled",
      new ComposioError("rate_limited", "Rate limit exceeded", { status: 429, retryAfterSeconds: 1 }),
      1,
      (input) => (input as { id: string }).id === account.id,
    );
    const before = fake.callsOf("setConnectedAccountEnabled").length;
    const job = await op({ tenantId, connectionId: row.id, op: "disable" });
    expect(await job.getState()).toBe("completed");
    // Run twice (the 429, then after the pause), counted as one attempt, with no failure recorded.
    expect(fake.callsOf("setConnectedAccountEnabled").length - before).toBe(2);
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBe(2);
    expect(job.stacktrace ?? []).toEqual([]);
    await waitFor(() => statusEvents(row.id).some((e) => e.data.status === "INACTIVE"));
  });
});
