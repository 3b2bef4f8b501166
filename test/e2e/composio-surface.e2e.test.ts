import { randomUUID } from "node:crypto";
import { waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleBulk, testAuthConfigs, testCatalogue } from "./composio-surface-support.js";
import {
  type Connected,
  completeInBrowser,
  connectUser,
  createTenant,
  type ExecutionView,
  emulator,
  getConnection,
  settledExecution,
  type Tenant,
  toolRuns,
  userToken,
} from "./flows.js";
import { api, eventsOf, type FeedClient, openFeed, type RunningSystem, startSystem, statusEvents, waitForEvent } from "./support.js";

// The Composio surface through the real gateway, worker and emulator: tool execution (idempotency, provider
// failures, a 429), connection ops, bulk operations, auth configs and the cached catalogue.

let system: RunningSystem;
let tenant: Tenant;
let alice: string;
let aliceFeed: FeedClient;
let aliceGithub: Connected;
const feeds: FeedClient[] = [];

async function feed(auth: { token?: string; apiKey?: string }): Promise<FeedClient> {
  const client = await openFeed(system.webhooksUrl, auth);
  feeds.push(client);
  return client;
}

function execute(body: Record<string, unknown>, options: { wait?: number; key?: string } = {}) {
  const query = options.wait === undefined ? "" : `?wait=${options.wait}`;
  return api<ExecutionView & { poll_url?: string }>(system.gatewayUrl, "POST", `/api/v1/composio/tools/execute${query}`, {
    token: alice,
    body: { user_id: "alice", ...body },
    ...(options.key ? { headers: { "idempotency-key": options.key } } : {}),
  });
}

const issue = (title: string) => ({ action_name: "GITHUB_CREATE_AN_ISSUE", params: { owner: "acme", repo: "app", title } });

beforeAll(async () => {
  // A 1 s catalogue TTL, so that a stale copy can be observed.
  system = await startSystem({ TOOLKIT_CACHE_TTL_SECONDS: "1" });
  tenant = await createTenant(system);
  alice = await userToken(system, tenant, "alice");
  aliceFeed = await feed({ token: alice });
  aliceGithub = await connectUser(system, alice, { user_id: "alice", app_name: "github" }, aliceFeed);
}, 90_000);

afterAll(async () => {
  for (const client of feeds) client.close();
  await system?.stop();
});

describe("tool execution through the worker", () => {
  it("runs an action from the catalogue: 202, then SUCCEEDED, and execution.completed on the user's socket", async () => {
    const actions = await api<{ items: Array<{ slug: string }> }>(system.gatewayUrl, "GET", "/api/v1/composio/toolkits/github/actions", {
      token: alice,
    });
    expect(actions.status).toBe(200);
    expect(actions.body.items.map((a) => a.slug)).toContain("GITHUB_CREATE_AN_ISSUE");

    const accepted = await execute(issue("first"));
    expect(accepted.status).toBe(202);
    expect(accepted.body.status).toBe("QUEUED");
    const done = await settledExecution(system, alice, accepted.body.execution_id);
    expect(done).toMatchObject({ status: "SUCCEEDED", successful: true, error: null });
    expect(done.data).toMatchObject({ issue: { title: "first", owner: "acme" } });
    const event = await waitForEvent(aliceFeed, "execution.completed", (d) => d.execution_id === accepted.body.execution_id);
    expect(event.data).toMatchObject({ user_id: "alice", tool: "GITHUB_CREATE_AN_ISSUE", status: "SUCCEEDED", error: null });
  });

  it("answers 200 with the result with ?wait", async () => {
    const response = await execute(issue("waited"), { wait: 10 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: "SUCCEEDED", successful: true });
    expect(response.body.data).toMatchObject({ issue: { title: "waited" } });
  });

  it("runs a retried Idempotency-Key request once", async () => {
    const key = randomUUID();
    const title = `idempotent-${key}`;
    const first = await execute(issue(title), { key });
    const second = await execute(issue(title), { key });
    expect([200, 202]).toContain(first.status);
    expect(second.body.execution_id).toBe(first.body.execution_id);
    expect(second.headers.get("idempotent-replay")).toBe("true");
    await settledExecution(system, alice, first.body.execution_id);
    const third = await execute(issue(title), { key, wait: 5 });
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ execution_id: first.body.execution_id, status: "SUCCEEDED" });
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
    // The same key with another body is refused.
    expect((await execute(issue(`${title}-other`), { key })).status).toBe(409);
  });

  it("reports a tool that answers successful:false as FAILED with the provider's message", async () => {
    const accepted = await execute({ action_name: "GITHUB_DELETE_A_REPOSITORY", params: { owner: "acme", repo: "app" } });
    expect(accepted.status).toBe(202);
    const done = await settledExecution(system, alice, accepted.body.execution_id);
    expect(done.status).toBe("FAILED");
    expect(done.successful).toBe(false);
    expect(done.error?.message).toContain("Must have admin rights");
    const event = await waitForEvent(aliceFeed, "execution.completed", (d) => d.execution_id === accepted.body.execution_id);
    expect(event.data).toMatchObject({ status: "FAILED", error: { message: expect.stringContaining("Must have admin rights") } });
  });

  it("rides out a 429 from Composio: the execution still succeeds and the tool ran once", async () => {
    await emulator(system, "POST", "/faults", { kind: "rate_limit", path: "/tools/execute/*", retryAfterSeconds: 1, times: 1 });
    const title = `rate-limited-${randomUUID()}`;
    const accepted = await execute(issue(title));
    expect(accepted.status).toBe(202);
    const done = await settledExecution(system, alice, accepted.body.execution_id);
    expect(done.status).toBe("SUCCEEDED");
    const { items: faults } = await emulator<{ items: unknown[] }>(system, "GET", "/faults");
    expect(faults).toEqual([]); // the 429 was answered
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });
});

