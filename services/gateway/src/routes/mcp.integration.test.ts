import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { QUEUES } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, postMcp, startHarness, userToken } from "../../test/harness.js";

// /mcp through the official SDK's client, against the gateway over real sockets, Postgres, Redis and the Composio
// emulator (the catalogue). What needs the worker (a tool that runs, a sign-in) is in test/e2e/mcp.e2e.test.ts.

let emulator: RunningEmulator;
let h: Harness;
let sibling: FastifyInstance;
let urls: string[];
let acme: { tenantId: string; apiKey: string };
const clients: Client[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({
    COMPOSIO_BASE_URL: emulator.url,
    COMPOSIO_API_KEY: emulator.apiKey,
    CORS_ORIGINS: "https://chat.example.com",
    MCP_PARKED_WAIT_SECONDS: "30",
  });
  sibling = await h.sibling({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey, MCP_PARKED_WAIT_SECONDS: "30" });
  urls = [];
  for (const app of [h.app, sibling]) {
    await app.listen({ host: "127.0.0.1", port: 0 });
    urls.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
  }
  acme = await createTestTenant(h.prisma, "acme mcp");
  h.secrets.push(acme.apiKey, emulator.apiKey);
  await h.prisma.connection.create({
    data: {
      id: randomUUID(),
      tenantId: acme.tenantId,
      userId: "alice",
      toolkitSlug: "github",
      status: "ACTIVE",
      composioAccountId: `ca_${randomUUID()}`,
    },
  });
  const policy = await h.inject({
    method: "PUT",
    url: "/api/v1/policies/tools",
    headers: bearer(acme.apiKey),
    payload: { deny: ["GITHUB_DELETE_*"], require_approval: { tools: ["GMAIL_SEND_*"] } },
  });
  expect(policy.statusCode).toBe(200);
});
afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await h?.close();
  await emulator?.close();
});

async function openSession(body: Record<string, unknown>): Promise<{ session_id: string; token: string }> {
  const response = await h.inject({ method: "POST", url: "/api/v1/agent-sessions", headers: bearer(acme.apiKey), payload: body });
  expect(response.statusCode, response.body).toBe(201);
  const created = response.json();
  h.secrets.push(created.token);
  return created;
}

/**
 * An SDK client on the session's token. `roundRobin`: each HTTP request goes to the next gateway instance, as a load
 * balancer without stickiness would send it.
 */
async function connect(
  token: string,
  options: {
    roundRobin?: boolean;
    onElicit?: (params: Record<string, unknown>) => Promise<{ action: "accept" | "decline" | "cancel" }>;
  } = {},
): Promise<Client> {
  let turn = 0;
  const spread: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const base = new URL(urls[turn++ % urls.length]!);
    url.host = base.host;
    return fetch(url, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", urls[0]), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(options.roundRobin ? { fetch: spread } : {}),
  });
  const client = new Client(
    { name: "kronos-test", version: "1.0.0" },
    { capabilities: options.onElicit ? { elicitation: { url: {} } } : {} },
  );
  if (options.onElicit) {
    const onElicit = options.onElicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => onElicit(request.params as Record<string, unknown>));
  }
  await client.connect(transport);
  clients.push(client);
  return client;
}

const rawMcp = (token: string, payload: string | object, headers: Record<string, string> = {}) =>
  postMcp(urls[0] as string, token, payload, headers);

/** The execution an agent session parked for an approval, once there is one. */
const parkedBy = (sessionId: string) =>
  waitFor(
    async () =>
      (await h.prisma.execution.findFirst({
        where: { tenantId: acme.tenantId, status: "AWAITING_APPROVAL", requestedBy: `agent_session:${sessionId}` },
      })) ?? undefined,
    { what: "the parked execution" },
  );

type RpcAnswer = { jsonrpc: string; id: null; error: { code: number; message: string; data?: { code?: string } } };
const rpc = async (response: Response) => (await response.json()) as RpcAnswer;

const initializeBody = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

