import { hashApiKey, signUserToken, verifyUserToken } from "@kronos/shared";
import { createTestTenant, TEST_ADMIN_TOKEN, TEST_SESSION_SECRET } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness } from "../../test/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("POST /api/v1/admin/tenants", () => {
  it("requires the admin token", async () => {
    const missing = await h.inject({ method: "POST", url: "/api/v1/admin/tenants", payload: { name: "acme" } });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ error: { code: "UNAUTHENTICATED" } });

    const wrong = await h.inject({
      method: "POST",
      url: "/api/v1/admin/tenants",
      headers: bearer(`${TEST_ADMIN_TOKEN}x`),
      payload: { name: "acme" },
    });
    expect(wrong.statusCode).toBe(401);

    const tenant = await createTestTenant(h.prisma, "other");
    h.secrets.push(tenant.apiKey);
    const withApiKey = await h.inject({
      method: "POST",
      url: "/api/v1/admin/tenants",
      headers: bearer(tenant.apiKey),
      payload: { name: "acme" },
    });
    expect(withApiKey.statusCode).toBe(403);
    expect(withApiKey.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
  });

  it("creates a tenant whose key works afterwards and is stored hashed, with an audit row", async () => {
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/admin/tenants",
      headers: bearer(TEST_ADMIN_TOKEN),
      payload: { name: "  Acme  " },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({ tenant_id: expect.any(String), name: "Acme", api_key: expect.stringMatching(/^kc_/) });
    h.secrets.push(body.api_key);

    const keys = await h.prisma.apiKey.findMany({ where: { tenantId: body.tenant_id } });
    expect(keys).toHaveLength(1);
    expect(keys[0]?.keyHash).toBe(hashApiKey(body.api_key));
    expect(JSON.stringify(keys)).not.toContain(body.api_key);

    const audit = await h.prisma.auditLog.findMany({ where: { tenantId: body.tenant_id } });
    expect(audit).toEqual([
      expect.objectContaining({ actor: "admin", action: "tenant.created", targetType: "tenant", targetId: body.tenant_id }),
    ]);
    expect(JSON.stringify(audit, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(body.api_key);

    const list = await h.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(body.api_key) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({ items: [], next_cursor: null });
  });

  it("rejects a bad body with the fields named and writes nothing", async () => {
    // Scoped to the name sent: other test files create tenants at the same time.
    const before = await h.prisma.tenant.count({ where: { name: "" } });
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/admin/tenants",
      headers: bearer(TEST_ADMIN_TOKEN),
      payload: { name: "", plan: "gold" },
    });
    expect(response.statusCode).toBe(400);
    const fields = response.json().error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(["body.name", "body.plan"]));
    expect(await h.prisma.tenant.count({ where: { name: "" } })).toBe(before);
  });
});

describe("POST /api/v1/sessions", () => {
  it("issues a user token to an API key", async () => {
    const tenant = await createTestTenant(h.prisma);
    h.secrets.push(tenant.apiKey);
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice" },
    });
    expect(response.statusCode).toBe(201);
    const { token, expires_at } = response.json();
    const check = verifyUserToken(token, TEST_SESSION_SECRET);
    expect(check).toMatchObject({ ok: true, claims: { tenantId: tenant.tenantId, userId: "alice" } });
    const ttl = (Date.parse(expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(h.config.SESSION_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(h.config.SESSION_TTL_SECONDS);
  });

  it("refuses user tokens, missing, revoked and bad credentials", async () => {
    const tenant = await createTestTenant(h.prisma);
    h.secrets.push(tenant.apiKey);
    const session = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice" },
    });
    const token = session.json().token as string;

    const withUserToken = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer(token),
      payload: { user_id: "alice" },
    });
    expect(withUserToken.statusCode).toBe(403);

    const none = await h.inject({ method: "POST", url: "/api/v1/sessions", payload: { user_id: "alice" } });
    expect(none.statusCode).toBe(401);
    const basic = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: { authorization: `Basic ${tenant.apiKey}` },
      payload: { user_id: "a" },
    });
    expect(basic.statusCode).toBe(401);
    const unknownKey = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer("kc_nope"),
      payload: { user_id: "alice" },
    });
    expect(unknownKey.statusCode).toBe(401);

    const forged = signUserToken(
      { tenantId: tenant.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) + 60 },
      "another-secret-0123456789-0123456789",
    );
    const expired = signUserToken(
      { tenantId: tenant.tenantId, userId: "alice", exp: Math.floor(Date.now() / 1000) - 1 },
      TEST_SESSION_SECRET,
    );
    for (const credential of [forged, expired, `${token}x`]) {
      const response = await h.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(credential) });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    }

    await h.prisma.apiKey.updateMany({ where: { tenantId: tenant.tenantId }, data: { revokedAt: new Date() } });
    const revoked = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer(tenant.apiKey),
      payload: { user_id: "alice" },
    });
    expect(revoked.statusCode).toBe(401);
  });

  it("validates the user id", async () => {
    const tenant = await createTestTenant(h.prisma);
    h.secrets.push(tenant.apiKey);
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/sessions",
      headers: bearer(tenant.apiKey),
      payload: { user_id: "no spaces" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: "VALIDATION_FAILED", details: [{ field: "body.user_id" }] } });
  });
});
