import { randomBytes } from "node:crypto";
import { waitFor } from "@kronos/testing";
import { afterAll, describe, expect, it } from "vitest";
import { connectUser, createTenant, type ExecutionView, emulator, settledExecution } from "./flows.js";
import { api, isAlive, openFeed, type RunningSystem, startSystem } from "./support.js";

// No job is lost across a restart: executions queued or running when the whole system gets SIGTERM all end,
// SUCCEEDED or FAILED with a reason, once a new system runs on the same Redis prefix and database.

const started: RunningSystem[] = [];

afterAll(async () => {
  for (const system of started) await system.stop();
});

describe("a restart", () => {
  it("stops gracefully on SIGTERM (sockets closed 1001) and loses no execution", async () => {
    const prefix = `e2e-restart-${randomBytes(4).toString("hex")}`;
    // info: the worker's "stopped" line shows it shut down on its own, not killed by start-all's deadline.
    const first = await startSystem({ REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "info" });
    started.push(first);
    const tenant = await createTenant(first);
    await connectUser(first, tenant.apiKey, { user_id: "erin", app_name: "github" });
    const socket = await openFeed(first.webhooksUrl, { apiKey: tenant.apiKey });
    await emulator(first, "POST", "/faults", { kind: "latency", ms: 300, path: "/tools/execute/*" });

    const submitted = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api<{ execution_id: string }>(first.gatewayUrl, "POST", "/api/v1/composio/tools/execute", {
          token: tenant.apiKey,
          body: { user_id: "erin", action_name: "GITHUB_CREATE_AN_ISSUE", params: { owner: "acme", repo: "app", title: `job ${i}` } },
        }),
      ),
    );
    expect(submitted.map((r) => r.status)).toEqual(Array(20).fill(202));
    const ids = submitted.map((r) => r.body.execution_id);
    // Some tool runs are in flight at the emulator (each takes 300 ms) when the system is told to stop.
    await waitFor(
      async () => (await emulator<{ items: Array<{ hits: number }> }>(first, "GET", "/faults")).items[0]!.hits > 0 || undefined,
      { what: "a tool run in flight" },
    );

    const processes = first.processIds();
    expect(processes.length).toBe(5); // start-all, emulator, worker, gateway, webhooks
    await first.stop();
    expect(processes.filter(isAlive)).toEqual([]);
    expect(await socket.closed).toBe(1001);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    expect(first.output()).not.toContain("shutdown took too long");

    // The same Redis prefix and database, a new emulator (which knows nothing of erin's account).
    const second = await startSystem({ REDIS_KEY_PREFIX: prefix });
    started.push(second);
    const outcomes: ExecutionView[] = [];
    for (const id of ids) outcomes.push(await settledExecution(second, tenant.apiKey, id, 45_000));
    for (const outcome of outcomes) {
      expect(["SUCCEEDED", "FAILED"]).toContain(outcome.status);
      if (outcome.status === "FAILED") expect(outcome.error?.message).toBeTruthy();
      else expect(outcome.error).toBeNull();
    }
    expect(outcomes.map((o) => o.execution_id)).toEqual(ids);
  }, 150_000);
});
