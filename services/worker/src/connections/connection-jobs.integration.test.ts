import type { PrismaClient } from "@kronos/db";
import {
  CALLBACK_SECRET_PARAM,
  ComposioError,
  type Config,
  type ConnectionStatusEventData,
  callbackSecretMatches,
  createLogger,
  DEFAULT_JOB_OPTIONS,
  decodeBusMessage,
  decodeJobFailure,
  EVENT_TYPES,
  EventBus,
  eventKeys,
  type InitiateConnectionJob,
  initiateConnectionResultSchema,
  JOBS,
  QUEUES,
  type Redis,
  statusPollJobId,
} from "@kronos/shared";
// @kronos/testing is not a dependency of the worker (it pulls in the emulator): use its build directly.
import { createTestTenant, deleteRedisPrefix, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { Job, type JobsOptions, Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { type RunningWorkers, startWorkers } from "../workers.js";
import { ACCOUNT_GONE_REASON, LINK_EXPIRED_REASON, pollConnectionStatus } from "./poll-connection-status.js";

interface StatusEvent {
  tenantId: string;
  userId: string | null;
  data: ConnectionStatusEventData;
}

let config: Config;
let prisma: PrismaClient;
let redis: Redis;
let subscriber: Redis;
let bus: EventBus;
let workers: RunningWorkers;
let connectionQueue: Queue;
let pollQueue: Queue;
const fake = new FakeComposio();
const events: StatusEvent[] = [];
const logger = createLogger("worker-test", process.env.TEST_LOG_LEVEL ?? "silent");
/** Jobs retry quickly in tests; the gateway's real options use DEFAULT_JOB_OPTIONS. */
const FAST_RETRIES: JobsOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { type: "fixed", delay: 20 } };

beforeAll(async () => {
  config = testConfig();
  prisma = testPrisma(config);
  redis = testRedis(config);
  subscriber = testRedis(config);
  bus = new EventBus(redis, config.REDIS_KEY_PREFIX, 1_000);
  await subscriber.subscribe(eventKeys(config.REDIS_KEY_PREFIX).channel);
  subscriber.on("message", (_channel: string, message: string) => {
    const decoded = decodeBusMessage(message);
    if (decoded?.event.type === EVENT_TYPES.connectionStatus) {
      events.push({ tenantId: decoded.tenantId, userId: decoded.userId, data: decoded.event.data as ConnectionStatusEventData });
    }
  });
  workers = await startWorkers({ config, prisma, composio: fake, bus, logger, connection: () => testRedis(config) });
  connectionQueue = new Queue(QUEUES.connection, { connection: testRedis(config), prefix: config.REDIS_KEY_PREFIX });
  pollQueue = new Queue(QUEUES.statusPoll, { connection: testRedis(config), prefix: config.REDIS_KEY_PREFIX });
});

afterAll(async () => {
  await workers?.close();
  await connectionQueue?.close();
  await pollQueue?.close();
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await subscriber?.quit();
  await redis?.quit();
  await prisma?.$disconnect();
});

function jobData(tenantId: string, overrides: Partial<InitiateConnectionJob> = {}): InitiateConnectionJob {
  return {
    connectionId: crypto.randomUUID(),
    tenantId,
    userId: "alice",
    toolkit: "github",
    labels: ["team:a"],
    actor: "api_key:test",
    ...overrides,
  };
}

/** Adds a connection job the way the gateway does (job id = connection id) and waits until it is finished. */
async function runConnectionJob(data: InitiateConnectionJob, options: JobsOptions = FAST_RETRIES, jobId = data.connectionId) {
  await connectionQueue.add(JOBS.initiateConnection, data, { ...options, jobId });
  return waitFor(
    async () => {
      const job = await Job.fromId(connectionQueue, jobId);
      return job?.finishedOn ? job : undefined;
    },
    { what: `connection job ${jobId}` },
  );
}

const eventsOf = (connectionId: string) => events.filter((e) => e.data.connection_id === connectionId);
const waitForEvent = (connectionId: string, status: string) =>
  waitFor(() => eventsOf(connectionId).find((e) => e.data.status === status), { what: `${status} event of ${connectionId}` });

describe("connection job", () => {
  it("starts a connection: Connection and AuditLog rows, INITIATED then ACTIVE events, callback URL", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const data = jobData(tenantId, { returnUrl: "https://app.example/done", labels: ["team:a", "prod"] });
    const job = await runConnectionJob(data);
    expect(job.failedReason).toBeUndefined();
    const result = initiateConnectionResultSchema.parse(job.returnvalue);
    expect(result.connection_id).toBe(data.connectionId);
    expect(result.status).toBe("INITIATED");
    expect(result.redirect_url).toMatch(/^https:\/\/connect\.composio\.example\/link\//);
    expect(result.expires_at).not.toBeNull();

    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    expect(row).toMatchObject({
      tenantId,
      userId: "alice",
      toolkitSlug: "github",
      status: "INITIATED",
      labels: ["team:a", "prod"],
      returnUrl: "https://app.example/done",
    });
    expect(row.composioAccountId).toMatch(/^ca_/);
    expect(row.redirectUrl).toBe(result.redirect_url);
    const account = fake.accounts.get(row.composioAccountId!)!;
    expect(account.via).toBe("link");
    expect(account.userId).toBe(`${tenantId}:alice`);
    // The callback URL carries the link's secret; only its hash is stored.
    const callbackUrl = new URL(account.callbackUrl!);
    expect(`${callbackUrl.origin}${callbackUrl.pathname}`).toBe(
      `${config.PUBLIC_GATEWAY_URL}/api/v1/composio/connections/${data.connectionId}/callback`,
    );
    expect(callbackSecretMatches(callbackUrl.searchParams.get(CALLBACK_SECRET_PARAM), row.callbackSecretHash)).toBe(true);

    const audit = await prisma.auditLog.findMany({ where: { tenantId, targetId: data.connectionId }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["connection.initiated", "connection.status_changed"]);
    expect(audit[0]?.actor).toBe("api_key:test");
    expect(audit[1]?.data).toMatchObject({ from: "INITIALIZING", to: "INITIATED" });

    const initiated = await waitForEvent(data.connectionId, "INITIATED");
    expect(initiated).toMatchObject({
      tenantId,
      userId: "alice",
      data: { user_id: "alice", toolkit: "github", previous_status: "INITIALIZING", labels: ["team:a", "prod"] },
    });

    fake.setAccountStatus(row.composioAccountId!, "ACTIVE");
    const active = await waitForEvent(data.connectionId, "ACTIVE");
    expect(active.data.previous_status).toBe("INITIATED");
    expect((await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } })).status).toBe("ACTIVE");
    // The poller stops once the connection is settled (completed jobs are removed).
    await waitFor(async () => (await pollQueue.getJob(statusPollJobId(data.connectionId))) === undefined, { what: "the poller to stop" });
    expect(eventsOf(data.connectionId).map((e) => e.data.status)).toEqual(["INITIATED", "ACTIVE"]);
  });

  it("creates the tenant's Composio-managed auth config once, even with concurrent jobs", async () => {
    const { tenantId } = await createTestTenant(prisma);
    fake.createAuthConfigDelayMs = 150;
    const before = fake.callsOf("createAuthConfig").length;
    const deletedBefore = fake.deletedAuthConfigs.length;
    try {
      const jobs = await Promise.all(
        Array.from({ length: 5 }, (_, i) => runConnectionJob(jobData(tenantId, { toolkit: "slack", userId: `user${i}` }))),
      );
      expect(jobs.map((j) => j.failedReason)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    } finally {
      fake.createAuthConfigDelayMs = 0;
    }
    const rows = await prisma.authConfig.findMany({ where: { tenantId, toolkitSlug: "slack" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ managedKey: `${tenantId}:slack`, isComposioManaged: true });
    const connections = await prisma.connection.findMany({ where: { tenantId } });
    expect(new Set(connections.map((c) => c.authConfigId))).toEqual(new Set([rows[0]!.id]));
    // The losers' configs were deleted at Composio: one live managed config for the tenant's toolkit.
    const created = fake.callsOf("createAuthConfig").length - before;
    expect(created).toBeGreaterThanOrEqual(1);
    expect(fake.deletedAuthConfigs.length - deletedBefore).toBe(created - 1);
    expect(fake.authConfigs.has(rows[0]!.id)).toBe(true);

    // Later jobs reuse it without asking Composio.
    const calls = fake.callsOf("createAuthConfig").length;
    const later = await runConnectionJob(jobData(tenantId, { toolkit: "slack", userId: "late" }));
    expect(later.failedReason).toBeUndefined();
    expect(fake.callsOf("createAuthConfig").length).toBe(calls);
  });

  it("uses the auth config it is given: a custom OAuth app goes through createConnectedAccount", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const id = `ac_custom_${crypto.randomUUID().slice(0, 8)}`;
    fake.addAuthConfig({ id, toolkitSlug: "github", authScheme: "OAUTH2", isComposioManaged: false });
    await prisma.authConfig.create({
      data: { id, tenantId, toolkitSlug: "github", name: "ours", authScheme: "OAUTH2", isComposioManaged: false },
    });
    const data = jobData(tenantId, { authConfigId: id });
    const job = await runConnectionJob(data);
    expect(job.failedReason).toBeUndefined();
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    expect(row).toMatchObject({ authConfigId: id, status: "INITIATED" });
    expect(fake.accounts.get(row.composioAccountId!)).toMatchObject({ via: "create", authConfigId: id });
    expect(job.returnvalue.redirect_url).toMatch(/^https:\/\/provider\.example\/authorize/);
    expect(await prisma.authConfig.count({ where: { tenantId } })).toBe(1);
  });

  it("connects an API-key config straight to ACTIVE without polling", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const id = `ac_key_${crypto.randomUUID().slice(0, 8)}`;
    fake.addAuthConfig({ id, toolkitSlug: "linear", authScheme: "API_KEY", isComposioManaged: false });
    await prisma.authConfig.create({
      data: { id, tenantId, toolkitSlug: "linear", name: "key", authScheme: "API_KEY", isComposioManaged: false },
    });
    const data = jobData(tenantId, { authConfigId: id, toolkit: "linear" });
    const job = await runConnectionJob(data);
    expect(job.returnvalue).toMatchObject({ status: "ACTIVE", redirect_url: null, expires_at: null });
    const active = await waitForEvent(data.connectionId, "ACTIVE");
    expect(active.data.previous_status).toBe("INITIALIZING");
    expect(await pollQueue.getJob(statusPollJobId(data.connectionId))).toBeUndefined();
  });

  it("refuses an auth config of another tenant with NOT_FOUND, without retrying", async () => {
    const owner = await createTestTenant(prisma);
    const { tenantId } = await createTestTenant(prisma);
    const id = `ac_other_${crypto.randomUUID().slice(0, 8)}`;
    await prisma.authConfig.create({
      data: { id, tenantId: owner.tenantId, toolkitSlug: "github", name: "theirs", authScheme: "OAUTH2", isComposioManaged: false },
    });
    const job = await runConnectionJob(jobData(tenantId, { authConfigId: id }));
    expect(decodeJobFailure(job.failedReason)).toEqual({ code: "NOT_FOUND", message: `Auth config "${id}" not found` });
    expect(job.attemptsMade).toBe(1);
  });

  it("refuses an auth config of another toolkit, or a disabled one, with the gateway's codes, without retrying", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const id = `ac_mine_${crypto.randomUUID().slice(0, 8)}`;
    await prisma.authConfig.create({
      data: { id, tenantId, toolkitSlug: "slack", name: "mine", authScheme: "OAUTH2", isComposioManaged: false },
    });
    const wrongToolkit = await runConnectionJob(jobData(tenantId, { authConfigId: id }));
    expect(decodeJobFailure(wrongToolkit.failedReason)).toEqual({
      code: "VALIDATION_FAILED",
      message: `Auth config "${id}" is for toolkit "slack", not "github"`,
    });
    await prisma.authConfig.update({ where: { id }, data: { toolkitSlug: "github", enabled: false } });
    const disabled = await runConnectionJob(jobData(tenantId, { authConfigId: id }));
    expect(decodeJobFailure(disabled.failedReason)).toEqual({ code: "CONFLICT", message: `Auth config "${id}" is disabled` });
    expect([wrongToolkit.attemptsMade, disabled.attemptsMade]).toEqual([1, 1]);
  });

  it("fails an unknown toolkit with NOT_FOUND, without retrying", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const job = await runConnectionJob(jobData(tenantId, { toolkit: "nosuchkit" }));
    const failure = decodeJobFailure(job.failedReason);
    expect(failure.code).toBe("NOT_FOUND");
    expect(failure.message).toContain("nosuchkit");
    expect(job.attemptsMade).toBe(1);
    expect(await prisma.authConfig.count({ where: { tenantId } })).toBe(0);
  });

  it("marks the connection FAILED on a non-retryable Composio error, with a decodable job failure", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const data = jobData(tenantId, { toolkit: "notion" });
    fake.failNext("createConnectLink", new ComposioError("client", "Scopes are invalid", { status: 400, code: 600 }), 1, (input) =>
      (input as { userId: string }).userId.startsWith(tenantId),
    );
    const job = await runConnectionJob(data);
    expect(decodeJobFailure(job.failedReason)).toEqual({
      code: "BAD_REQUEST",
      message: "Composio rejected the request: Scopes are invalid",
    });
    expect(job.attemptsMade).toBe(1);
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    expect(row).toMatchObject({
      status: "FAILED",
      statusReason: "Composio rejected the request: Scopes are invalid",
      composioAccountId: null,
    });
    const failed = await waitForEvent(data.connectionId, "FAILED");
    expect(failed.data).toMatchObject({
      previous_status: "INITIALIZING",
      status_reason: "Composio rejected the request: Scopes are invalid",
    });
  });

  it("retries a retryable Composio error and then succeeds, with exactly one account created", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const data = jobData(tenantId);
    const mine = (input: unknown) => (input as { userId: string }).userId === `${tenantId}:alice`;
    fake.failNext("createConnectLink", new ComposioError("server", "Bad gateway", { status: 502 }), 2, mine);
    const job = await runConnectionJob(data);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue.status).toBe("INITIATED");
    expect(job.attemptsMade).toBe(3); // two failed attempts and the one that succeeded
    expect(fake.callsOf("createConnectLink").filter(mine)).toHaveLength(3);
    expect([...fake.accounts.values()].filter((a) => a.userId === `${tenantId}:alice`)).toHaveLength(1);

    // Running the same connection again (a retry after a crash) does not start a second connection at Composio.
    const again = await runConnectionJob(data, FAST_RETRIES, `${data.connectionId}-again`);
    expect(again.returnvalue).toEqual(job.returnvalue);
    expect(fake.callsOf("createConnectLink").filter(mine)).toHaveLength(3);
    const audit = await prisma.auditLog.count({ where: { targetId: data.connectionId, action: "connection.initiated" } });
    expect(audit).toBe(1);
  });

  it("marks the connection FAILED when the last attempt fails on a retryable error", async () => {
    const { tenantId } = await createTestTenant(prisma);
    const data = jobData(tenantId);
    fake.failNext("createConnectLink", new ComposioError("timeout", "timed out"), 3, (input) =>
      (input as { userId: string }).userId.startsWith(tenantId),
    );
    const job = await runConnectionJob(data, { ...FAST_RETRIES, attempts: 2 });
    expect(job.attemptsMade).toBe(2);
    expect(decodeJobFailure(job.failedReason).code).toBe("UPSTREAM_ERROR");
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    expect(row.status).toBe("FAILED");
    expect(row.statusReason).toContain("Composio is unavailable");
    await waitForEvent(data.connectionId, "FAILED");
  });

  it("fails a job whose data is invalid with VALIDATION_FAILED", async () => {
    const jobId = crypto.randomUUID();
    await connectionQueue.add(JOBS.initiateConnection, { connectionId: "nope" }, { ...FAST_RETRIES, jobId });
    const job = await waitFor(async () => {
      const j = await Job.fromId(connectionQueue, jobId);
      return j?.finishedOn ? j : undefined;
    });
    expect(decodeJobFailure(job.failedReason).code).toBe("VALIDATION_FAILED");
  });

  it("namespaces the Composio user id by tenant", async () => {
    const a = await createTestTenant(prisma);
    const b = await createTestTenant(prisma);
    const [ja, jb] = await Promise.all([
      runConnectionJob(jobData(a.tenantId, { userId: "bob" })),
      runConnectionJob(jobData(b.tenantId, { userId: "bob" })),
    ]);
    const rowA = await prisma.connection.findUniqueOrThrow({ where: { id: ja.returnvalue.connection_id } });
    const rowB = await prisma.connection.findUniqueOrThrow({ where: { id: jb.returnvalue.connection_id } });
    expect(fake.accounts.get(rowA.composioAccountId!)?.userId).toBe(`${a.tenantId}:bob`);
    expect(fake.accounts.get(rowB.composioAccountId!)?.userId).toBe(`${b.tenantId}:bob`);
    expect(rowA.authConfigId).not.toBe(rowB.authConfigId);
  });
});