describe("approvals", () => {
  it("an agent's call waits for the user's approval over the feed, then runs exactly what was approved", async () => {
    const policy = (body: unknown) => api(system.gatewayUrl, "PUT", "/api/v1/policies/tools?user_id=alice", { token: tenant.apiKey, body });
    expect((await policy({ require_approval: { tools: ["GITHUB_CREATE_*"] } })).status).toBe(200);
    try {
      const serverFeed = await feed({ apiKey: tenant.apiKey });
      const title = `approve-${randomUUID()}`;
      // The agent (the tenant's server, by API key).
      const parked = await api<{ execution_id: string; status: string }>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute", {
        token: tenant.apiKey,
        body: { user_id: "alice", ...issue(title) },
      });
      expect(parked.status).toBe(202);
      expect(parked.body.status).toBe("AWAITING_APPROVAL");
      const id = parked.body.execution_id;
      // The user's browser sees the request on its socket, and approves exactly those arguments.
      const request = await waitForEvent(aliceFeed, "execution.approval_requested", (d) => d.execution_id === id);
      expect(request.data).toMatchObject({
        tool: "GITHUB_CREATE_AN_ISSUE",
        arguments: { title },
        requested_by: expect.stringMatching(/^api_key:/),
      });
      expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(0);
      const approved = await api(system.gatewayUrl, "POST", `/api/v1/composio/executions/${id}/approve`, {
        token: alice,
        body: { arguments_hash: request.data?.arguments_hash },
      });
      expect(approved.status).toBe(200);
      // The agent's server sees it complete, with no further call.
      const completed = await waitForEvent(serverFeed, "execution.completed", (d) => d.execution_id === id);
      expect(completed.data).toMatchObject({ status: "SUCCEEDED" });
      expect(eventsOf(aliceFeed, "execution.status", (d) => d.execution_id === id).map((m) => m.data?.status)).toEqual(
        expect.arrayContaining(["AWAITING_APPROVAL", "QUEUED"]),
      );
      expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
      // Used once.
      expect((await api(system.gatewayUrl, "POST", `/api/v1/composio/executions/${id}/approve`, { token: alice })).status).toBe(409);
    } finally {
      await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools?user_id=alice", { token: tenant.apiKey });
    }
  });
});

describe("sign-in on demand", () => {
  it("a call for a toolkit the user has not connected answers a sign-in link, and runs by itself once the user signs in", async () => {
    const carol = await userToken(system, tenant, "carol");
    const carolFeed = await feed({ token: carol });
    const title = `sign-in-${randomUUID()}`;
    const parked = await api<{ execution_id: string; status: string; authorization?: { connection_id: string; redirect_url: string } }>(
      system.gatewayUrl,
      "POST",
      "/api/v1/composio/tools/execute?wait=5",
      { token: tenant.apiKey, body: { user_id: "carol", ...issue(title) } },
    );
    expect(parked.status).toBe(202);
    expect(parked.body.status).toBe("AWAITING_AUTH");
    const authorization = parked.body.authorization!;
    expect(authorization.redirect_url).toMatch(/^http/);
    const event = await waitForEvent(carolFeed, "execution.status", (d) => d.execution_id === parked.body.execution_id);
    expect(event.data).toMatchObject({ status: "AWAITING_AUTH", authorization: { connection_id: authorization.connection_id } });
    // The user's browser follows the link; no further call from the agent.
    await completeInBrowser(system, authorization.redirect_url);
    const done = await settledExecution(system, tenant.apiKey, parked.body.execution_id, 30_000);
    expect(done.status).toBe("SUCCEEDED");
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });
});

