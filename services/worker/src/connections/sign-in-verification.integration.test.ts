import {
  CALLBACK_SECRET_PARAM,
  type ConnectionStatusEventData,
  callbackSecretMatches,
  connectionOpResultSchema,
  decodeJobFailure,
  EVENT_TYPES,
  type InitiateConnectionJob,
  JOBS,
  statusPollJobId,
} from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { NOT_CONFIRMED_REASON, REFUSED_REASON } from "./poll-connection-status.js";
import { reconcileConnections } from "./reconcile-connections.js";

// The user verifier's side in the worker: with a tenant verifier, no path that reads Composio (the poller, a
// callback's one-shot check, reconciliation) and no operation makes a connection ACTIVE until the tenant has
// confirmed the user; once confirmed, the next read does, through the one status change.

const fake = new FakeComposio();
const h = new WorkerHarness();

beforeAll(() => h.start(fake));
afterAll(() => h.stop());

const VERIFIER = "https://chat.example/verify";

async function tenantWithVerifier(verificationUrl: string | null = VERIFIER) {
  const { tenantId } = await createTestTenant(h.prisma);
  await h.prisma.tenant.update({ where: { id: tenantId }, data: { verificationUrl } });
  return tenantId;
}

/** Starts a connection through the real connection job, as the gateway queues it. */
async function initiate(tenantId: string, userId = "alice") {
  const data: InitiateConnectionJob = {
    connectionId: crypto.randomUUID(),
    tenantId,
    userId,
    toolkit: "github",
    labels: [],
    actor: "api_key:test",
  };
  const job = await h.run(h.workers.queues.connection, JOBS.initiateConnection, data, { jobId: data.connectionId });
  expect(job.failedReason).toBeUndefined();
  return h.prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
}

/** A one-shot status check, as the gateway's callback and verification add them. */
const check = (row: { id: string; tenantId: string }) =>
  h.run(h.workers.queues.statusPoll, JOBS.pollConnectionStatus, { connectionId: row.id, tenantId: row.tenantId, attempt: 0 });

const row = (id: string) => h.prisma.connection.findUniqueOrThrow({ where: { id } });
const statuses = (id: string) =>
  h.eventsOf<ConnectionStatusEventData>(EVENT_TYPES.connectionStatus, (d) => d.connection_id === id).map((e) => e.data.status);
const actions = async (id: string) =>
  (await h.prisma.auditLog.findMany({ where: { targetId: id }, orderBy: { id: "asc" } })).map((a) => a.action);

