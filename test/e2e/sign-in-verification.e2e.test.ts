import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrismaClient, type PrismaClient } from "@kronos/db";
import { createQueue, createRedis, hashVerificationCode, JOBS, type Redis } from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, initiate, type Tenant, toolRuns, userToken } from "./flows.js";
import { api, type FeedClient, openFeed, type RunningSystem, startSystem, statusEvents, waitForEvent } from "./support.js";

// The user verifier end to end, through the real services and the Composio emulator. A tenant's backend (a small
// HTTP server here) is the verification URL: its "session" is a cookie naming the signed-in user, and it confirms
// each code for that user with its API key, then sends the browser on. A "browser" follows the emulator's hosted link,
// Composio's redirect to our callback, and our redirect to the tenant's verifier.

let system: RunningSystem;
let prisma: PrismaClient;
let redis: Redis;
let tenant: Tenant;
let verifier: Server;
let verifierUrl: string;
const feeds: FeedClient[] = [];
/** What the tenant's backend got from each confirmation it made, by code. */
const confirmations = new Map<string, { status: number; body: { error?: { code: string }; connection?: { status: string } } }>();

const RETURN_URL = "https://chat.example/done";

/** The tenant's verification page: its session (a cookie) says who the user is; it never trusts a user id in the URL. */
async function tenantVerifier(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", verifierUrl);
  const session = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.cookie ?? "")?.[1];
  const code = url.searchParams.get("code");
  const connectionId = url.searchParams.get("connection_id");
  if (!session || !code || !connectionId) {
    response.writeHead(400).end();
    return;
  }
  const answer = await api<{ error?: { code: string }; connection?: { status: string }; next_url?: string | null }>(
    system.gatewayUrl,
    "POST",
    `/api/v1/composio/connections/${connectionId}/verify`,
    { token: tenant.apiKey, body: { code, user_id: session } },
  );
  confirmations.set(code, { status: answer.status, body: answer.body });
  if (answer.status === 200 && answer.body.next_url) response.writeHead(302, { location: answer.body.next_url }).end();
  else response.writeHead(answer.status === 200 ? 200 : 403, { "content-type": "text/plain" }).end(answer.body.error?.code ?? "ok");
}

interface BrowserTrip {
  /** Our callback, as Composio sent the browser to it. */
  callbackUrl: string;
  /** Where our callback sent the browser: the tenant's verifier, with the code. */
  verifierLocation: URL;
  code: string;
}

/** The user's browser: the emulator's hosted link (consent), then Composio's redirect to our callback. */
async function signInAtProvider(redirectUrl: string): Promise<BrowserTrip> {
  const atComposio = await fetch(redirectUrl, { redirect: "manual" });
  expect(atComposio.status).toBe(302);
  const callbackUrl = atComposio.headers.get("location")!;
  return { callbackUrl, ...(await backAtCallback(callbackUrl)) };
}

async function backAtCallback(callbackUrl: string): Promise<Omit<BrowserTrip, "callbackUrl">> {
  const atGateway = await fetch(callbackUrl, { redirect: "manual" });
  expect(atGateway.status).toBe(302);
  const verifierLocation = new URL(atGateway.headers.get("location")!);
  expect(verifierLocation.origin + verifierLocation.pathname).toBe(`${verifierUrl}/verify`);
  return { verifierLocation, code: verifierLocation.searchParams.get("code")! };
}

/** The browser, signed in at the tenant as `sessionUser`, follows our redirect to the tenant's verifier. */
async function atVerifier(trip: Pick<BrowserTrip, "verifierLocation">, sessionUser: string): Promise<Response> {
  return fetch(trip.verifierLocation, { redirect: "manual", headers: { cookie: `session=${sessionUser}` } });
}

const connection = (id: string) => prisma.connection.findUniqueOrThrow({ where: { id } });
const refusals = async (id: string) =>
  (await prisma.auditLog.findMany({ where: { targetId: id, action: "connection.verification_refused" }, orderBy: { id: "asc" } })).map(
    (r) => (r.data as { reason: string }).reason,
  );