describe("connection operations", () => {
  it("disables, enables, relabels, refreshes and deletes a connection, each with its event", async () => {
    const bob = await userToken(system, tenant, "bob");
    const bobFeed = await feed({ token: bob });
    const { connectionId } = await connectUser(system, bob, { user_id: "bob", app_name: "github", labels: ["old"] }, bobFeed);
    const base = `/api/v1/composio/connections/${connectionId}`;
    const before = (await getConnection(system, bob, connectionId)).body.redirect_url;

    const disabled = await api<{ status: string }>(system.gatewayUrl, "POST", `${base}/disable`, { token: bob });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe("INACTIVE");
    await waitFor(() => statusEvents(bobFeed, connectionId).includes("INACTIVE"), { what: "INACTIVE" });
    const enabled = await api<{ status: string }>(system.gatewayUrl, "POST", `${base}/enable`, { token: bob });
    expect(enabled.body.status).toBe("ACTIVE");
    await waitFor(() => statusEvents(bobFeed, connectionId).filter((s) => s === "ACTIVE").length === 2, { what: "ACTIVE again" });

    const relabelled = await api<{ labels: string[] }>(system.gatewayUrl, "PUT", `${base}/labels`, {
      token: bob,
      body: { labels: ["production", "team-beta"] },
    });
    expect(relabelled.status).toBe(200);
    expect(relabelled.body.labels).toEqual(["production", "team-beta"]);
    expect((await getConnection(system, bob, connectionId)).body.labels).toEqual(["production", "team-beta"]);
    const eventsBefore = statusEvents(bobFeed, connectionId).length;

    const refreshed = await api<{ status: string; redirect_url: string }>(system.gatewayUrl, "POST", `${base}/refresh`, { token: bob });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.status).toBe("INITIATED");
    expect(refreshed.body.redirect_url).toBeTruthy();
    expect(refreshed.body.redirect_url).not.toBe(before);
    // The next event (relabelling publishes none) is the refresh's INITIATED, with the new labels.
    const next = await waitFor(() => eventsOf(bobFeed, "connection.status", (d) => d.connection_id === connectionId)[eventsBefore], {
      what: "the refresh's event",
    });
    expect(next.data).toMatchObject({ status: "INITIATED", previous_status: "ACTIVE", labels: ["production", "team-beta"] });
    await completeInBrowser(system, refreshed.body.redirect_url);
    await waitFor(() => statusEvents(bobFeed, connectionId).filter((s) => s === "ACTIVE").length === 3, { what: "ACTIVE after refresh" });

    const deleted = await api(system.gatewayUrl, "DELETE", base, { token: bob });
    expect(deleted.status).toBe(204);
    const revoked = await waitForEvent(bobFeed, "connection.status", (d) => d.connection_id === connectionId && d.status === "REVOKED");
    expect(revoked.data?.labels).toEqual(["production", "team-beta"]);
    const listed = await api<{ items: Array<{ connection_id: string }> }>(system.gatewayUrl, "GET", "/api/v1/composio/connections", {
      token: bob,
    });
    expect(listed.body.items.map((c) => c.connection_id)).not.toContain(connectionId);
    // The row is gone, so is the connection (not its long-finished initiate job shown as INITIALIZING).
    expect((await getConnection(system, bob, connectionId)).status).toBe(404);
  });

  it("bulk-initiates with per-item results and a bulk.completed event, then bulk-disables", async () => {
    const carol = await userToken(system, tenant, "carol");
    const carolFeed = await feed({ token: carol });
    const started = await api<{ bulk_id: string }>(system.gatewayUrl, "POST", "/api/v1/composio/connections/bulk/initiate", {
      token: carol,
      body: { user_id: "carol", items: [{ app_name: "github", labels: ["work"] }, { app_name: "nosuchtoolkit" }, { app_name: "slack" }] },
    });
    const result = await settleBulk(system, carol, started);
    expect(result).toMatchObject({ kind: "connect", succeeded: 2, failed: 1 });
    expect(result.results.map((r) => [r.index, r.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
    expect(result.results[1]?.error?.code).toBeTypeOf("string");
    const event = await waitForEvent(carolFeed, "bulk.completed", (d) => d.bulk_id === result.bulk_id);
    expect(event.data?.results).toEqual(result.results);

    // Both connections become ACTIVE in the browser, then one bulk disable (with an id that is not carol's).
    const ids = [result.results[0]!.connection_id!, result.results[2]!.connection_id!];
    for (const id of ids) {
      await completeInBrowser(system, (await getConnection(system, carol, id)).body.redirect_url!);
      await waitFor(() => statusEvents(carolFeed, id).includes("ACTIVE"), { what: "ACTIVE" });
    }
    const disabling = await api<{ bulk_id: string }>(system.gatewayUrl, "POST", "/api/v1/composio/connections/bulk/disable", {
      token: carol,
      body: { connection_ids: [...ids, aliceGithub.connectionId] },
    });
    const disabled = await settleBulk(system, carol, disabling);
    expect(disabled).toMatchObject({ kind: "disable", succeeded: 2, failed: 1 });
    expect(disabled.results[2]).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    for (const id of ids) expect((await getConnection(system, carol, id)).body.status).toBe("INACTIVE");
    expect((await getConnection(system, alice, aliceGithub.connectionId)).body.status).toBe("ACTIVE");
    await waitForEvent(carolFeed, "bulk.completed", (d) => d.bulk_id === disabled.bulk_id);
  });
});

describe("auth configs and the catalogue", () => {
  it("creates, lists, disables, enables and deletes a custom auth config, never showing its secret", async () => {
    await testAuthConfigs(system, tenant);
  });

  it("serves toolkits from the cache, and a stale copy when Composio fails", async () => {
    await testCatalogue(system, alice);
  });
});