describe("status poll", () => {
  async function startPending(overrides: Partial<InitiateConnectionJob> = {}) {
    const { tenantId } = await createTestTenant(prisma);
    const data = jobData(tenantId, overrides);
    const job = await runConnectionJob(data);
    expect(job.failedReason).toBeUndefined();
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    return { tenantId, data, accountId: row.composioAccountId! };
  }

  it("publishes FAILED with Composio's reason when the user denies access", async () => {
    const { data, accountId } = await startPending();
    fake.setAccountStatus(accountId, "FAILED", "User denied access");
    const failed = await waitForEvent(data.connectionId, "FAILED");
    expect(failed.data).toMatchObject({ previous_status: "INITIATED", status_reason: "User denied access" });
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    expect(row).toMatchObject({ status: "FAILED", statusReason: "User denied access" });
  });

  it("fails the connection when the link expires before the user finishes", async () => {
    fake.linkTtlMs = 300;
    let pending: Awaited<ReturnType<typeof startPending>>;
    try {
      pending = await startPending();
    } finally {
      fake.linkTtlMs = 10 * 60_000;
    }
    const failed = await waitForEvent(pending.data.connectionId, "FAILED");
    expect(failed.data).toMatchObject({ previous_status: "INITIATED", status_reason: LINK_EXPIRED_REASON });
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: pending.data.connectionId } });
    expect(row.statusReason).toBe(LINK_EXPIRED_REASON);
  });

  it("fails the connection when Composio no longer knows the account", async () => {
    const { data, accountId } = await startPending();
    fake.accounts.delete(accountId);
    const failed = await waitForEvent(data.connectionId, "FAILED");
    expect(failed.data.status_reason).toBe(ACCOUNT_GONE_REASON);
  });

  it("keeps polling through retryable Composio errors without failing the connection", async () => {
    const { data, accountId } = await startPending();
    fake.failNext(
      "getConnectedAccount",
      new ComposioError("rate_limited", "Rate limit exceeded", { status: 429 }),
      4,
      (id) => id === accountId,
    );
    await waitFor(() => fake.failuresLeft("getConnectedAccount") === 0, { what: "the poller to hit every injected failure" });
    expect((await prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } })).status).toBe("INITIATED");
    fake.setAccountStatus(accountId, "ACTIVE");
    await waitForEvent(data.connectionId, "ACTIVE");
    expect(eventsOf(data.connectionId).map((e) => e.data.status)).toEqual(["INITIATED", "ACTIVE"]);
  });

  it("runs one-shot checks without rescheduling them", async () => {
    const { tenantId, data, accountId } = await startPending();
    const checkId = `check-${data.connectionId}-1`;
    await pollQueue.add(
      JOBS.pollConnectionStatus,
      { connectionId: data.connectionId, tenantId },
      { jobId: checkId, removeOnComplete: false },
    );
    const check = await waitFor(async () => {
      const job = await Job.fromId(pollQueue, checkId);
      return job?.finishedOn ? job : undefined;
    });
    expect(check.returnvalue).toEqual({ status: "INITIATED" });
    expect(check.data.attempt ?? 0).toBe(0);
    // The main poller is still there, waiting for the user.
    expect(await pollQueue.getJob(statusPollJobId(data.connectionId))).toBeDefined();
    fake.setAccountStatus(accountId, "ACTIVE");
    await waitForEvent(data.connectionId, "ACTIVE");
  });

  it("publishes each change once when pollers race", async () => {
    const { tenantId, data, accountId } = await startPending();
    fake.setAccountStatus(accountId, "ACTIVE");
    const checks = Array.from({ length: 5 }, (_, i) =>
      pollQueue.add(JOBS.pollConnectionStatus, { connectionId: data.connectionId, tenantId }, { jobId: `check-${data.connectionId}-${i}` }),
    );
    const direct = Array.from({ length: 10 }, () =>
      pollConnectionStatus(
        { config, prisma, composio: fake, bus, logger },
        { connectionId: data.connectionId, tenantId, attempt: 0 },
        { isMainPoller: false },
      ),
    );
    const outcomes = await Promise.all(direct);
    await Promise.all(checks);
    expect(outcomes.every((o) => o.kind === "done" && o.status === "ACTIVE")).toBe(true);
    await waitForEvent(data.connectionId, "ACTIVE");
    await waitFor(async () => (await pollQueue.getJobCounts("active", "waiting", "delayed")).active === 0 || undefined);
    // Let any late publisher show itself before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsOf(data.connectionId).filter((e) => e.data.status === "ACTIVE")).toHaveLength(1);
    const changes = await prisma.auditLog.count({ where: { targetId: data.connectionId, action: "connection.status_changed" } });
    expect(changes).toBe(2); // INITIALIZING -> INITIATED, INITIATED -> ACTIVE
  });
});
