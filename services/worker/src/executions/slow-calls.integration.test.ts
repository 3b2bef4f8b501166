// One slow call does not stall the rest (issue 11.7): hung Composio calls do not hold every execution slot.
import { controlEmulator, type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { type ComposioPort, composioUserId, createComposioClient, type ExecuteToolJob, JOBS } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerHarness } from "../test-support/harness.js";

let emulator: RunningEmulator;
let composio: ComposioPort;
const h = new WorkerHarness();

beforeAll(async () => {
  emulator = await startEmulator();
  // Calls hang until the test releases them (the per-call timeout is far away).
  composio = createComposioClient({ apiKey: emulator.apiKey, baseUrl: emulator.url, timeoutMs: 60_000 });
  // As many general slots as hung calls: before EXECUTION_CONCURRENCY, ten hung calls held them all.
  await h.start(composio, { config: { WORKER_CONCURRENCY: "10" } });
});
afterAll(async () => {
  await control("DELETE", "/faults"); // releases the hung requests
  await h.stop();
  await emulator?.close();
});

function control<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  return controlEmulator<T>(emulator.url, method, path, body);
}

describe("ten hung Composio calls", () => {
  it("leave slots for an unrelated execution, which completes while they hang", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const authConfig = await composio.createAuthConfig({ toolkitSlug: "github", managed: true });
    const link = await composio.createConnectLink({ authConfigId: authConfig.id, userId: composioUserId(tenantId, "alice") });
    await control("PUT", `/connected_accounts/${link.connectedAccountId}/status`, { status: "ACTIVE" });
    await h.connection({ tenantId, status: "ACTIVE", composioAccountId: link.connectedAccountId });
    await control("POST", "/faults", { kind: "timeout", path: "/tools/execute/GITHUB_CREATE_AN_ISSUE" });

    const job = (toolSlug: string): ExecuteToolJob => ({
      executionId: crypto.randomUUID(),
      tenantId,
      userId: "alice",
      toolSlug,
      arguments: toolSlug === "GITHUB_CREATE_AN_ISSUE" ? { owner: "acme", repo: "app", title: "Slow" } : {},
      actor: "api_key:test",
    });
    const hung = Array.from({ length: 10 }, () => job("GITHUB_CREATE_AN_ISSUE"));
    const queue = h.workers.queues.toolExecution;
    for (const data of hung) await queue.add(JOBS.executeTool, data, { jobId: data.executionId });
    await waitFor(async () => ((await queue.getActiveCount()) >= 10 ? true : undefined), { what: "ten hung executions" });

    const unrelated = job("GITHUB_GET_THE_AUTHENTICATED_USER");
    const done = await h.run(queue, JOBS.executeTool, unrelated, { jobId: unrelated.executionId });
    expect(done.returnvalue).toMatchObject({ status: "SUCCEEDED" });
    expect(await queue.getActiveCount()).toBeGreaterThanOrEqual(10);
  });
});
