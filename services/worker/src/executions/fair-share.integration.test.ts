// The emulator is not a dependency of the worker's build: tests use its build directly.
import { CONTROL_PREFIX, type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { type ComposioPort, composioUserId, createComposioClient, type ExecuteToolJob, executionFairShare, JOBS } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerHarness } from "../test-support/harness.js";

let emulator: RunningEmulator;
let composio: ComposioPort;
const h = new WorkerHarness();
const FLOOD = 600;

beforeAll(async () => {
  emulator = await startEmulator();
  composio = createComposioClient({ apiKey: emulator.apiKey, baseUrl: emulator.url, timeoutMs: 5_000 });
  // The Composio budget is the bottleneck, as in production under a flood: 30 executions a second.
  await h.start(composio, { config: { COMPOSIO_REQUESTS_PER_MINUTE: "1800", WORKER_CONCURRENCY: "10" } });
});
afterAll(async () => {
  await h.workers.queues.toolExecution.obliterate({ force: true }).catch(() => {});
  await h.stop();
  await emulator?.close();
});

/** A tenant whose user "alice" has an ACTIVE github connection at the emulator and in our table. */
async function connectedTenant(): Promise<string> {
  const { tenantId } = await createTestTenant(h.prisma);
  const authConfig = await composio.createAuthConfig({ toolkitSlug: "github", managed: true });
  const link = await composio.createConnectLink({ authConfigId: authConfig.id, userId: composioUserId(tenantId, "alice") });
  await fetch(`${emulator.url}${CONTROL_PREFIX}/connected_accounts/${link.connectedAccountId}/status`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ status: "ACTIVE" }),
  });
  await h.connection({ tenantId, status: "ACTIVE", composioAccountId: link.connectedAccountId });
  return tenantId;
}

const job = (tenantId: string): ExecuteToolJob => ({
  executionId: crypto.randomUUID(),
  tenantId,
  userId: "alice",
  toolSlug: "GITHUB_CREATE_AN_ISSUE",
  arguments: { owner: "acme", repo: "app", title: "Bug" },
  actor: "api_key:test",
});

describe("fair share of executions between tenants", () => {
  it("starts tenant B's execution soon while tenant A floods the queue", async () => {
    const [flooder, other] = [await connectedTenant(), await connectedTenant()];
    const fairShare = executionFairShare(h.redis, h.config.REDIS_KEY_PREFIX);
    const queue = h.workers.queues.toolExecution;
    // Tenant A queues FLOOD executions at once, each admitted as the gateway does.
    const flood = [];
    for (let i = 0; i < FLOOD; i++) {
      const data = job(flooder);
      flood.push({ name: JOBS.executeTool, data, opts: { jobId: data.executionId, priority: await fairShare.admit(flooder) } });
    }
    await queue.addBulk(flood as never);
    // Then tenant B queues one.
    const mine = job(other);
    const queuedAt = Date.now();
    await queue.add(JOBS.executeTool as never, mine as never, { jobId: mine.executionId, priority: await fairShare.admit(other) });
    const row = await waitFor(
      async () => {
        const execution = await h.prisma.execution.findUnique({ where: { id: mine.executionId } });
        return execution?.status === "SUCCEEDED" ? execution : undefined;
      },
      { what: "tenant B's execution", timeoutMs: 30_000 },
    );
    const startedOfFlood = await h.prisma.execution.count({ where: { tenantId: flooder, startedAt: { lte: row.startedAt! } } });
    // B did not wait behind A's backlog: most of A's executions had not started when B's did.
    expect(startedOfFlood).toBeLessThan(FLOOD / 2);
    console.info(
      `fair share: tenant B's execution started ${row.startedAt!.getTime() - queuedAt} ms after it was queued, behind ${startedOfFlood} of tenant A's ${FLOOD}`,
    );
    // Finished executions give their share back.
    const shareKey = `${h.config.REDIS_KEY_PREFIX}:fair-share:executions:${other}`;
    await waitFor(async () => Number(await h.redis.get(shareKey)) === 0, { what: "tenant B's share given back" });
  });
});