describe("tools/list", () => {
  it("lists exactly what the session may run: its limits within the tool policy, with schemas and hints", async () => {
    const { token } = await openSession({
      user_id: "alice",
      toolkits: ["github", "gmail"],
      tools: ["GITHUB_*", "GMAIL_SEND_*", "GMAIL_DELETE_*"],
    });
    const client = await connect(token);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    const actions = tools.filter((tool) => !tool.name.startsWith("kronos_")).map((tool) => tool.name);
    // GITHUB_DELETE_A_REPOSITORY: denied by the policy. GMAIL_FETCH_EMAILS: outside the session's tool patterns.
    expect(actions.sort()).toEqual([
      "GITHUB_CREATE_AN_ISSUE",
      "GITHUB_GET_THE_AUTHENTICATED_USER",
      "GMAIL_DELETE_MESSAGE",
      "GMAIL_SEND_EMAIL",
    ]);
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining(["kronos_list_connections", "kronos_connect_toolkit", "kronos_search_tools", "kronos_get_execution"]),
    );
    expect(byName.GITHUB_GET_THE_AUTHENTICATED_USER?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.GITHUB_CREATE_AN_ISSUE?.annotations?.readOnlyHint).toBeUndefined();
    expect(byName.GMAIL_DELETE_MESSAGE?.annotations).toMatchObject({ destructiveHint: true });
    expect(byName.GITHUB_CREATE_AN_ISSUE?.inputSchema).toMatchObject({
      type: "object",
      properties: { owner: { type: "string" }, repo: { type: "string" }, title: { type: "string" } },
      required: ["owner", "repo", "title"],
    });
    expect(byName.GMAIL_SEND_EMAIL?._meta).toMatchObject({ "kronos/action": "GMAIL_SEND_EMAIL", "kronos/requires_approval": true });
    const ajv = new Ajv2020({ strict: true });
    for (const tool of tools) expect(ajv.validateSchema(tool.inputSchema), tool.name).toBe(true);
  });

  it("without toolkits, lists the toolkits the user has connected", async () => {
    const { token } = await openSession({ user_id: "alice" });
    const client = await connect(token);
    const actions = (await client.listTools()).tools.map((tool) => tool.name).filter((name) => !name.startsWith("kronos_"));
    expect(actions.sort()).toEqual(["GITHUB_CREATE_AN_ISSUE", "GITHUB_GET_THE_AUTHENTICATED_USER"]);
  });

  it("any gateway instance serves any request of a session (no stickiness)", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const client = await connect(token, { roundRobin: true });
    for (let i = 0; i < 4; i += 1) expect((await client.listTools()).tools.length).toBeGreaterThan(2);
    const found = await client.callTool({ name: "kronos_search_tools", arguments: { query: "create issue" } });
    expect((found.structuredContent as { tools: Array<{ name: string }> }).tools[0]?.name).toBe("GITHUB_CREATE_AN_ISSUE");
  });
});

