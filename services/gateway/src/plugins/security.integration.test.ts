import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../test/harness.js";

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
  it("sends helmet's headers (CSP without upgrade-insecure-requests) on every response, errors included", async () => {
    for (const url of ["/health", "/docs", "/api/v1/composio/executions/x", "/nope"]) {
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
