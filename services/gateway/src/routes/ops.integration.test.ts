import { QUEUES } from "@kronos/shared";
import { createTestTenant, TEST_ADMIN_TOKEN } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness } from "../../test/harness.js";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  h.secrets.push(acme.apiKey);
});
afterAll(async () => {
  await h?.close();
});

describe("Bull Board at /admin/queues", () => {
  it("asks for the admin token: 401 with a Basic challenge, pages, API and assets alike", async () => {
    for (const url of ["/admin/queues", "/admin/queues/api/queues", "/admin/queues/static/favicon-32x32.png"]) {
      for (const headers of [{}, bearer(acme.apiKey), basic("admin", "wrong-password-123456"), bearer("nope")]) {
        const response = await h.inject({ method: "GET", url, headers });
        expect(response.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers["www-authenticate"]).toMatch(/^Basic realm="Kronos Connect"/);
      }
    }
  });

  it("opens with the token as Bearer or as the Basic password, and shows every queue", async () => {
    const page = await h.inject({ method: "GET", url: "/admin/queues", headers: bearer(TEST_ADMIN_TOKEN) });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    const viaBasic = await h.inject({ method: "GET", url: "/admin/queues", headers: basic("operator", TEST_ADMIN_TOKEN) });
    expect(viaBasic.statusCode).toBe(200);
    const api = await h.inject({
      method: "GET",
      url: "/admin/queues/api/queues",
      headers: basic("", TEST_ADMIN_TOKEN),
      allowSecret: TEST_ADMIN_TOKEN,
    });
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(Object.values(QUEUES).sort());
    expect(api.body).not.toContain(TEST_ADMIN_TOKEN);
  });
});

describe("GET /metrics", () => {
  it("needs the admin token", async () => {
    expect((await h.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    expect((await h.inject({ method: "GET", url: "/metrics", headers: bearer(acme.apiKey) })).statusCode).toBe(403);
  });

  it("exposes HTTP latency and queue depths in Prometheus format", async () => {
    await h.inject({ method: "GET", url: "/health" });
    await h.inject({ method: "GET", url: "/api/v1/no-such-route/123" });
    const response = await h.inject({ method: "GET", url: "/metrics", headers: bearer(TEST_ADMIN_TOKEN) });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/text\/plain/);
    expect(response.body).toContain("kronos_http_request_duration_seconds_bucket");
    expect(response.body).toMatch(/kronos_http_request_duration_seconds_count\{[^}]*route="\/health"/);
    // A 404 counts under "unmatched", never under its raw URL.
    expect(response.body).toMatch(/kronos_http_request_duration_seconds_count\{[^}]*route="unmatched",status_code="404"/);
    expect(response.body).not.toContain("no-such-route");
    for (const queue of Object.values(QUEUES)) expect(response.body).toContain(`kronos_queue_jobs{queue="${queue}",state="waiting"`);
    expect(response.body).toContain('service="gateway"');
  });
});

describe("/docs", () => {
  it("documents every new endpoint from its schemas", async () => {
    const doc = (await h.inject({ method: "GET", url: "/docs/json" })).json() as { paths: Record<string, Record<string, unknown>> };
    const expected: Array<[string, string]> = [
      ["/api/v1/composio/auth-configs", "get"],
      ["/api/v1/composio/auth-configs", "post"],
      ["/api/v1/composio/auth-configs/{id}", "put"],
      ["/api/v1/composio/auth-configs/{id}", "delete"],
      ["/api/v1/composio/auth-configs/{id}/enable", "post"],
      ["/api/v1/composio/connections/{id}/refresh", "post"],
      ["/api/v1/composio/connections/{id}/labels", "put"],
      ["/api/v1/composio/connections/{id}", "delete"],
      ["/api/v1/composio/connections/bulk/initiate", "post"],
      ["/api/v1/composio/bulk/{id}", "get"],
      ["/api/v1/composio/toolkits/{slug}/actions", "get"],
      ["/api/v1/composio/tools/execute", "post"],
      ["/api/v1/composio/executions/{id}", "get"],
      ["/metrics", "get"],
    ];
    for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(doc.paths).some((path) => path.startsWith("/admin/queues"))).toBe(false);
  });
});

describe("authentication on every route", () => {
  it("answers 401 without a credential on every documented route that declares one, and serves the others", async () => {
    const doc = (await h.inject({ method: "GET", url: "/docs/json" })).json() as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    let secured = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      const url = path.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.security?.length) continue;
        secured += 1;
        const response = await h.inject({ method: method.toUpperCase() as "GET", url });
        expect(response.statusCode, `${method} ${path}`).toBe(401);
        expect(response.json().error.code, `${method} ${path}`).toBe("UNAUTHENTICATED");
      }
    }
    expect(secured).toBeGreaterThan(20);
  });
});
