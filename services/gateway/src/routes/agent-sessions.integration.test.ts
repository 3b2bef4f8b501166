import { hashApiKey } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness } from "../../test/harness.js";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let other: { tenantId: string; apiKey: string };

beforeAll(async () => {
  h = await startHarness({ AGENT_SESSION_MAX_TTL_SECONDS: "86400" });
  acme = await createTestTenant(h.prisma, "acme agent sessions");
  other = await createTestTenant(h.prisma, "other agent sessions");
  h.secrets.push(acme.apiKey, other.apiKey);
});
afterAll(async () => {
  await h.prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, other.tenantId] } } });
  await h.close();
});

type Created = { session_id: string; token: string; mcp_url: string; expires_at: string; prefix: string; toolkits: string[] | null };

async function open(payload: Record<string, unknown>, key = acme.apiKey): Promise<Created> {
  const response = await h.inject({ method: "POST", url: "/api/v1/agent-sessions", headers: bearer(key), payload });
  expect(response.statusCode, response.body).toBe(201);
  const created = response.json() as Created;
  h.secrets.push(created.token);
  return created;
}

/** What an MCP client's first request is: enough to tell whether the token is accepted. */
const initialize = (token: string, app = h.app) =>
  app.inject({
    method: "POST",
    url: "/mcp",
    headers: { ...bearer(token), accept: "application/json, text/event-stream", "content-type": "application/json" },
    payload: {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    },
  });

describe("agent sessions", () => {
  it("opens a session: the token once, only its hash stored, the MCP URL, and an audit row", async () => {
    const created = await open({ user_id: "alice", toolkits: ["GitHub", "gmail"], tools: ["GITHUB_*", "gmail"], ttl_seconds: 600 });
    expect(created.token.startsWith("kas_")).toBe(true);
    expect(created.token.startsWith(created.prefix)).toBe(true);
    expect(created.mcp_url).toBe(new URL("/mcp", h.config.PUBLIC_GATEWAY_URL).toString());
    expect(created.toolkits).toEqual(["github", "gmail"]);
    const lifetime = new Date(created.expires_at).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(500_000);
    expect(lifetime).toBeLessThanOrEqual(600_000);
    const row = await h.prisma.agentSession.findUniqueOrThrow({ where: { id: created.session_id } });
    expect(row.tokenHash).toBe(hashApiKey(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token);
    const audit = await h.prisma.auditLog.findMany({ where: { tenantId: acme.tenantId, targetId: created.session_id } });
    expect(audit.map((a) => a.action)).toEqual(["agent_session.created"]);
    expect(JSON.stringify(audit.map((a) => a.data))).not.toContain(created.token);
    expect((await initialize(created.token)).statusCode).toBe(200);
  });

  it("lists a user's sessions newest first, without tokens; ended ones only when asked", async () => {
    const first = await open({ user_id: "bob" });
    const second = await open({ user_id: "bob", toolkits: ["slack"] });
    await open({ user_id: "carol" });
    const list = await h.inject({ method: "GET", url: "/api/v1/agent-sessions?user_id=bob", headers: bearer(acme.apiKey) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((s: { session_id: string }) => s.session_id)).toEqual([second.session_id, first.session_id]);
    expect(list.body).not.toContain(first.token);
    await h.inject({ method: "DELETE", url: `/api/v1/agent-sessions/${first.session_id}`, headers: bearer(acme.apiKey) });
    const working = await h.inject({ method: "GET", url: "/api/v1/agent-sessions?user_id=bob", headers: bearer(acme.apiKey) });
    expect(working.json().items.map((s: { session_id: string }) => s.session_id)).toEqual([second.session_id]);
    const all = await h.inject({
      method: "GET",
      url: "/api/v1/agent-sessions?user_id=bob&include_ended=true",
      headers: bearer(acme.apiKey),
    });
    expect(all.json().items).toHaveLength(2);
    // Another tenant's bob has none.
    const theirs = await h.inject({ method: "GET", url: "/api/v1/agent-sessions?user_id=bob", headers: bearer(other.apiKey) });
    expect(theirs.json().items).toEqual([]);
  });

  it("revokes a session: 401 at once on every instance, audited; another tenant's is 404, a second revoke 404", async () => {
    const created = await open({ user_id: "dave" });
    const sibling = await h.sibling({});
    expect((await initialize(created.token, sibling)).statusCode).toBe(200);
    const foreign = await h.inject({
      method: "DELETE",
      url: `/api/v1/agent-sessions/${created.session_id}`,
      headers: bearer(other.apiKey),
    });
    expect(foreign.statusCode).toBe(404);
    const revoked = await h.inject({ method: "DELETE", url: `/api/v1/agent-sessions/${created.session_id}`, headers: bearer(acme.apiKey) });
    expect(revoked.statusCode).toBe(204);
    for (const app of [h.app, sibling]) {
      const refused = await initialize(created.token, app);
      expect(refused.statusCode).toBe(401);
      expect(refused.headers["www-authenticate"]).toContain("Bearer");
      expect(refused.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { data: { code: "UNAUTHENTICATED" } } });
    }
    const again = await h.inject({ method: "DELETE", url: `/api/v1/agent-sessions/${created.session_id}`, headers: bearer(acme.apiKey) });
    expect(again.statusCode).toBe(404);
    const audit = await h.prisma.auditLog.findMany({
      where: { tenantId: acme.tenantId, targetId: created.session_id },
      orderBy: { id: "asc" },
    });
    expect(audit.map((a) => a.action)).toEqual(["agent_session.created", "agent_session.revoked"]);
  });

  it("refuses an expired or forged token with 401", async () => {
    const created = await open({ user_id: "erin", ttl_seconds: 60 });
    await h.prisma.agentSession.update({ where: { id: created.session_id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await initialize(created.token)).statusCode).toBe(401);
    expect((await initialize(`${created.token.slice(0, -2)}xx`)).statusCode).toBe(401);
    expect((await initialize("kas_nothing")).statusCode).toBe(401);
    // An API key or a user token is not an agent session token.
    expect((await initialize(acme.apiKey)).statusCode).toBe(403);
  });

  it("answers 400 for bad bodies, and needs the agent_sessions scope", async () => {
    for (const payload of [
      {},
      { user_id: "a b" },
      { user_id: "alice", toolkits: [] },
      { user_id: "alice", toolkits: ["git hub"] },
      { user_id: "alice", tools: ["github*x"] },
      { user_id: "alice", ttl_seconds: 0 },
      { user_id: "alice", ttl_seconds: 86_401 },
      { user_id: "alice", ttl_seconds: "60" },
      { user_id: "alice\u0000" },
      { user_id: "alice", admin: true },
    ]) {
      const response = await h.inject({ method: "POST", url: "/api/v1/agent-sessions", headers: bearer(acme.apiKey), payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    const key = await h.inject({
      method: "POST",
      url: "/api/v1/api-keys",
      headers: bearer(acme.apiKey),
      payload: { scopes: ["executions"] },
    });
    const narrow = key.json().api_key as string;
    h.secrets.push(narrow);
    const refused = await h.inject({
      method: "POST",
      url: "/api/v1/agent-sessions",
      headers: bearer(narrow),
      payload: { user_id: "alice" },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.details).toEqual({ scope: "agent_sessions" });
  });
});
