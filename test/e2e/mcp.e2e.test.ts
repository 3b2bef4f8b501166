import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, waitFor } from "@kronos/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeInBrowser, connectUser, createTenant, type Tenant, toolRuns, uniqueName, userToken } from "./flows.js";
import { api, type RunningSystem, startSystem } from "./support.js";

// /mcp end to end: two gateway processes behind a client that sends each HTTP request to the next one (a load
// balancer without stickiness), the real worker and the Composio emulator. Tools run for real, sign-ins and
// approvals happen as a person would do them. Also the MCP Inspector's command-line client, as an independent client.

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

let system: RunningSystem;
let secondGateway: ChildProcess;
let gateways: string[];
let tenant: Tenant;
let alice: string;
const clients: Client[] = [];

beforeAll(async () => {
  system = await startSystem({ MCP_PARKED_WAIT_SECONDS: "60" });
  // A second gateway with the first one's environment (the emulator's key start-all made up included), on its own
  // port: a second instance behind a load balancer.
  const port = await freePort();
  secondGateway = spawn(process.execPath, ["services/gateway/dist/main.js"], {
    cwd: repoRoot,
    env: { ...environmentOf(system, "services/gateway/dist/main.js"), GATEWAY_PORT: String(port) },
    stdio: "ignore",
  });
  const second = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${second}/health`).catch(() => null))?.status === 200, {
    timeoutMs: 30_000,
    what: "the second gateway",
  });
  gateways = [system.gatewayUrl, second];
  tenant = await createTenant(system);
  alice = await userToken(system, tenant, "alice");
  await connectUser(system, alice, { user_id: "alice", app_name: "github" });
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  if (secondGateway && secondGateway.exitCode === null) {
    const exited = new Promise((resolve) => secondGateway.once("exit", resolve));
    secondGateway.kill("SIGTERM");
    await exited;
  }
  await system?.stop();
});

async function openSession(body: Record<string, unknown>): Promise<{ session_id: string; token: string; mcp_url: string }> {
  const response = await api<{ session_id: string; token: string; mcp_url: string }>(system.gatewayUrl, "POST", "/api/v1/agent-sessions", {
    token: tenant.apiKey,
    body,
  });
  expect(response.status).toBe(201);
  return response.body;
}

/** The official SDK client, each HTTP request going to the next gateway instance. */
async function connect(
  token: string,
  onElicit?: (params: { mode?: string; url?: string; message: string }) => Promise<{ action: "accept" | "decline" | "cancel" }>,
): Promise<Client> {
  let turn = 0;
  const spread: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.host = new URL(gateways[turn++ % gateways.length]!).host;
    return fetch(url, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", system.gatewayUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    fetch: spread,
  });
  const client = new Client({ name: "kronos-e2e", version: "1.0.0" }, { capabilities: onElicit ? { elicitation: { url: {} } } : {} });
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, async (request) => onElicit(request.params as never));
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** The environment a service of the running system was started with (Linux /proc). */
function environmentOf(running: RunningSystem, script: string): Record<string, string> {
  for (const pid of running.processIds()) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(script)) continue;
      const pairs = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
      return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`No running process of ${script}`);
}

const firstText = (result: Record<string, unknown>) =>
  ((result.content as Array<{ text?: string }> | undefined)?.[0]?.text ?? "") as string;

describe("MCP tools end to end", () => {
  it("lists the session's tools and runs one through the worker, on either gateway instance", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const client = await connect(token);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(["GITHUB_GET_THE_AUTHENTICATED_USER", "GITHUB_CREATE_AN_ISSUE", "kronos_get_execution"]));
    for (let i = 0; i < 2; i += 1) {
      const result = await client.callTool({ name: "GITHUB_GET_THE_AUTHENTICATED_USER", arguments: {} });
      expect(result.isError, firstText(result)).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ status: "SUCCEEDED" });
      expect(JSON.parse(firstText(result))).toHaveProperty("login");
    }
    const connections = await client.callTool({ name: "kronos_list_connections", arguments: {} });
    expect(connections.structuredContent).toMatchObject({ connections: [{ toolkit: "github", status: "ACTIVE" }] });
  });

  it("is idempotent per request: the same JSON-RPC request sent again, to the other instance, runs the tool once", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const headers = { authorization: `Bearer ${token}`, accept: "application/json, text/event-stream", "content-type": "application/json" };
    const init = await fetch(`${gateways[0]}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    const session = { ...headers, "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
    const title = uniqueName("mcp-once");
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: "call-1",
      method: "tools/call",
      params: { name: "GITHUB_CREATE_AN_ISSUE", arguments: { owner: "acme", repo: "app", title } },
    });
    const answers: string[] = [];
    for (const gateway of gateways)
      answers.push(await (await fetch(`${gateway}/mcp`, { method: "POST", headers: session, body: call })).text());
    const executionIds = answers.map((text) => /"execution_id":"([0-9a-f-]{36})"/.exec(text)?.[1]);
    expect(executionIds[0]).toBeDefined();
    expect(executionIds[1]).toBe(executionIds[0]);
    expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
  });

  it("sign-in on demand: a client with URL elicitation is shown the link, the user signs in, the call returns the tool's result", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    const shown: string[] = [];
    const client = await connect(token, async (params) => {
      expect(params.mode).toBe("url");
      shown.push(params.url!);
      // The user opens the link and consents, as a browser does, a moment after the prompt.
      setTimeout(() => void completeInBrowser(system, params.url!), 100);
      return { action: "accept" };
    });
    const progress: string[] = [];
    const result = await client.callTool({ name: "GMAIL_FETCH_EMAILS", arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ""),
      timeout: 90_000,
    });
    expect(shown).toHaveLength(1);
    expect(result.isError, firstText(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: "SUCCEEDED" });
    expect(progress.some((line) => line.includes("sign in"))).toBe(true);
  });

  it("sign-in on demand without elicitation: words and the link at once; kronos_get_execution collects the result later", async () => {
    const { token } = await openSession({ user_id: "bob", toolkits: ["slack"] });
    const client = await connect(token);
    const parked = await client.callTool({ name: "SLACK_LIST_ALL_CHANNELS", arguments: {} });
    const structured = parked.structuredContent as { status: string; link: string; execution_id: string };
    expect(structured.status).toBe("AWAITING_AUTH");
    expect(firstText(parked)).toContain(structured.link);
    await completeInBrowser(system, structured.link);
    const done = await client.callTool({
      name: "kronos_get_execution",
      arguments: { execution_id: structured.execution_id, wait_seconds: 30 },
    });
    expect(done.structuredContent).toMatchObject({ status: "SUCCEEDED" });
  });

  it("an approval: the call waits while the user approves in the console, then returns the result", async () => {
    const policy = await api(system.gatewayUrl, "PUT", "/api/v1/policies/tools?user_id=alice", {
      token: tenant.apiKey,
      body: { require_approval: { tools: ["GITHUB_CREATE_AN_ISSUE"] } },
    });
    expect(policy.status).toBe(200);
    try {
      const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
      const client = await connect(token, async () => ({ action: "accept" }));
      const title = uniqueName("mcp-approved");
      const call = client.callTool({ name: "GITHUB_CREATE_AN_ISSUE", arguments: { owner: "acme", repo: "app", title } }, undefined, {
        timeout: 90_000,
      });
      const parked = await waitFor(
        async () => {
          const list = await api<{ items: Array<{ execution_id: string }> }>(
            system.gatewayUrl,
            "GET",
            "/api/v1/composio/executions?status=AWAITING_APPROVAL",
            { token: alice },
          );
          return list.body.items[0];
        },
        { what: "the execution waiting for approval" },
      );
      const approve = await api(system.gatewayUrl, "POST", `/api/v1/composio/executions/${parked.execution_id}/approve`, { token: alice });
      expect(approve.status).toBe(200);
      const result = await call;
      expect(result.structuredContent).toMatchObject({ execution_id: parked.execution_id, status: "SUCCEEDED" });
      expect(await toolRuns(system, "GITHUB_CREATE_AN_ISSUE", { title })).toHaveLength(1);
    } finally {
      await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools?user_id=alice", { token: tenant.apiKey });
    }
  });

  it("connects a toolkit through the meta-tool: a sign-in link", async () => {
    const { token } = await openSession({ user_id: "carol" });
    const client = await connect(token);
    const result = await client.callTool({ name: "kronos_connect_toolkit", arguments: { toolkit: "notion" } });
    expect(result.isError, firstText(result)).toBeFalsy();
    expect(firstText(result)).toMatch(/https?:\/\//);
  });
});

