import { generateApiKey } from "@kronos/shared";
import { createTestTenant, TEST_ADMIN_TOKEN } from "@kronos/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness, userToken } from "../../test/harness.js";

let h: Harness;
let second: FastifyInstance;
let acme: { tenantId: string; apiKey: string };
let other: { tenantId: string; apiKey: string };

beforeAll(async () => {
  h = await startHarness({ RATE_LIMIT_IP_PER_MINUTE: "4", RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE: "3" });
  // A second instance on the same Redis prefix: both count together.
  second = await h.sibling({ RATE_LIMIT_IP_PER_MINUTE: "4", RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE: "3" });
  acme = await createTestTenant(h.prisma, "acme limits");
  other = await createTestTenant(h.prisma, "other limits");
  h.secrets.push(acme.apiKey, other.apiKey);
});
afterAll(async () => {
  await h.prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, other.tenantId] } } });
  await h.close();
});

const setLimits = (tenantId: string, payload: Record<string, unknown>) =>
  h.inject({ method: "PUT", url: `/api/v1/admin/tenants/${tenantId}/rate-limits`, headers: bearer(TEST_ADMIN_TOKEN), payload });

describe("per-tenant limits (admin)", () => {
  it("sets, shows and clears a tenant's overrides", async () => {
    const set = await setLimits(other.tenantId, { api_key_per_minute: 50 });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({
      tenant_id: other.tenantId,
      api_key_per_minute: 50,
      user_per_minute: h.config.RATE_LIMIT_USER_PER_MINUTE,
      overrides: { api_key_per_minute: 50, user_per_minute: null },
    });
    const cleared = await setLimits(other.tenantId, { api_key_per_minute: null });
    expect(cleared.json().api_key_per_minute).toBe(h.config.RATE_LIMIT_API_KEY_PER_MINUTE);
    const read = await h.inject({
      method: "GET",
      url: `/api/v1/admin/tenants/${other.tenantId}/rate-limits`,
      headers: bearer(TEST_ADMIN_TOKEN),
    });
    expect(read.json().overrides).toEqual({ api_key_per_minute: null, user_per_minute: null });
  });

  it("answers 400 for a limit that does not exist or a bad value, 404 for an unknown tenant", async () => {
    for (const payload of [{ requests_per_second: 5 }, { api_key_per_minute: 0 }, { user_per_minute: "many" }]) {
      const response = await setLimits(other.tenantId, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect((await setLimits("00000000-0000-4000-8000-000000000000", { user_per_minute: 5 })).statusCode).toBe(404);
  });
});

describe("429 counted across instances", () => {
  it("limits an API key to its tenant's override, counting on both instances, with Retry-After and RateLimit headers", async () => {
    expect((await setLimits(acme.tenantId, { api_key_per_minute: 6, user_per_minute: 3 })).statusCode).toBe(200);
    const { key, hash, prefix } = generateApiKey();
    await h.prisma.apiKey.create({ data: { tenantId: acme.tenantId, keyHash: hash, prefix } });
    h.secrets.push(key);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof second.inject>> | undefined;
    for (let i = 0; i < 8; i++) {
      // The second instance reads the override from Postgres (the first knows it already).
      const app = i % 2 === 0 ? h.app : second;
      last = await app.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(key) });
      statuses.push(last.statusCode);
      if (i === 0) {
        expect(last.headers["ratelimit-limit"]).toBe("6");
        expect(last.headers["ratelimit-remaining"]).toBe("5");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    expect(last!.json().error.code).toBe("RATE_LIMITED");
    expect(Number(last!.headers["retry-after"])).toBeGreaterThan(0);
    expect(last!.headers["ratelimit-limit"]).toBe("6");
    expect(last!.headers["ratelimit-remaining"]).toBe("0");
    expect(Number(last!.headers["ratelimit-reset"])).toBeGreaterThan(0);
    // Another key of the same tenant has a count of its own; another tenant is untouched.
    expect((await h.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(acme.apiKey) })).statusCode).toBe(200);
    expect((await second.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(other.apiKey) })).statusCode).toBe(
      200,
    );
  });

  it("limits a user over all its tokens", async () => {
    const first = await userToken(h, acme.apiKey, "limited-user");
    const again = await userToken(h, acme.apiKey, "limited-user");
    const statuses: number[] = [];
    for (const [app, token] of [
      [h.app, first],
      [second, again],
      [h.app, again],
      [second, first],
    ] as const) {
      statuses.push((await app.inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(token) })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it("limits unauthenticated routes per client IP, and not the health probe", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await (i % 2 ? second : h.app).inject({ method: "GET", url: "/docs/json" })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    for (let i = 0; i < 6; i++) expect((await h.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("bounds unknown kc_ keys per client IP: 429 past the limit, without a lookup", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { key } = generateApiKey();
      statuses.push(
        (await (i % 2 ? second : h.app).inject({ method: "GET", url: "/api/v1/composio/connections", headers: bearer(key) })).statusCode,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // Another address is not affected (a key already cached by an instance is not looked up, so it works from any).
    const elsewhere = await h.inject({
      method: "GET",
      url: "/api/v1/composio/connections",
      headers: bearer(other.apiKey),
      remoteAddress: "10.0.0.2",
    });
    expect(elsewhere.statusCode).toBe(200);
  });
});
