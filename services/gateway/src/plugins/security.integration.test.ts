import type { AddressInfo } from "node:net";
import { API_SECURITY_HEADERS } from "@kronos/service-kit";
import { createTestTenant, rawHttp } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../test/harness.js";
import { isApiPath } from "./security.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const CSP =
  "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
  "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline'";

describe("security headers", () => {
  it("sends helmet's headers (CSP without upgrade-insecure-requests) outside the API: pages, health, unknown paths", async () => {
    for (const url of ["/health", "/docs", "/nope"]) {
      const response = await h.inject({ method: "GET", url });
      expect(response.headers, url).toMatchObject({
        "content-security-policy": CSP,
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "origin-agent-cluster": "?1",
        "referrer-policy": "no-referrer",
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-dns-prefetch-control": "off",
        "x-download-options": "noopen",
        "x-frame-options": "SAMEORIGIN",
        "x-permitted-cross-domain-policies": "none",
        "x-xss-protection": "0",
      });
    }
  });

  it("sends the API's set (no caching, no framing, no content) on every API response, errors included", async () => {
    const tenant = await createTestTenant(h.prisma, "security-headers");
    h.secrets.push(tenant.apiKey);
    const responses = [
      await h.inject({ method: "GET", url: "/api/v1/composio/executions/x" }),
      await h.inject({ method: "GET", url: "/api/v1/nope" }),
      await h.inject({
        method: "POST",
        url: "/api/v1/composio/tools/execute",
        headers: { authorization: `Bearer ${tenant.apiKey}` },
        payload: { user_id: "u1", action_name: "GITHUB_GET_THE_AUTHENTICATED_USER", params: {} },
      }),
    ];
    expect(responses.map((r) => r.statusCode)).toEqual([401, 404, 202]);
    for (const response of responses) {
      expect(response.headers).toMatchObject({
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
      });
      expect(response.headers["x-xss-protection"]).toBeUndefined();
      expect(response.headers["referrer-policy"]).toBeUndefined();
    }
  });
});

describe("router and protocol errors", () => {
  it("answer in the API's error shape and headers over a real socket, without repeating the URL", async () => {
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    const get = (path: string) => rawHttp(port, `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
    const badEscape = await get("/api/v1/composio/connections/%zz");
    const unknown = await get("/api/v1/composio/no-such-thing/x1y2z3");
    const malformed = await rawHttp(port, "NOT HTTP AT ALL\r\n\r\n");
    for (const [answer, status, code] of [
      [badEscape, 400, "BAD_REQUEST"],
      [unknown, 404, "NOT_FOUND"],
      [malformed, 400, "BAD_REQUEST"],
    ] as const) {
      expect(answer.status).toBe(status);
      expect(answer.headers).toMatchObject(API_SECURITY_HEADERS);
      expect(JSON.parse(answer.body)).toEqual({ error: { code, message: expect.any(String) } });
    }
    expect(badEscape.body).not.toContain("%zz");
    expect(unknown.body).not.toContain("x1y2z3");
  });
});

describe("isApiPath", () => {
  it("knows API paths however their first segment is escaped", async () => {
    expect(isApiPath("/api/v1/composio/health?x=1")).toBe(true);
    expect(isApiPath("/%61pi/v1/composio/health")).toBe(true);
    expect(isApiPath("/%41PI/v1")).toBe(false);
    expect(isApiPath("/docs")).toBe(false);
    expect(isApiPath("/%E0%A4%A/x")).toBe(false);
    const response = await h.inject({ method: "GET", url: "/%61pi/v1/composio/executions/x" });
    expect(response.statusCode).toBe(401);
    expect(response.headers["cache-control"]).toBe("no-store");
  });
});

describe("CORS", () => {
  it("answers a preflight from a configured origin, and sends no CORS header to another origin", async () => {
    const app = await h.sibling({ CORS_ORIGINS: "https://chat.example.com" });
    const preflight = {
      method: "OPTIONS" as const,
      url: "/api/v1/composio/tools/execute",
      headers: { "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    };
    const allowed = await app.inject({ ...preflight, headers: { ...preflight.headers, origin: "https://chat.example.com" } });
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://chat.example.com");
    expect(String(allowed.headers["access-control-allow-headers"])).toContain("idempotency-key");

    const other = await app.inject({ method: "GET", url: "/health", headers: { origin: "https://evil.example.com" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("sends no CORS header when no origin is configured", async () => {
    const response = await h.inject({ method: "GET", url: "/health", headers: { origin: "https://chat.example.com" } });
    expect(response.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
