import {
  type ConnectionStatusEventData,
  decodeJobFailure,
  EVENT_TYPES,
  type ExecuteToolJob,
  type ExecutionCompletedEventData,
  type ExecutionStatusEventData,
  JOBS,
} from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";

const suite = workerOnEmulator({ timeoutMs: 2_000 });
const h = suite.harness;

/** The user finishes (or fails) the sign-in at Composio. */
const setAccountStatus = (accountId: string, status: string) => suite.control("PUT", `/connected_accounts/${accountId}/status`, { status });
const execute = (data: ExecuteToolJob, options: { attempts?: number } = {}) =>
  h.run(h.workers.queues.toolExecution, JOBS.executeTool, data, { jobId: data.executionId, ...options });
const row = (id: string) => h.prisma.execution.findUniqueOrThrow({ where: { id } });
const statusEvents = (id: string) =>
  h.eventsOf<ExecutionStatusEventData>(EVENT_TYPES.executionStatus, (d) => d.execution_id === id).map((e) => e.data);

describe("sign-in on demand", () => {
  it("parks AWAITING_AUTH on a new connection, reuses it for the next call, and both run once the user signs in", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const first = executionJob(tenantId);
    const job = await execute(first);
    expect(job.returnvalue).toEqual({ execution_id: first.executionId, status: "AWAITING_AUTH" });
    const parked = await row(first.executionId);
    expect(parked).toMatchObject({ status: "AWAITING_AUTH", errorCode: "AUTH_REQUIRED" });
    const connection = await h.prisma.connection.findUniqueOrThrow({ where: { id: parked.connectionId! } });
    expect(connection).toMatchObject({ tenantId, userId: "alice", toolkitSlug: "github", status: "INITIATED" });
    expect(connection.redirectUrl).toBeTruthy();
    const [event] = statusEvents(first.executionId);
    expect(event).toMatchObject({
      status: "AWAITING_AUTH",
      previous_status: "RUNNING",
      actor: "system",
      authorization: { connection_id: connection.id, redirect_url: connection.redirectUrl },
    });

    // A second call while the link is valid waits on the same connection.
    const second = executionJob(tenantId, { arguments: { owner: "acme", repo: "app", title: "Second" } });
    await execute(second);
    expect((await row(second.executionId)).connectionId).toBe(connection.id);
    expect(await h.prisma.connection.count({ where: { tenantId, userId: "alice" } })).toBe(1);

    // The user signs in (the status poll sees it): both resume by themselves and run.
    await setAccountStatus(connection.composioAccountId!, "ACTIVE");
    for (const id of [first.executionId, second.executionId]) {
      await waitFor(async () => ((await row(id)).status === "SUCCEEDED" ? true : undefined), { what: `${id} to run` });
      expect(statusEvents(id).map((e) => e.status)).toEqual(["AWAITING_AUTH", "QUEUED"]);
    }
    expect((await row(second.executionId)).result).toMatchObject({ issue: { title: "Second" } });
    const audit = await h.prisma.auditLog.findMany({ where: { targetId: first.executionId }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["execution.awaiting_auth", "execution.queued"]);
  });

  it("ends parked executions FAILED when the connection fails, EXPIRED when its link expires", async () => {
    for (const [accountStatus, expected] of [
      ["FAILED", "FAILED"],
      ["EXPIRED", "EXPIRED"],
    ] as const) {
      const { tenantId } = await createTestTenant(h.prisma);
      const data = executionJob(tenantId);
      await execute(data);
      const connectionId = (await row(data.executionId)).connectionId!;
      const connection = await h.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } });
      await setAccountStatus(connection.composioAccountId!, accountStatus);
      const ended = await waitFor(async () => {
        const current = await row(data.executionId);
        return current.status === expected ? current : undefined;
      });
      expect(ended.errorMessage).toContain(accountStatus);
      await h.waitForEvent<{ execution_id: string; status: string }>(
        EVENT_TYPES.executionCompleted,
        (d) => d.execution_id === data.executionId && d.status === expected,
      );
    }
  });

  it("a tenant that turned it off gets the old failure, with a clear code", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    await h.prisma.toolPolicy.create({ data: { tenantId, userId: "", document: { sign_in_on_demand: false }, updatedBy: "test" } });
    const data = executionJob(tenantId);
    const job = await execute(data);
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    expect(await row(data.executionId)).toMatchObject({ status: "FAILED", errorCode: "NOT_FOUND" });
    expect(await h.prisma.connection.count({ where: { tenantId } })).toBe(0);
  });

  describe("when the sign-in cannot be started, every path ends (emulator faults on the link)", () => {
    const linkFault = (times?: number) =>
      suite.control("POST", "/faults", {
        kind: "server_error",
        status: 503,
        method: "POST",
        path: "/connected_accounts/link",
        ...(times === undefined ? {} : { times }),
      });

    it("Composio failing until the last attempt: the execution ends FAILED (AUTH_FAILED) and its connection FAILED, each with the reason and its event", async () => {
      const { tenantId } = await createTestTenant(h.prisma);
      const data = executionJob(tenantId);
      await linkFault();
      try {
        const job = await execute({ ...data }, { attempts: 3 });
        expect(job.attemptsMade).toBe(3);
      } finally {
        await suite.control("DELETE", "/faults");
      }
      const ended = await row(data.executionId);
      expect(ended).toMatchObject({ status: "FAILED", errorCode: "AUTH_FAILED" });
      expect(ended.errorMessage).toMatch(/^Could not start a sign-in: .*Composio/);
      // Not left INITIALIZING: nobody could complete it and nothing would ever poll it.
      const connection = await h.prisma.connection.findUniqueOrThrow({ where: { id: ended.connectionId! } });
      expect(connection).toMatchObject({ status: "FAILED", composioAccountId: null, statusReason: ended.errorMessage });
      await h.waitForEvent<ConnectionStatusEventData>(
        EVENT_TYPES.connectionStatus,
        (d) => d.connection_id === connection.id && d.status === "FAILED",
      );
      const completed = await h.waitForEvent<ExecutionCompletedEventData>(
        EVENT_TYPES.executionCompleted,
        (d) => d.execution_id === data.executionId,
      );
      expect(completed.data).toMatchObject({ status: "FAILED", error: { code: "AUTH_FAILED" } });
      expect(h.eventsOf(EVENT_TYPES.executionCompleted, (d: { execution_id: string }) => d.execution_id === data.executionId)).toHaveLength(
        1,
      );
      // The next call starts a new sign-in rather than reusing the failed connection.
      const next = executionJob(tenantId);
      expect((await execute(next)).returnvalue).toMatchObject({ status: "AWAITING_AUTH" });
      expect((await row(next.executionId)).connectionId).not.toBe(connection.id);
    });

    it("a failure that passes: the retried attempt starts the same connection and parks on it", async () => {
      const { tenantId } = await createTestTenant(h.prisma);
      const data = executionJob(tenantId);
      await linkFault(1);
      try {
        const job = await execute(data, { attempts: 3 });
        expect(job.returnvalue).toEqual({ execution_id: data.executionId, status: "AWAITING_AUTH" });
        expect(job.attemptsMade).toBe(2);
      } finally {
        await suite.control("DELETE", "/faults");
      }
      expect(await h.prisma.connection.count({ where: { tenantId } })).toBe(1);
      const parked = await row(data.executionId);
      const connection = await h.prisma.connection.findUniqueOrThrow({ where: { id: parked.connectionId! } });
      expect(connection.status).toBe("INITIATED");
    });
  });
});