async function feed(token: string): Promise<FeedClient> {
  const client = await openFeed(system.webhooksUrl, { token });
  feeds.push(client);
  return client;
}

/** A user starts a connection and signs in at the provider; Composio's account is then ACTIVE. */
async function signedInAtProvider(userId: string, app = "github") {
  const token = await userToken(system, tenant, userId);
  const userFeed = await feed(token);
  const { connectionId, redirectUrl } = await initiate(system, token, { user_id: userId, app_name: app, redirect_url: RETURN_URL });
  expect((await connection(connectionId)).verification).toBe("AWAITING_SIGN_IN");
  const trip = await signInAtProvider(redirectUrl);
  // The worker sees the account ACTIVE at Composio, and holds the connection for the tenant's confirmation.
  await waitFor(async () => (await connection(connectionId)).verification === "AWAITING_CONFIRMATION", {
    what: "the sign-in to be seen at Composio",
  });
  return { token, userFeed, connectionId, trip };
}

beforeAll(async () => {
  verifier = createServer((request, response) => {
    tenantVerifier(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => verifier.listen(0, "127.0.0.1", resolve));
  verifierUrl = `http://127.0.0.1:${(verifier.address() as AddressInfo).port}`;
  system = await startSystem();
  prisma = createPrismaClient(system.env.DATABASE_URL!, { poolSize: 2 });
  redis = createRedis(system.env.REDIS_URL || "redis://127.0.0.1:6379");
  tenant = await createTenant(system);
  const set = await api(system.gatewayUrl, "PUT", "/api/v1/tenant/settings", {
    token: tenant.apiKey,
    body: { verification_url: `${verifierUrl}/verify` },
  });
  expect(set.status).toBe(200);
}, 90_000);

afterAll(async () => {
  for (const client of feeds) client.close();
  await prisma?.$disconnect();
  await redis?.quit();
  await system?.stop();
  await new Promise<void>((resolve) => (verifier ? verifier.close(() => resolve()) : resolve()));
});

describe("a sign-in confirmed by the tenant's verifier", () => {
  it("becomes ACTIVE only once the tenant's backend confirms the same user, then the browser goes back to the app", async () => {
    const { userFeed, connectionId, trip } = await signedInAtProvider("alice");
    expect(trip.verifierLocation.searchParams.get("connection_id")).toBe(connectionId);
    expect(trip.code).toMatch(/^kcv_/);
    expect(await connection(connectionId)).toMatchObject({ status: "INITIATED" });

    const landed = await atVerifier(trip, "alice");
    expect(confirmations.get(trip.code)?.status).toBe(200);
    expect(landed.status).toBe(302);
    const back = new URL(landed.headers.get("location")!);
    expect(back.origin + back.pathname).toBe(RETURN_URL);
    // The tenant is answered once the worker has re-read Composio (ACTIVE), or after CONNECT_WAIT_MS on a machine too
    // busy for that (INITIATED, confirmed: ACTIVE moments later); the browser is told which.
    const answered = confirmations.get(trip.code)?.body.connection?.status;
    expect(["ACTIVE", "INITIATED"]).toContain(answered);
    expect(Object.fromEntries(back.searchParams)).toEqual({
      connection_id: connectionId,
      status: answered === "ACTIVE" ? "success" : "unknown",
    });
    await waitFor(() => statusEvents(userFeed, connectionId).includes("ACTIVE"), { what: "ACTIVE on alice's socket" });
    expect(statusEvents(userFeed, connectionId)).toEqual(["INITIATED", "ACTIVE"]);
    expect(await connection(connectionId)).toMatchObject({ status: "ACTIVE", verification: "CONFIRMED" });
    const actions = (await prisma.auditLog.findMany({ where: { targetId: connectionId }, orderBy: { id: "asc" } })).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(["connection.verification_pending", "connection.verification_code_issued", "connection.verified"]),
    );

    // The same code again (a replayed request): refused and audited; nothing changes.
    const replay = await atVerifier(trip, "alice");
    expect(replay.status).toBe(403);
    expect(confirmations.get(trip.code)?.body.error?.code).toBe("VERIFICATION_CODE_USED");
    expect(await refusals(connectionId)).toEqual(["code_used"]);
  });

  it("fails when the code is confirmed for another user, and the right user cannot reuse the code afterwards", async () => {
    // Mallory got alice's link and signed in with her own account; her browser reaches the tenant as mallory.
    const { userFeed, connectionId, trip } = await signedInAtProvider("alice", "slack");
    const refused = await atVerifier(trip, "mallory");
    expect(refused.status).toBe(403);
    expect(confirmations.get(trip.code)).toMatchObject({ status: 403, body: { error: { code: "VERIFICATION_USER_MISMATCH" } } });
    await waitFor(() => statusEvents(userFeed, connectionId).includes("FAILED"), { what: "FAILED on alice's socket" });
    expect(await connection(connectionId)).toMatchObject({ status: "FAILED", verification: "REFUSED" });

    const reused = await atVerifier(trip, "alice");
    expect(reused.status).toBe(403);
    expect(confirmations.get(trip.code)?.body.error?.code).toBe("VERIFICATION_CODE_USED");
    expect(await refusals(connectionId)).toEqual(["user_mismatch", "code_used"]);
    expect(statusEvents(userFeed, connectionId)).toEqual(["INITIATED", "FAILED"]);
  });

  it("refuses an expired code, and the user can come back through the callback for a new one", async () => {
    const { userFeed, connectionId, trip } = await signedInAtProvider("erin");
    // Time passes: the code's five minutes are over.
    await prisma.connectionVerificationCode.updateMany({
      where: { codeHash: hashVerificationCode(trip.code) },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    expect((await atVerifier(trip, "erin")).status).toBe(403);
    expect(confirmations.get(trip.code)?.body.error?.code).toBe("VERIFICATION_CODE_EXPIRED");
    expect(await connection(connectionId)).toMatchObject({ status: "INITIATED", verification: "AWAITING_CONFIRMATION" });
    expect(await refusals(connectionId)).toEqual(["code_expired"]);

    const again = await backAtCallback(trip.callbackUrl);
    expect(again.code).not.toBe(trip.code);
    expect((await atVerifier(again, "erin")).status).toBe(302);
    await waitFor(() => statusEvents(userFeed, connectionId).includes("ACTIVE"), { what: "ACTIVE after a new code" });
  });

  it("is not bypassed by Composio's side: reconciliation, a callback's check, enable, or a tool run on the account", async () => {
    const { token, userFeed, connectionId, trip } = await signedInAtProvider("frank");
    const accountId = (await connection(connectionId)).composioAccountId!;

    // Reconciliation of the tenant (Composio says ACTIVE).
    const reconcile = createQueue("reconcile", { connection: redis, prefix: system.env.REDIS_KEY_PREFIX! });
    try {
      const job = await reconcile.add(JOBS.reconcileConnections, { tenantId: tenant.tenantId }, { jobId: randomUUID() });
      await waitFor(async () => ((await reconcile.getJob(job.id!))?.finishedOn ? true : undefined), { what: "the reconciliation" });
      expect((await reconcile.getJob(job.id!))?.returnvalue).toMatchObject({ corrected: 0 });
    } finally {
      await reconcile.close();
    }
    // Someone who knows the connection id opens the bare callback URL (no link secret) right after the sign-in: a
    // check, no code, the sign-in shown as failed to them; the real callback URL carries the link's secret.
    const callbackUrl = new URL(trip.callbackUrl);
    expect(callbackUrl.searchParams.get("k")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bare = await fetch(`${callbackUrl.origin}${callbackUrl.pathname}?status=success`, { redirect: "manual" });
    expect(bare.status).toBe(302);
    const bareLocation = new URL(bare.headers.get("location")!);
    expect(bareLocation.origin + bareLocation.pathname).toBe(RETURN_URL);
    expect(Object.fromEntries(bareLocation.searchParams)).toEqual({ connection_id: connectionId, status: "failed" });
    // The browser reloads the real callback with a forged success: another check, another code, no ACTIVE.
    callbackUrl.searchParams.set("status", "success");
    const forged = await fetch(callbackUrl, { redirect: "manual" });
    expect(forged.status).toBe(302);
    expect(new URL(forged.headers.get("location")!).searchParams.get("code")).toMatch(/^kcv_/);
    // Enabling it.
    const enable = await api(system.gatewayUrl, "POST", `/api/v1/composio/connections/${connectionId}/enable`, { token });
    expect(enable.status).toBe(409);
    // Running a tool on Composio's account directly.
    const title = `bypass-${randomUUID()}`;
    const run = await api<{ status: string; execution_id: string }>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute?wait=5", {
      token: tenant.apiKey,
      body: {
        user_id: "frank",
        connected_account_id: accountId,
        action_name: "GITHUB_CREATE_AN_ISSUE",
        params: { owner: "a", repo: "b", title },
      },
    });
    expect(run.body.status).not.toBe("SUCCEEDED");
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toEqual([]);

    // After all of that, a status check of our own (queued after the forged callback's) reads Composio's ACTIVE
    // account, and the connection still waits for the tenant.
    const polls = createQueue("statusPoll", { connection: redis, prefix: system.env.REDIS_KEY_PREFIX! });
    try {
      const data = { connectionId, tenantId: tenant.tenantId, attempt: 0 };
      const job = await polls.add(JOBS.pollConnectionStatus, data, { jobId: `e2e-${randomUUID()}`, removeOnComplete: false });
      await waitFor(async () => ((await polls.getJob(job.id!))?.finishedOn ? true : undefined), { what: "our status check" });
      expect((await polls.getJob(job.id!))?.returnvalue).toEqual({ status: "INITIATED" });
    } finally {
      await polls.close();
    }
    expect(await connection(connectionId)).toMatchObject({ status: "INITIATED", verification: "AWAITING_CONFIRMATION" });
    expect(statusEvents(userFeed, connectionId)).toEqual(["INITIATED"]);
  });

  it("resumes an execution parked on the sign-in once the tenant confirms (sign-in on demand)", async () => {
    const carol = await userToken(system, tenant, "carol");
    const carolFeed = await feed(carol);
    const title = `verified-${randomUUID()}`;
    const parked = await api<{ execution_id: string; status: string; authorization?: { connection_id: string; redirect_url: string } }>(
      system.gatewayUrl,
      "POST",
      "/api/v1/composio/tools/execute?wait=5",
      { token: tenant.apiKey, body: { user_id: "carol", action_name: "GITHUB_CREATE_AN_ISSUE", params: { owner: "a", repo: "b", title } } },
    );
    expect(parked.body.status).toBe("AWAITING_AUTH");
    const { connection_id: connectionId, redirect_url: link } = parked.body.authorization!;
    const trip = await signInAtProvider(link);
    await waitFor(async () => (await connection(connectionId)).verification === "AWAITING_CONFIRMATION", { what: "the sign-in" });
    // Signed in at the provider, not confirmed: the tool has not run.
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toEqual([]);

    await atVerifier(trip, "carol");
    await waitForEvent(carolFeed, "execution.completed", (d) => d.execution_id === parked.body.execution_id, "the execution to finish");
    const done = await api<{ status: string }>(system.gatewayUrl, "GET", `/api/v1/composio/executions/${parked.body.execution_id}`, {
      token: tenant.apiKey,
    });
    expect(done.body.status).toBe("SUCCEEDED");
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });
});
