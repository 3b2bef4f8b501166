// One slow call does not stall the rest (issue 11.7): hung Composio calls do not hold every execution slot.
import { JOBS } from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";

const suite = workerOnEmulator({
  // Calls hang until the test releases them (the per-call timeout is far away).
  timeoutMs: 60_000,
  // As many general slots as hung calls: before EXECUTION_CONCURRENCY, ten hung calls held them all.
  config: { WORKER_CONCURRENCY: "10" },
  beforeStop: () => control("DELETE", "/faults"), // releases the hung requests
});
const h = suite.harness;
const control = suite.control;

describe("ten hung Composio calls", () => {
  it("leave slots for an unrelated execution, which completes while they hang", async () => {
    const { tenantId } = await suite.connectedUser();
    await control("POST", "/faults", { kind: "timeout", path: "/tools/execute/GITHUB_CREATE_AN_ISSUE" });

    const job = (toolSlug: string) =>
      executionJob(tenantId, {
        toolSlug,
        arguments: toolSlug === "GITHUB_CREATE_AN_ISSUE" ? { owner: "acme", repo: "app", title: "Slow" } : {},
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
