import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, postMcp, startHarness } from "../../test/harness.js";

// Bad input aimed at the fields of the agent-session, verification and tenant-settings routes and at /mcp's message
// shapes (the generic fuzz in fuzz.integration.test.ts sends bodies shaped for other routes): each is a 4xx in our
// error shape (JSON-RPC on /mcp), never a 5xx, and changes nothing.

let h: Harness;
let url: string;
let acme: { tenantId: string; apiKey: string };
const NUL = "a\u0000b";
const LONE = "\ud800";
const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

beforeAll(async () => {
  h = await startHarness({ CONNECT_WAIT_MS: "0" });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  acme = await createTestTenant(h.prisma, "acme agent fuzz");
  h.secrets.push(acme.apiKey);
});
afterAll(async () => {
  await h.prisma.tenant.deleteMany({ where: { id: acme.tenantId } });
  await h.close();
});

const send = (method: string, path: string, body: string | undefined, token = acme.apiKey) =>
  fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body }),
  });

async function expectRefused(response: Response, what: string) {
  const text = await response.text();
  expect(response.status, `${what} -> ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${what} -> ${text.slice(0, 200)}`).toBeLessThan(500);
  expect(JSON.parse(text), what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
}

const BAD_VALUES: unknown[] = [NUL, LONE, "", "x".repeat(100_000), 5, -1, 1e308, true, null, [], {}, [NUL], [LONE], ["a".repeat(5000)]];

describe("fuzz: agent sessions, the verifier, tenant settings", () => {
  it("POST /api/v1/agent-sessions: every field's bad values are 400 and open no session", async () => {
    const good = { user_id: "alice", toolkits: ["github"], tools: ["GITHUB_*"], ttl_seconds: 60 };
    for (const field of Object.keys(good)) {
      for (const value of BAD_VALUES.filter((bad) => !(field === "ttl_seconds" && bad === 5))) {
        const body = JSON.stringify({ ...good, [field]: value });
        await expectRefused(await send("POST", "/api/v1/agent-sessions", body), `${field}=${body.slice(0, 80)}`);
      }
    }
    for (const raw of [deep(5000), `{"user_id":"alice","toolkits":[${'"github",'.repeat(10_000)}"x"]}`, "null", "[]", "{"]) {
      await expectRefused(await send("POST", "/api/v1/agent-sessions", raw), raw.slice(0, 60));
    }
    expect(await h.prisma.agentSession.count({ where: { tenantId: acme.tenantId } })).toBe(0);
  });

  it("GET and DELETE /api/v1/agent-sessions: bad queries and ids are 400 or 404", async () => {
    for (const query of [
      "",
      "?user_id=%00",
      "?user_id=%ED%A0%80",
      "?user_id=a&user_id=b",
      "?user_id=alice&include_ended=%00",
      `?user_id=${"a".repeat(5000)}`,
    ]) {
      await expectRefused(await send("GET", `/api/v1/agent-sessions${query}`, undefined), query);
    }
    for (const id of ["%00", "%ED%A0%80", "a".repeat(3000), randomUUID(), "00000000-0000-0000-0000-000000000000"]) {
      await expectRefused(await send("DELETE", `/api/v1/agent-sessions/${id}`, undefined), id.slice(0, 40));
    }
  });

  it("POST .../verify and PUT /api/v1/tenant/settings: bad values are 400 and change nothing", async () => {
    const connection = randomUUID();
    for (const field of ["code", "user_id"]) {
      for (const value of BAD_VALUES) {
        const body = JSON.stringify({ code: "kcv_x", user_id: "alice", [field]: value });
        await expectRefused(await send("POST", `/api/v1/composio/connections/${connection}/verify`, body), `${field}=${body.slice(0, 80)}`);
      }
    }
    for (const raw of [deep(5000), "null", "[]", "{", '{"code":"kcv_x","user_id":"alice","__proto__":{"x":1}}']) {
      await expectRefused(await send("POST", `/api/v1/composio/connections/${connection}/verify`, raw), raw.slice(0, 60));
    }
    const urls: unknown[] = [
      ...BAD_VALUES.filter((value) => value !== null),
      "javascript:alert(1)",
      "https://chat.example/\u0000",
      `https://chat.example/${LONE}`,
      "https://user:pw@chat.example/verify",
      "https://chat.example/verify#frag",
      "//chat.example/verify",
      "/verify",
      "data:text/html,hi",
      "http://chat.example/verify",
      `https://chat.example/${"a".repeat(3000)}`,
      "https://[::1/verify",
    ];
    for (const value of urls) {
      const body = JSON.stringify({ verification_url: value });
      await expectRefused(await send("PUT", "/api/v1/tenant/settings", body), body.slice(0, 80));
    }
    for (const raw of [deep(5000), "null", "[]", '"https://chat.example"', '{"verification_url":"https://chat.example","x":1}']) {
      await expectRefused(await send("PUT", "/api/v1/tenant/settings", raw), raw.slice(0, 60));
    }
    expect(await h.prisma.tenant.findUniqueOrThrow({ where: { id: acme.tenantId } })).toMatchObject({ verificationUrl: null });
  });
});

describe("fuzz: /mcp message shapes", () => {
  it("answers odd messages and batches with a 2xx/4xx JSON-RPC answer, never a 5xx or an internal error", async () => {
    const created = await send("POST", "/api/v1/agent-sessions", JSON.stringify({ user_id: "alice", toolkits: ["github"] }));
    const { token } = (await created.json()) as { token: string };
    h.secrets.push(token);
    const mcp = (body: string, headers: Record<string, string> = {}) => postMcp(url, token, body, headers);
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "f", version: "1" } },
    };
    const opened = await mcp(JSON.stringify(init));
    expect(opened.status).toBe(200);
    const headers = { "mcp-session-id": opened.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
    const withSession = [
      // Answers to elicitations and cancellations, of every wrong shape.
      { jsonrpc: "2.0", id: "kronos-elicit:", result: { action: "decline" } },
      { jsonrpc: "2.0", id: "kronos-elicit:\u0000:x", result: { action: "cancel" } },
      { jsonrpc: "2.0", id: `kronos-elicit:${randomUUID()}`, result: null },
      { jsonrpc: "2.0", id: `kronos-elicit:${randomUUID()}`, result: { action: { deep: 1 } } },
      { jsonrpc: "2.0", id: `kronos-elicit:${randomUUID()}`, error: { code: 1, message: LONE } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: null },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "x".repeat(500_000) } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1e308 } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: { a: 1 } } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: LONE } },
      { jsonrpc: "2.0", id: 1e308, method: "tools/list" },
      { jsonrpc: "2.0", id: -0, method: "ping" },
      { jsonrpc: "2.0", id: "x".repeat(500_000), method: "ping" },
      { jsonrpc: "2.0", id: LONE, method: "tools/list" },
      { jsonrpc: "2.0", id: 2, method: `tools/list${NUL}` },
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: { cursor: LONE } },
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "kronos_search_tools", arguments: { query: LONE } } },
      { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "kronos_connect_toolkit", arguments: { toolkit: NUL } } },
      {
        jsonrpc: "2.0",
        id: 6,
        method: "tools/call",
        params: { name: "kronos_get_execution", arguments: { execution_id: randomUUID(), wait_seconds: 1e308 } },
      },
      { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "GITHUB_CREATE_AN_ISSUE", arguments: null } },
      // Batches: an initialize whose params do not fit, beside another message.
      [
        { ...init, params: { capabilities: null } },
        { jsonrpc: "2.0", method: "notifications/initialized" },
      ],
      [
        { ...init, params: "x" },
        { jsonrpc: "2.0", id: 9, method: "ping" },
      ],
      [null, 5, "x", { jsonrpc: "2.0", id: 10, method: "ping" }],
      [
        { jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: 5 } },
        { jsonrpc: "2.0", id: 12, method: "ping" },
      ],
    ];
    for (const message of withSession) {
      for (const extra of [headers, {}]) {
        const body = JSON.stringify(message);
        const response = await mcp(body, extra);
        const text = await response.text();
        expect(response.status, `${body.slice(0, 120)} -> ${text.slice(0, 200)}`).toBeLessThan(500);
        expect(text, body.slice(0, 120)).not.toMatch(/-32603|Internal error/);
      }
    }
    // A batch with an ill-formed request is answered as a whole, each request its error, and stores nothing.
    const sessions = async () => (await h.redis.keys(`${h.config.REDIS_KEY_PREFIX}:mcp:session:*`)).length;
    const before = await sessions();
    const batch = await mcp(
      JSON.stringify([
        { ...init, params: { capabilities: null } },
        { jsonrpc: "2.0", id: 2, method: "ping" },
      ]),
    );
    expect(batch.status).toBe(200);
    expect(await batch.json()).toEqual([
      { jsonrpc: "2.0", id: 1, error: { code: -32600, message: expect.stringContaining("batch") } },
      { jsonrpc: "2.0", id: 2, error: { code: -32600, message: expect.stringContaining("batch") } },
    ]);
    const badCall = await mcp(
      JSON.stringify([
        { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: 5 } },
        { jsonrpc: "2.0", method: "notifications/initialized" },
      ]),
      headers,
    );
    expect(await badCall.json()).toEqual([{ jsonrpc: "2.0", id: 3, error: { code: -32602, message: expect.any(String) } }]);
    expect(await sessions()).toBe(before);

    for (const id of ["%00", "x".repeat(5000), `${randomUUID()}\u0001`, "A".repeat(36)]) {
      const response = await mcp(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }), {
        ...headers,
        "mcp-session-id": id,
      }).catch(() => null);
      // A header with a control character is refused by fetch itself; any other answer is a 4xx.
      if (response) expect(response.status, id.slice(0, 40)).toBeLessThan(500);
    }
  });
});