describe("tools/call refusals", () => {
  it("refuses a tool outside the session, an unknown one, and one the policy denies, with an MCP error", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"], tools: ["GITHUB_GET_*", "GITHUB_DELETE_*"] });
    const client = await connect(token);
    for (const name of ["GITHUB_CREATE_AN_ISSUE", "SLACK_SEND_MESSAGE", "GITHUB_NOPE", "lower_case", "GITHUB_DELETE_A_REPOSITORY"]) {
      const error = await client.callTool({ name, arguments: {} }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(McpError);
      expect((error as McpError).code, name).toBe(-32602);
    }
    const denied = await client.callTool({ name: "GITHUB_DELETE_A_REPOSITORY", arguments: {} }).catch((e: McpError) => e);
    expect((denied as McpError).data).toMatchObject({ code: "TOOL_NOT_ALLOWED" });
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(0);
  });

  it("refuses oversized arguments before anything is queued", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const client = await connect(token);
    const result = await client.callTool({
      name: "GITHUB_CREATE_AN_ISSUE",
      arguments: { owner: "a", repo: "b", title: "x".repeat(70_000) },
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(0);
    const meta = await client.callTool({ name: "kronos_get_execution", arguments: { execution_id: "not-a-uuid" } });
    expect(meta.isError).toBe(true);
  });
});

describe("approvals through MCP", () => {
  const sendEmail = { name: "GMAIL_SEND_EMAIL", arguments: { recipient_email: "bob@example.com", subject: "hi", body: "hello" } };

  it("a client without elicitation gets words to relay with the approvals link, at once", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    const client = await connect(token);
    const result = await client.callTool(sendEmail);
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { execution_id: string; status: string; link: string };
    expect(structured.status).toBe("AWAITING_APPROVAL");
    expect(structured.link).toContain("/console/#/approvals");
    const words = (result.content as Array<{ text: string }>)[0]!.text;
    expect(words).toContain(structured.link);
    expect(words).toContain("kronos_get_execution");
    const row = await h.prisma.execution.findUniqueOrThrow({ where: { id: structured.execution_id } });
    expect(row).toMatchObject({ status: "AWAITING_APPROVAL", requestedBy: expect.stringMatching(/^agent_session:/) });
    // The same call is idempotent per request, and kronos_get_execution reads it back.
    const again = await client.callTool({ name: "kronos_get_execution", arguments: { execution_id: structured.execution_id } });
    expect(again.structuredContent).toMatchObject({ status: "AWAITING_APPROVAL" });
  });

  it("a client with URL elicitation is shown the link and waits; the approval queues it (across two instances)", async () => {
    const { token, session_id } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    const elicited: Array<Record<string, unknown>> = [];
    const client = await connect(token, {
      roundRobin: true,
      onElicit: async (params) => {
        elicited.push(params);
        return { action: "accept" };
      },
    });
    const progress: string[] = [];
    const call = client.callTool(sendEmail, undefined, { onprogress: (p) => progress.push(p.message ?? ""), timeout: 60_000 });
    await waitFor(() => elicited.length === 1, { what: "the elicitation" });
    expect(elicited[0]).toMatchObject({ mode: "url", url: expect.stringContaining("/console/#/approvals") });
    const row = await parkedBy(session_id);
    await waitFor(() => progress.some((line) => line.includes("Waiting for an approval")), { what: "a progress notification" });
    // An agent cannot approve its own call; the user's token can.
    const alice = await userToken(h, acme.apiKey, "alice");
    const approve = await h.inject({ method: "POST", url: `/api/v1/composio/executions/${row.id}/approve`, headers: bearer(alice) });
    expect(approve.statusCode, approve.body).toBe(200);
    // No worker here: the call sees it queued, and follows it to its end (cancelled here; e2e runs it for real).
    await waitFor(() => progress.some((line) => line.includes("QUEUED")), { what: "the call to see it QUEUED" });
    const cancel = await h.inject({ method: "POST", url: `/api/v1/composio/executions/${row.id}/cancel`, headers: bearer(alice) });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const result = await call;
    expect(result.structuredContent).toMatchObject({ execution_id: row.id, status: "CANCELLED" });
  });

  it("a user who declines the link cancels the execution, and the call says so", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    const client = await connect(token, { roundRobin: true, onElicit: async () => ({ action: "decline" }) });
    const result = await client.callTool(sendEmail, undefined, { timeout: 60_000 });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ status: "CANCELLED", error: { code: "CANCELLED", message: "The user declined" } });
  });

  it("an elicitation answer cancels only what this session parked: never the user's other executions", async () => {
    // The user's own call (REST, user token) and another session's, both parked for an approval.
    const alice = await userToken(h, acme.apiKey, "alice");
    const own = await h.inject({
      method: "POST",
      url: "/api/v1/composio/tools/execute",
      headers: bearer(alice),
      payload: { user_id: "alice", action_name: sendEmail.name, params: sendEmail.arguments },
    });
    expect(own.statusCode, own.body).toBe(202);
    const ownId = own.json().execution_id as string;
    const gmail = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    const gmailResult = await (await connect(gmail.token)).callTool(sendEmail);
    const otherId = (gmailResult.structuredContent as { execution_id: string }).execution_id;
    // A github-only session answers "decline" to elicitations it never received, naming those executions.
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const init = await rawMcp(token, initializeBody);
    const headers = { "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
    for (const executionId of [ownId, otherId]) {
      const answer = await rawMcp(token, { jsonrpc: "2.0", id: `kronos-elicit:${executionId}:x`, result: { action: "decline" } }, headers);
      expect(answer.status).toBe(202);
    }
    for (const executionId of [ownId, otherId]) {
      expect((await h.prisma.execution.findUniqueOrThrow({ where: { id: executionId } })).status).toBe("AWAITING_APPROVAL");
    }
  });

  it("the client's cancellation cancels the parked execution, whichever instance receives it", async () => {
    const { token, session_id } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    let elicited = 0;
    const client = await connect(token, {
      roundRobin: true,
      onElicit: async () => {
        elicited += 1;
        return { action: "accept" };
      },
    });
    const abort = new AbortController();
    const call = client.callTool(sendEmail, undefined, { signal: abort.signal, timeout: 60_000 });
    await waitFor(() => elicited === 1, { what: "the elicitation" });
    const row = await parkedBy(session_id);
    abort.abort("changed my mind");
    await expect(call).rejects.toThrow();
    await waitFor(async () => (await h.prisma.execution.findUniqueOrThrow({ where: { id: row.id } })).status === "CANCELLED", {
      what: "the execution to be CANCELLED",
    });
  });

  it("revoking the session mid-call ends the wait, cancels what it parked, and refuses its next request", async () => {
    const { token, session_id } = await openSession({ user_id: "alice", toolkits: ["gmail"] });
    let elicited = 0;
    const client = await connect(token, {
      roundRobin: true,
      onElicit: async () => {
        elicited += 1;
        return { action: "accept" };
      },
    });
    const call = client.callTool(sendEmail, undefined, { timeout: 60_000 });
    await waitFor(() => elicited === 1, { what: "the elicitation" });
    const revoke = await h.inject({ method: "DELETE", url: `/api/v1/agent-sessions/${session_id}`, headers: bearer(acme.apiKey) });
    expect(revoke.statusCode).toBe(204);
    const result = await call;
    expect((result.content as Array<{ text: string }>)[0]!.text).toMatch(/revoked|CANCELLED/);
    const parked = await h.prisma.execution.findMany({ where: { requestedBy: `agent_session:${session_id}` } });
    expect(parked.map((row) => row.status)).toEqual(["CANCELLED"]);
    await expect(client.listTools()).rejects.toMatchObject({ code: 401 });
  });
});

