import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultSystem, startFaultSystem } from "../faults/system.js";
import { completeInBrowser, createTenant, type ExecutionView, settledExecution, type Tenant, toolRuns } from "./flows.js";
import { api, eventsOf, type FeedClient, openFeed, type RunningSystem, waitForEvent } from "./support.js";

// Sign-in on demand across a worker that dies: an agent's call for a toolkit the user has not connected parks
// AWAITING_AUTH (in Postgres), the worker is killed (SIGKILL, no goodbye) and started again, and then the user's
// browser follows the link: the parked execution runs by itself, with no further call from the agent. The services
// run as separate processes (test/faults/system.ts) so that one of them can die without the others.

let faults: FaultSystem;
let system: RunningSystem;
let tenant: Tenant;
let feed: FeedClient;

beforeAll(async () => {
  faults = await startFaultSystem(() => {});
  system = {
    gatewayUrl: faults.url("gateway"),
    webhooksUrl: faults.url("webhooks"),
    workerUrl: faults.url("worker"),
    emulatorUrl: faults.url("emulator"),
    adminToken: faults.env.ADMIN_TOKEN as string,
    env: faults.env,
    output: () => "",
    processIds: () => [],
    stop: () => faults.stop(),
  };
  tenant = await createTenant(system);
  feed = await openFeed(system.webhooksUrl, { apiKey: tenant.apiKey });
}, 120_000);

afterAll(async () => {
  feed?.close();
  await faults?.stop();
});

const createIssue = (userId: string, title: string, wait?: number) =>
  api<ExecutionView & { authorization?: { redirect_url: string } }>(
    system.gatewayUrl,
    "POST",
    `/api/v1/composio/tools/execute${wait === undefined ? "" : `?wait=${wait}`}`,
    {
      token: tenant.apiKey,
      body: { user_id: userId, action_name: "GITHUB_CREATE_AN_ISSUE", params: { owner: "acme", repo: "app", title } },
    },
  );

/** The sign-in link the parked execution waits for, as the feed carried it. */
async function parkedLink(executionId: string): Promise<string> {
  const parked = await waitForEvent(feed, "execution.status", (d) => d.execution_id === executionId && d.status === "AWAITING_AUTH");
  return (parked.data as { authorization: { redirect_url: string } }).authorization.redirect_url;
}

describe("sign-in on demand across a worker restart", () => {
  it("parked AWAITING_AUTH, the worker killed and started again, then the user signs in: the execution completes by itself", async () => {
    const title = `restart-${randomUUID()}`;
    const accepted = await createIssue("dana", title);
    expect(accepted.status).toBe(202);
    const id = accepted.body.execution_id;
    const link = await parkedLink(id);

    await faults.kill("worker", "SIGKILL");
    await faults.start("worker");
    const read = await api<ExecutionView & { authorization?: unknown }>(system.gatewayUrl, "GET", `/api/v1/composio/executions/${id}`, {
      token: tenant.apiKey,
    });
    expect(read.body).toMatchObject({ status: "AWAITING_AUTH", authorization: { redirect_url: link } });

    // The user's browser follows the link; nothing more from the agent.
    await completeInBrowser(system, link);
    const done = await settledExecution(system, tenant.apiKey, id, 60_000);
    expect(done.status).toBe("SUCCEEDED");
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
    await waitForEvent(feed, "execution.completed", (d) => d.execution_id === id && d.status === "SUCCEEDED");
    expect(eventsOf(feed, "execution.completed", (d) => d.execution_id === id)).toHaveLength(1);
  });

  it("the user signs in while no worker runs: once one is back, the parked execution completes", async () => {
    const title = `down-${randomUUID()}`;
    const id = (await createIssue("erin", title)).body.execution_id;
    const link = await parkedLink(id);
    await faults.kill("worker", "SIGKILL");
    try {
      await completeInBrowser(system, link);
    } finally {
      await faults.start("worker");
    }
    expect((await settledExecution(system, tenant.apiKey, id, 60_000)).status).toBe("SUCCEEDED");
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });

  it("?wait= across a sign-in: the agent's waiting call answers 200 with the result once the user signs in within the wait", async () => {
    const title = `waited-${randomUUID()}`;
    const waiting = createIssue("fay", title, 30);
    const parked = await waitForEvent(
      feed,
      "execution.status",
      (d) => d.status === "AWAITING_AUTH" && (d.user_id as string) === "fay",
      "fay's execution parked",
    );
    await completeInBrowser(system, (parked.data as { authorization: { redirect_url: string } }).authorization.redirect_url);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ execution_id: parked.data?.execution_id, status: "SUCCEEDED", successful: true });
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });

  it("?wait= ends while the user has not signed in: 202 with the parked state and the sign-in link", async () => {
    const key = { "idempotency-key": `unsigned-${randomUUID()}` };
    const request = {
      token: tenant.apiKey,
      headers: key,
      body: { user_id: "gus", action_name: "GITHUB_CREATE_AN_ISSUE", params: { owner: "acme", repo: "app", title: "unsigned" } },
    };
    const id = (await api<ExecutionView>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute", request)).body.execution_id;
    const link = await parkedLink(id);
    // The same request again, waiting 1 s: the same parked execution, answered with what it waits for.
    const answer = await api<{ execution_id: string; status: string }>(
      system.gatewayUrl,
      "POST",
      "/api/v1/composio/tools/execute?wait=1",
      request,
    );
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ execution_id: id, status: "AWAITING_AUTH", authorization: { redirect_url: link } });
  });
});
