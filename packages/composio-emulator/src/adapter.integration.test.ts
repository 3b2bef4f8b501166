import { ComposioError, type ComposioErrorKind, type ComposioPort, createComposioClient } from "@kronos/shared";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OpenApiSpec, specAvailable } from "../test/openapi.js";
import { type FaultSpec, type RequestLogEntry, type RunningEmulator, startEmulator } from "./index.js";

/** The ComposioPort adapter (over @composio/client) against a running emulator: every method, and every fault kind. */

const API_KEY = "adapter-test-secret-key-123";
let emulator: RunningEmulator;
let port: ComposioPort;
let spec: OpenApiSpec;

// biome-ignore lint/suspicious/noExplicitAny: control API answers, read freely in assertions
async function control(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

const inject = (fault: FaultSpec) => control("POST", "/faults", fault);
const requests = async (query = ""): Promise<RequestLogEntry[]> => (await control("GET", `/requests${query}`)).items;

async function failure(promise: Promise<unknown>): Promise<ComposioError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ComposioError);
    expect((error as Error).message).not.toContain(API_KEY);
    return error as ComposioError;
  }
  throw new Error("expected a ComposioError");
}

async function activeAccount(toolkitSlug: string, userId: string): Promise<{ authConfigId: string; id: string }> {
  const config = await port.createAuthConfig({ toolkitSlug, managed: true });
  const link = await port.createConnectLink({ authConfigId: config.id, userId });
  expect((await fetch(link.redirectUrl)).status).toBe(200);
  return { authConfigId: config.id, id: link.connectedAccountId };
}

// Without Composio's spec (a fresh clone alone), the one check against it is skipped (test/global-setup.ts says so).
const withSpec = specAvailable();

