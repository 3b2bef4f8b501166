// The worker with the real Composio adapter, against the Composio emulator.
import { type ConnectionStatusEventData, DEFAULT_JOB_OPTIONS, decodeJobFailure, type InitiateConnectionJob, JOBS } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import type { JobsOptions } from "bullmq";
import { describe, expect, it } from "vitest";
import { workerOnEmulator } from "../test-support/on-emulator.js";

// The config names the emulator too, as in production (the workers themselves use the adapter they are given).
const suite = workerOnEmulator({ config: (emulator) => ({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey }) });
const h = suite.harness;
const control = suite.control;
/** The production retry policy with a short fixed backoff (not the harness's FAST_RETRIES). */
const FAST_RETRIES: JobsOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { type: "fixed", delay: 20 } };
/** What every published event carried (this file's are connection.status events). */
const events = () => h.events.map((e) => e.data as unknown as ConnectionStatusEventData);

/** Runs the initiation and waits (10 s) until it finished. */
const run = (data: InitiateConnectionJob) =>
  h.run(h.workers.queues.connection, JOBS.initiateConnection, data, { ...FAST_RETRIES, jobId: data.connectionId }, 10_000);

const jobData = (tenantId: string, overrides: Partial<InitiateConnectionJob> = {}): InitiateConnectionJob => ({
  connectionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolkit: "github",
  labels: [],
  actor: "api_key:test",
  ...overrides,
});

describe("worker against the Composio emulator", () => {
  it("connects through a hosted link, retrying a 503, and publishes ACTIVE once the user finishes", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    await control("POST", "/faults", { kind: "server_error", status: 503, method: "POST", path: "/connected_accounts/link", times: 1 });
    const data = jobData(tenantId);
    const job = await run(data);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toMatchObject({ connection_id: data.connectionId, status: "INITIATED" });
    expect(job.returnvalue.redirect_url).toEqual(expect.any(String));
    const row = await h.prisma.connection.findUniqueOrThrow({ where: { id: data.connectionId } });
    const accounts = (await control("GET", "/requests?method=POST&route=/connected_accounts/link")) as { items: unknown[] };
    expect(accounts.items.length).toBeGreaterThanOrEqual(2);

    const account = (await control("PUT", `/connected_accounts/${row.composioAccountId}/status`, { status: "ACTIVE" })) as {
      user_id: string;
    };
    expect(account.user_id).toBe(`${tenantId}:alice`);
    await waitFor(() => events().find((e) => e.connection_id === data.connectionId && e.status === "ACTIVE"), { what: "ACTIVE event" });
    expect(
      events()
        .filter((e) => e.connection_id === data.connectionId)
        .map((e) => e.status),
    ).toEqual(["INITIATED", "ACTIVE"]);
  });

  it("fails an unknown toolkit with NOT_FOUND", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const job = await run(jobData(tenantId, { toolkit: "nosuchkit" }));
    expect(decodeJobFailure(job.failedReason).code).toBe("NOT_FOUND");
    expect(job.attemptsMade).toBe(1);
  });
});