describe("a tenant with a user verifier", () => {
  it("keeps a connection INITIATED while Composio says ACTIVE, whatever reads it, until the tenant confirms", async () => {
    const tenantId = await tenantWithVerifier();
    const started = await initiate(tenantId);
    expect(started).toMatchObject({ status: "INITIATED", verification: "AWAITING_SIGN_IN" });

    // The user signs in at the provider: the main poller sees ACTIVE at Composio, and holds the connection.
    fake.setAccountStatus(started.composioAccountId!, "ACTIVE");
    await waitFor(async () => (await row(started.id)).verification === "AWAITING_CONFIRMATION", { what: "the poller to see the sign-in" });
    expect(await row(started.id)).toMatchObject({ status: "INITIATED" });

    // A callback's one-shot check, reconciliation and an enable all read or want ACTIVE: none of them makes it so.
    expect((await check(started)).returnvalue).toEqual({ status: "INITIATED" });
    const cursor = { get: async () => null, set: async () => undefined };
    const reconciled = await reconcileConnections({ prisma: h.prisma, composio: fake, bus: h.bus, logger: h.logger, cursor, tenantId });
    expect(reconciled).toMatchObject({ checked: 1, corrected: 0 });
    const enable = await h.run(h.workers.queues.connectionOps, JOBS.connectionOp, {
      tenantId,
      connectionId: started.id,
      op: "enable",
      actor: "api_key:test",
    });
    expect(decodeJobFailure(enable.failedReason).code).toBe("CONFLICT");
    expect(await row(started.id)).toMatchObject({ status: "INITIATED", verification: "AWAITING_CONFIRMATION" });
    expect(statuses(started.id)).toEqual(["INITIATED"]);
    // Held once, audited once, however many reads saw ACTIVE.
    expect((await actions(started.id)).filter((a) => a === "connection.verification_pending")).toHaveLength(1);

    // The tenant's backend confirms (what POST .../verify writes): the next read makes it ACTIVE, once.
    await h.prisma.connection.update({ where: { id: started.id }, data: { verification: "CONFIRMED" } });
    expect((await check(started)).returnvalue).toEqual({ status: "ACTIVE" });
    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === started.id && d.status === "ACTIVE",
    );
    expect(statuses(started.id)).toEqual(["INITIATED", "ACTIVE"]);
    expect(await actions(started.id)).toEqual([
      "connection.initiated",
      "connection.status_changed",
      "connection.verification_pending",
      "connection.status_changed",
    ]);
    await waitFor(async () => (await h.workers.queues.statusPoll.getJob(statusPollJobId(started.id))) === undefined, {
      what: "the poller to stop",
    });
  });

  it("fails a connection the tenant refused (another user), even with Composio's account ACTIVE", async () => {
    const tenantId = await tenantWithVerifier();
    const started = await initiate(tenantId);
    fake.setAccountStatus(started.composioAccountId!, "ACTIVE");
    await h.prisma.connection.update({ where: { id: started.id }, data: { verification: "REFUSED" } });
    expect((await check(started)).returnvalue).toEqual({ status: "FAILED" });
    expect(await row(started.id)).toMatchObject({ status: "FAILED", statusReason: REFUSED_REASON, verification: "REFUSED" });
    await h.waitForEvent<ConnectionStatusEventData>(
      EVENT_TYPES.connectionStatus,
      (d) => d.connection_id === started.id && d.status === "FAILED" && d.status_reason === REFUSED_REASON,
    );
    expect(statuses(started.id)).not.toContain("ACTIVE");
  });

  it("fails a sign-in the tenant did not confirm before the connection's expiry, saying so", async () => {
    const tenantId = await tenantWithVerifier();
    const started = await initiate(tenantId);
    fake.setAccountStatus(started.composioAccountId!, "ACTIVE");
    await waitFor(async () => (await row(started.id)).verification === "AWAITING_CONFIRMATION", { what: "the sign-in to be seen" });
    await h.prisma.connection.update({ where: { id: started.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    await waitFor(async () => (await row(started.id)).status === "FAILED", { what: "the expiry" });
    expect(await row(started.id)).toMatchObject({ statusReason: NOT_CONFIRMED_REASON });
    expect(statuses(started.id)).not.toContain("ACTIVE");
  });

  it("asks for a new confirmation when a connection is re-authorised (a new link is a new sign-in)", async () => {
    const tenantId = await tenantWithVerifier();
    const account = fake.addAccount({ userId: `${tenantId}:alice`, status: "ACTIVE", isDisabled: false });
    const active = await h.connection({ tenantId, status: "ACTIVE", composioAccountId: account.id });
    const job = await h.run(h.workers.queues.connectionOps, JOBS.connectionOp, {
      tenantId,
      connectionId: active.id,
      op: "refresh",
      actor: "api_key:test",
    });
    expect(connectionOpResultSchema.parse(job.returnvalue).status).toBe("INITIATED");
    expect(await row(active.id)).toMatchObject({ status: "INITIATED", verification: "AWAITING_SIGN_IN" });
  });
});

describe("the callback secret", () => {
  /** The secret in the callback URL the worker last gave Composio for this connection. */
  const secretGiven = (connectionId: string) => {
    const urls = fake.calls
      .map(({ input }) => (input as { callbackUrl?: string }).callbackUrl)
      .filter((url): url is string => url?.includes(`/connections/${connectionId}/callback`) ?? false);
    return new URL(urls.at(-1)!).searchParams.get(CALLBACK_SECRET_PARAM)!;
  };

  it("is in the callback URL of each link given to Composio, stored only hashed, and replaced by a new link", async () => {
    const started = await initiate(await tenantWithVerifier());
    const first = secretGiven(started.id);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callbackSecretMatches(first, started.callbackSecretHash)).toBe(true);
    expect(JSON.stringify(started)).not.toContain(first);

    const job = await h.run(h.workers.queues.connectionOps, JOBS.connectionOp, {
      tenantId: started.tenantId,
      connectionId: started.id,
      op: "refresh",
      actor: "api_key:test",
    });
    expect(job.failedReason).toBeUndefined();
    const refreshed = await row(started.id);
    const second = secretGiven(started.id);
    expect(second).not.toBe(first);
    expect(callbackSecretMatches(second, refreshed.callbackSecretHash)).toBe(true);
    expect(callbackSecretMatches(first, refreshed.callbackSecretHash)).toBe(false);
  });
});

describe("a tenant without a verifier", () => {
  it("needs no confirmation: today's behaviour, the weaker option", async () => {
    const tenantId = await tenantWithVerifier(null);
    const started = await initiate(tenantId);
    expect(started).toMatchObject({ status: "INITIATED", verification: null });
    fake.setAccountStatus(started.composioAccountId!, "ACTIVE");
    await waitFor(async () => (await row(started.id)).status === "ACTIVE", { what: "ACTIVE without confirmation" });
  });
});