describe("the MCP Inspector's command-line client", () => {
  // Another implementation of the client side (the Inspector, pinned in the root package.json), run as a process.
  const inspector = async (token: string, args: string[]) => {
    // A home of its own: whatever the Inspector keeps (its catalogue) stays out of the user's.
    const home = mkdtempSync(join(tmpdir(), "mcp-inspector-"));
    const bin = join(repoRoot, "node_modules/.bin/mcp-inspector");
    const { stdout } = await run(
      bin,
      ["--cli", `${system.gatewayUrl}/mcp`, "--transport", "http", "--header", `Authorization: Bearer ${token}`, ...args],
      { cwd: repoRoot, timeout: 60_000, env: { ...process.env, HOME: home, NO_COLOR: "1" } },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it("lists the tools and calls one", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    // --strict: the Inspector also checks every tool schema for portability across model providers (exit 6 on an error).
    const listed = (await inspector(token, ["--method", "tools/list", "--strict"])) as { tools: Array<{ name: string }> };
    expect(listed.tools.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(["GITHUB_GET_THE_AUTHENTICATED_USER", "kronos_search_tools"]),
    );
    const called = await inspector(token, ["--method", "tools/call", "--tool-name", "GITHUB_GET_THE_AUTHENTICATED_USER"]);
    expect(called).toMatchObject({ structuredContent: { status: "SUCCEEDED" } });
    const searched = await inspector(token, ["--method", "tools/call", "--tool-name", "kronos_search_tools", "--tool-arg", "query=issue"]);
    expect(JSON.stringify(searched)).toContain("GITHUB_CREATE_AN_ISSUE");
  }, 120_000);
});