describe("the protocol's edges", () => {
  it("answers malformed JSON-RPC as the spec says, and checks the session header", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const bad = await rawMcp(token, "{not json");
    expect(bad.status).toBe(400);
    expect(await rpc(bad)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
    const empty = await rawMcp(token, "");
    expect(empty.status).toBe(400);
    expect((await rpc(empty)).error.code).toBe(-32700);
    const init = await rawMcp(token, initializeBody);
    expect(init.status).toBe(200);
    const sessionId = init.headers.get("mcp-session-id")!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
    const notRpc = await rawMcp(token, { hello: "world" }, headers);
    expect(notRpc.status).toBe(400);
    expect((await rpc(notRpc)).error.code).toBe(-32700);
    const unknownMethod = await rawMcp(token, { jsonrpc: "2.0", id: 7, method: "nope/nothing" }, headers);
    expect(await unknownMethod.text()).toContain("-32601");
    const badParams = await rawMcp(token, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: 5 } }, headers);
    expect(badParams.status).toBe(200);
    expect(await badParams.json()).toMatchObject({ jsonrpc: "2.0", id: 8, error: { code: -32602 } });
    const noSession = await rawMcp(token, { jsonrpc: "2.0", id: 2, method: "tools/list" });
    expect(noSession.status).toBe(400);
    const unknownSession = await rawMcp(
      token,
      { jsonrpc: "2.0", id: 2, method: "tools/list" },
      { ...headers, "mcp-session-id": randomUUID() },
    );
    expect(unknownSession.status).toBe(404);
    expect((await rpc(unknownSession)).error.code).toBe(-32001);
    // A protocol session belongs to the agent session that opened it.
    const other = await openSession({ user_id: "alice" });
    expect((await rawMcp(other.token, { jsonrpc: "2.0", id: 2, method: "tools/list" }, headers)).status).toBe(404);
    const nul = await rawMcp(
      token,
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "GITHUB_CREATE_AN_ISSUE", arguments: { title: "a\u0000b" } } },
      headers,
    );
    expect(nul.status).toBe(400);
    const deep = await rawMcp(token, `${"[".repeat(200)}${"]".repeat(200)}`, headers);
    expect(deep.status).toBe(400);
    const wrongAccept = await rawMcp(token, { jsonrpc: "2.0", id: 4, method: "tools/list" }, { ...headers, accept: "text/html" });
    expect(wrongAccept.status).toBe(406);
    const huge = await rawMcp(token, { jsonrpc: "2.0", id: 5, method: "ping", params: { pad: "x".repeat(1_100_000) } }, headers);
    expect(huge.status).toBe(413);
    const get = await fetch(`${urls[0]}/mcp`, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers } });
    expect(get.status).toBe(405);
    const del = await fetch(`${urls[0]}/mcp`, { method: "DELETE", headers: { authorization: `Bearer ${token}`, ...headers } });
    expect(del.status).toBe(200);
    expect((await rawMcp(token, { jsonrpc: "2.0", id: 6, method: "tools/list" }, headers)).status).toBe(404);
  });

  it("fuzz: bad tools/call params and bodies are a 4xx or a JSON-RPC error, never a 5xx, and nothing is queued", async () => {
    const { token } = await openSession({ user_id: "alice", toolkits: ["github"] });
    const init = await rawMcp(token, initializeBody);
    const headers = { "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const params: unknown[] = [
      { name: 5, arguments: {} },
      { name: "GITHUB_CREATE_AN_ISSUE", arguments: "x" },
      { name: "GITHUB_CREATE_AN_ISSUE", arguments: [1, 2] },
      { name: "GITHUB_CREATE_AN_ISSUE\u0000", arguments: {} },
      { name: "\ud800", arguments: {} },
      { name: "GITHUB_CREATE_AN_ISSUE", arguments: { title: "\udc00" } },
      { name: "x".repeat(100_000) },
      { name: "kronos_get_execution", arguments: { execution_id: 7 } },
      { name: "kronos_search_tools", arguments: { query: "x".repeat(10_000), limit: -1.5 } },
      { name: "kronos_connect_toolkit", arguments: { toolkit: "../../etc/passwd" } },
      { name: "kronos_list_connections", arguments: { unexpected: true } },
      null,
      [],
    ];
    const raws = [
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"GITHUB_CREATE_AN_ISSUE","arguments":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}}`,
      `{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{}}`,
      `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"GITHUB_CREATE_AN_ISSUE","arguments":{"__proto__":{"x":1}}}}`,
      `[${Array.from({ length: 50 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"tools/list"}`).join(",")}]`,
      "null",
      '"text"',
      "[]",
    ];
    let id = 100;
    const bodies = [...params.map((p) => JSON.stringify({ jsonrpc: "2.0", id: id++, method: "tools/call", params: p })), ...raws];
    for (const body of bodies) {
      const response = await rawMcp(token, body, headers);
      const text = await response.text();
      expect(response.status, `${body.slice(0, 120)} -> ${text.slice(0, 200)}`).toBeLessThan(500);
      expect(text).not.toMatch(/-32603|Internal/);
    }
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before);
  });

  it("checks Origin against CORS_ORIGINS (DNS-rebinding protection)", async () => {
    const { token } = await openSession({ user_id: "alice" });
    const evil = await rawMcp(token, initializeBody, { origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect((await rpc(evil)).error.data?.code).toBe("FORBIDDEN");
    expect((await rawMcp(token, initializeBody, { origin: "https://chat.example.com" })).status).toBe(200);
    expect((await rawMcp(token, initializeBody, { origin: new URL(h.config.PUBLIC_GATEWAY_URL).origin })).status).toBe(200);
  });

  it("refuses a missing or forged token with 401 and no internals", async () => {
    const none = await fetch(`${urls[0]}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(initializeBody),
    });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const forged = await rawMcp(`kas_${"A".repeat(43)}`, initializeBody);
    expect(forged.status).toBe(401);
    expect(await rpc(forged)).toMatchObject({ jsonrpc: "2.0", error: { data: { code: "UNAUTHENTICATED" } } });
  });
});