beforeAll(async () => {
  if (withSpec) spec = new OpenApiSpec();
  emulator = await startEmulator({ apiKey: API_KEY });
  port = createComposioClient({ apiKey: API_KEY, baseUrl: emulator.url, timeoutMs: 1_000 });
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(async () => {
  await control("POST", "/reset");
});

describe("createComposioClient against the emulator", () => {
  it("auth configs: create managed and custom, list, get, update, enable/disable, delete", async () => {
    const managed = await port.createAuthConfig({ toolkitSlug: "github", managed: true, name: "GitHub (managed)" });
    expect(managed).toMatchObject({
      toolkitSlug: "github",
      name: "GitHub (managed)",
      isComposioManaged: true,
      status: "ENABLED",
      authScheme: "OAUTH2",
    });
    const custom = await port.createAuthConfig({
      toolkitSlug: "github",
      managed: false,
      name: "GitHub (ours)",
      authScheme: "OAUTH2",
      credentials: { client_id: "cid", client_secret: "very-secret" },
    });
    expect(custom).toMatchObject({ isComposioManaged: false, name: "GitHub (ours)", connectionCount: 0 });
    expect(JSON.stringify(custom)).not.toContain("very-secret");

    const managedOnly = await port.listAuthConfigs({ toolkitSlug: "github", isComposioManaged: true });
    expect(managedOnly.items.map((c) => c.id)).toEqual([managed.id]);
    const first = await port.listAuthConfigs({ toolkitSlug: "github", limit: 1 });
    expect(first.items).toHaveLength(1);
    const second = await port.listAuthConfigs({ toolkitSlug: "github", limit: 1, cursor: first.nextCursor! });
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((c) => c.id).sort()).toEqual([managed.id, custom.id].sort());

    await port.updateAuthConfig(custom.id, { name: "Renamed", credentials: { client_id: "cid2", client_secret: "other" } });
    await port.updateAuthConfig(managed.id, { name: "Managed renamed" });
    expect((await port.getAuthConfig(custom.id)).name).toBe("Renamed");
    expect((await port.getAuthConfig(managed.id)).name).toBe("Managed renamed");

    await port.setAuthConfigEnabled(custom.id, false);
    expect((await port.getAuthConfig(custom.id)).status).toBe("DISABLED");
    expect((await port.listAuthConfigs({ toolkitSlug: "github" })).items.map((c) => c.id)).toEqual([managed.id]);
    expect((await port.listAuthConfigs({ toolkitSlug: "github", showDisabled: true })).items).toHaveLength(2);
    await port.setAuthConfigEnabled(custom.id, true);

    await port.deleteAuthConfig(custom.id);
    const missing = await failure(port.getAuthConfig(custom.id));
    expect(missing.kind).toBe("not_found");
    expect(missing.retryable).toBe(false);
  });

  it("connected accounts: link, browser, get, list, refresh, enable/disable, revoke, delete; legacy create", async () => {
    const config = await port.createAuthConfig({ toolkitSlug: "slack", managed: true });
    const link = await port.createConnectLink({ authConfigId: config.id, userId: "alice", callbackUrl: "https://app.test/cb" });
    expect(link.redirectUrl.startsWith(`${emulator.url}/link/`)).toBe(true);
    expect(Date.parse(link.expiresAt!)).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect((await port.getConnectedAccount(link.connectedAccountId)).status).toBe("INITIATED");

    const browser = await fetch(link.redirectUrl, { redirect: "manual" });
    expect(new URL(browser.headers.get("location")!).searchParams.get("status")).toBe("success");
    const active = await port.getConnectedAccount(link.connectedAccountId);
    expect(active).toMatchObject({
      id: link.connectedAccountId,
      userId: "alice",
      status: "ACTIVE",
      toolkitSlug: "slack",
      authConfigId: config.id,
      isDisabled: false,
    });

    const other = await port.createConnectLink({ authConfigId: config.id, userId: "bob" });
    const listed = await port.listConnectedAccounts({
      userIds: ["alice", "bob"],
      toolkitSlugs: ["slack"],
      statuses: ["ACTIVE", "INITIATED"],
    });
    expect(listed.items.map((a) => a.id).sort()).toEqual([link.connectedAccountId, other.connectedAccountId].sort());
    expect((await port.listConnectedAccounts({ userIds: ["alice"], statuses: ["INITIATED"] })).items).toEqual([]);
    const paged = await port.listConnectedAccounts({ toolkitSlugs: ["slack"], limit: 1 });
    expect(paged.nextCursor).not.toBeNull();

    const refreshed = await port.refreshConnectedAccount(link.connectedAccountId, { callbackUrl: "https://app.test/again" });
    expect(refreshed.status).toBe("INITIATED");
    const again = await fetch(refreshed.redirectUrl!, { redirect: "manual" });
    expect(again.headers.get("location")!.startsWith("https://app.test/again?")).toBe(true);

    await port.setConnectedAccountEnabled(link.connectedAccountId, false);
    expect(await port.getConnectedAccount(link.connectedAccountId)).toMatchObject({ status: "INACTIVE", isDisabled: true });
    await port.setConnectedAccountEnabled(link.connectedAccountId, true);
    expect((await port.getConnectedAccount(link.connectedAccountId)).status).toBe("ACTIVE");

    await port.revokeConnectedAccount(link.connectedAccountId);
    expect((await port.getConnectedAccount(link.connectedAccountId)).status).toBe("REVOKED");
    await port.deleteConnectedAccount(link.connectedAccountId);
    const gone = await failure(port.getConnectedAccount(link.connectedAccountId));
    expect(gone).toMatchObject({
      kind: "not_found",
      details: { status: 404, code: 1803, slug: expect.any(String), requestId: expect.any(String) },
    });

    const refused = await failure(port.createConnectedAccount({ authConfigId: config.id, userId: "carol" }));
    expect(refused).toMatchObject({ kind: "client", details: { status: 400, code: 600, slug: "ConnectedAccount_BadRequest" } });
    const apiKeyConfig = await port.createAuthConfig({
      toolkitSlug: "linear",
      managed: false,
      name: "Linear key",
      authScheme: "API_KEY",
      credentials: {},
    });
    const created = await port.createConnectedAccount({
      authConfigId: apiKeyConfig.id,
      userId: "carol",
      data: { generic_api_key: "lin_api_x" },
    });
    expect(created).toMatchObject({ status: "ACTIVE", redirectUrl: null });
  });

  it("an expired link fails the account and redirects with status=failed", async () => {
    const config = await port.createAuthConfig({ toolkitSlug: "linear", managed: true });
    const link = await port.createConnectLink({ authConfigId: config.id, userId: "late", callbackUrl: "https://app.test/cb" });
    await control("POST", "/clock", { advance_seconds: 601 });
    const browser = await fetch(link.redirectUrl, { redirect: "manual" });
    expect(new URL(browser.headers.get("location")!).searchParams.get("status")).toBe("failed");
    expect((await port.getConnectedAccount(link.connectedAccountId)).status).toBe("FAILED");
  });

  it("toolkits and tools", async () => {
    const toolkits = await port.listToolkits({ limit: 3 });
    expect(toolkits.items).toHaveLength(3);
    expect(toolkits.nextCursor).not.toBeNull();
    const rest = await port.listToolkits({ limit: 3, cursor: toolkits.nextCursor! });
    expect(rest.items.length).toBeGreaterThanOrEqual(2);
    expect((await port.listToolkits({ search: "linear" })).items.map((t) => t.slug)).toEqual(["linear"]);
    expect((await port.listToolkits({ category: "email" })).items.map((t) => t.slug)).toEqual(["gmail"]);
    const github = await port.getToolkit("github");
    expect(github).toMatchObject({
      slug: "github",
      name: "GitHub",
      composioManagedAuthSchemes: ["OAUTH2"],
      categories: ["developer-tools"],
      noAuth: false,
    });
    expect(github.toolsCount).toBeGreaterThan(0);
    expect((await failure(port.getToolkit("nope"))).kind).toBe("not_found");

    const tools = await port.listTools({ toolkitSlug: "gmail" });
    expect(tools.items.map((t) => t.slug)).toContain("GMAIL_SEND_EMAIL");
    expect(tools.items[0]).toMatchObject({ toolkitSlug: "gmail", inputParameters: { type: "object" } });
    expect((await port.listTools({ search: "archive" })).items.length).toBeGreaterThanOrEqual(2);
  });

  it("executeTool: success, provider failure, 404, 422", async () => {
    const { id } = await activeAccount("github", "dave");
    const ok = await port.executeTool({
      toolSlug: "GITHUB_CREATE_AN_ISSUE",
      connectedAccountId: id,
      arguments: { owner: "o", repo: "r", title: "t" },
    });
    expect(ok).toMatchObject({ successful: true, error: null, logId: expect.any(String) });
    const byUser = await port.executeTool({ toolSlug: "GITHUB_GET_THE_AUTHENTICATED_USER", userId: "dave", arguments: {} });
    expect(byUser.successful).toBe(true);
    const refused = await port.executeTool({
      toolSlug: "GITHUB_DELETE_A_REPOSITORY",
      connectedAccountId: id,
      arguments: { owner: "o", repo: "r" },
    });
    expect(refused).toMatchObject({ successful: false, error: expect.stringContaining("403") });
    const unknown = await failure(port.executeTool({ toolSlug: "GITHUB_NOPE", connectedAccountId: id, arguments: {} }));
    expect(unknown).toMatchObject({ kind: "not_found", details: { code: 2401 } });
    await control("PUT", `/connected_accounts/${id}/status`, { status: "EXPIRED" });
    const expired = await failure(
      port.executeTool({ toolSlug: "GITHUB_GET_THE_AUTHENTICATED_USER", connectedAccountId: id, arguments: {} }),
    );
    expect(expired).toMatchObject({ kind: "client", details: { status: 422 } });
  });

  it("triggers: list and get types, upsert, enable/disable, delete; unknown slug and bad config refused", async () => {
    const page = await port.listTriggerTypes({ toolkitSlugs: ["github", "gmail"], limit: 50 });
    expect(page.items.map((t) => t.toolkitSlug).sort()).toEqual(["github", "github", "gmail"]);
    const type = await port.getTriggerType("GITHUB_COMMIT_EVENT");
    expect(type).toMatchObject({
      slug: "GITHUB_COMMIT_EVENT",
      toolkitSlug: "github",
      type: "webhook",
      config: { required: ["owner", "repo"] },
    });
    expect((await failure(port.getTriggerType("GITHUB_NOPE"))).kind).toBe("not_found");

    const account = await activeAccount("github", "trigger-adapter");
    const { triggerId } = await port.upsertTriggerInstance("GITHUB_COMMIT_EVENT", {
      connectedAccountId: account.id,
      config: { owner: "o", repo: "r" },
    });
    expect(triggerId).toMatch(/^ti_/);
    expect((await failure(port.upsertTriggerInstance("GITHUB_COMMIT_EVENT", { connectedAccountId: account.id, config: {} }))).kind).toBe(
      "client",
    );
    await port.setTriggerInstanceEnabled(triggerId, false);
    expect((await control("GET", "/trigger_instances")).items[0].disabledAt).toEqual(expect.any(String));
    await port.setTriggerInstanceEnabled(triggerId, true);
    await port.deleteTriggerInstance(triggerId);
    expect((await failure(port.deleteTriggerInstance(triggerId))).kind).toBe("not_found");
    const routes = (await requests()).map((r) => `${r.method} ${r.path}`);
    expect(routes).toContain(`PATCH /api/v3.1/trigger_instances/manage/${triggerId}`);
  });

  it.skipIf(!withSpec)("sends request bodies that match the spec's request schemas", async () => {
    const { authConfigId, id } = await activeAccount("notion", "erin");
    await port.updateAuthConfig(authConfigId, { name: "n" });
    const custom = await port.createAuthConfig({
      toolkitSlug: "notion",
      managed: false,
      name: "c",
      authScheme: "OAUTH2",
      credentials: { client_id: "a", client_secret: "b" },
    });
    await port.updateAuthConfig(custom.id, { credentials: { client_id: "a2", client_secret: "b2" } });
    await port.createConnectedAccount({ authConfigId: custom.id, userId: "erin", callbackUrl: "https://app.test/cb" });
    await port.refreshConnectedAccount(id, { callbackUrl: "https://app.test/cb" });
    await port.setConnectedAccountEnabled(id, false);
    await port.setConnectedAccountEnabled(id, true);
    await control("PUT", `/connected_accounts/${id}/status`, { status: "ACTIVE" });
    await port.executeTool({ toolSlug: "NOTION_SEARCH_NOTION_PAGE", connectedAccountId: id, arguments: { query: "x" } });

    const withBodies = (await requests()).filter((r) => r.apiVersion === "v3.1" && r.body !== undefined);
    expect(withBodies.length).toBeGreaterThanOrEqual(8);
    for (const r of withBodies) {
      const specPath = spec.specPathFor(r.method, r.route);
      expect(specPath, `${r.method} ${r.route}`).not.toBeNull();
      expect(spec.requestProblems(specPath!, r.method, r.body), `${r.method} ${r.route} ${JSON.stringify(r.body)}`).toEqual([]);
    }
    // The secret as a JSON string: a random id ("ca_b2d4…") may hold its two characters.
    expect(JSON.stringify(withBodies)).not.toContain('"b2"');
  });
});

describe("failures map to ComposioError kinds", () => {
  const cases: Array<{ fault: FaultSpec; kind: ComposioErrorKind; check?: (e: ComposioError) => void }> = [
    {
      fault: { kind: "rate_limit", retryAfterSeconds: 12, times: 1 },
      kind: "rate_limited",
      check: (e) => expect(e.details.retryAfterSeconds).toBe(12),
    },
    {
      fault: { kind: "server_error", status: 500, times: 1 },
      kind: "server",
      check: (e) => expect(e.details).toMatchObject({ status: 500, code: 500 }),
    },
    { fault: { kind: "server_error", status: 503, times: 1 }, kind: "server" },
    { fault: { kind: "timeout", times: 1 }, kind: "timeout" },
    { fault: { kind: "malformed", times: 1 }, kind: "malformed" },
    { fault: { kind: "reset", times: 1 }, kind: "network" },
  ];
  for (const { fault, kind, check } of cases) {
    it(`${fault.kind}${fault.status ? ` ${fault.status}` : ""} → ${kind}`, async () => {
      await inject({ ...fault, method: "GET", path: "/toolkits" });
      const error = await failure(port.listToolkits({}));
      expect(error.kind).toBe(kind);
      expect(error.retryable).toBe(true);
      check?.(error);
      expect((await port.listToolkits({})).items.length).toBeGreaterThan(0);
    });
  }

  // Tool execution has a transport of its own (execute-transport.ts): the same faults, the same kinds.
  for (const { fault, kind, check } of cases) {
    it(`executeTool: ${fault.kind}${fault.status ? ` ${fault.status}` : ""} → ${kind}`, async () => {
      const { id } = await activeAccount("gmail", `exec-${fault.kind}-${fault.status ?? ""}`);
      const run = () => port.executeTool({ toolSlug: "GMAIL_FETCH_EMAILS", connectedAccountId: id, arguments: {} });
      await inject({ ...fault, method: "POST", path: "/tools/execute/*" });
      const error = await failure(run());
      expect(error.kind).toBe(kind);
      expect(error.retryable).toBe(true);
      check?.(error);
      expect((await run()).successful).toBe(true);
    });
  }

  it("executeTool: a wrong API key → auth, the key in no message; nothing listening → network, never connected", async () => {
    const { id } = await activeAccount("gmail", "exec-auth");
    const bad = createComposioClient({ apiKey: "wrong-key-should-not-leak", baseUrl: emulator.url, timeoutMs: 1_000 });
    const refused = await failure(bad.executeTool({ toolSlug: "GMAIL_FETCH_EMAILS", connectedAccountId: id, arguments: {} }));
    expect(refused.kind).toBe("auth");
    expect(refused.details.status).toBe(401);
    expect(refused.message).not.toContain("wrong-key-should-not-leak");
    const closed = await startEmulator();
    await closed.close();
    const dead = createComposioClient({ apiKey: API_KEY, baseUrl: closed.url, timeoutMs: 1_000 });
    const unreachable = await failure(dead.executeTool({ toolSlug: "GMAIL_FETCH_EMAILS", connectedAccountId: id, arguments: {} }));
    expect(unreachable.kind).toBe("network");
    // The worker reads this as "the call never reached Composio" (it may run again).
    expect(unreachable.message).toMatch(/ECONNREFUSED/);
  });

  it("a wrong API key → auth, and the key never appears in the message", async () => {
    const bad = createComposioClient({ apiKey: "wrong-key-should-not-leak", baseUrl: emulator.url, timeoutMs: 1_000 });
    const error = await failure(bad.listToolkits({}));
    expect(error.kind).toBe("auth");
    expect(error.message).not.toContain("wrong-key-should-not-leak");
    expect(error.retryable).toBe(false);
  });

  it("nothing listening → network", async () => {
    const closed = await startEmulator();
    const url = closed.url;
    await closed.close();
    const dead = createComposioClient({ apiKey: API_KEY, baseUrl: url, timeoutMs: 1_000 });
    expect((await failure(dead.listToolkits({}))).kind).toBe("network");
  });

  it("one injected 500 on execute: the request reaches Composio exactly once (no client retries)", async () => {
    const { id } = await activeAccount("gmail", "frank");
    await control("DELETE", "/requests");
    await inject({ kind: "server_error", status: 500, method: "POST", path: "/tools/execute/*", times: 1 });
    const error = await failure(
      port.executeTool({ toolSlug: "GMAIL_SEND_EMAIL", connectedAccountId: id, arguments: { recipient_email: "a@b.c", body: "hi" } }),
    );
    expect(error.kind).toBe("server");
    const calls = await requests("?method=POST&route=/tools/execute/*");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.fault).toBe("server_error");
    expect((await control("GET", "/executions")).items).toHaveLength(0);
  });

  it("one injected 429 on execute: no retry either", async () => {
    const { id } = await activeAccount("gmail", "gina");
    await control("DELETE", "/requests");
    await inject({ kind: "rate_limit", retryAfterSeconds: 1, method: "POST", path: "/tools/execute/*", times: 1 });
    expect((await failure(port.executeTool({ toolSlug: "GMAIL_FETCH_EMAILS", connectedAccountId: id, arguments: {} }))).kind).toBe(
      "rate_limited",
    );
    expect(await requests("?method=POST&route=/tools/execute/*")).toHaveLength(1);
  });

  it("latency below the timeout still succeeds", async () => {
    await inject({ kind: "latency", ms: 200, path: "/toolkits/*", times: 1 });
    expect((await port.getToolkit("slack")).slug).toBe("slack");
  });
});
