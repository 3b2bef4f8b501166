import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TEST_COMPOSIO_API_KEY } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../test/harness.js";

let h: Harness;
let fakeComposio: Server;
const seenKeys: unknown[] = [];

beforeAll(async () => {
  fakeComposio = createServer((req, res) => {
    seenKeys.push(req.headers["x-api-key"]);
    const ok = req.url === "/api/v3/toolkits?limit=1" && req.headers["x-api-key"] === TEST_COMPOSIO_API_KEY;
    res.writeHead(ok ? 200 : 401, { "content-type": "application/json" }).end(JSON.stringify({ items: [], next_cursor: null }));
  });
  await new Promise<void>((resolve) => fakeComposio.listen(0, "127.0.0.1", resolve));
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => fakeComposio?.close(resolve));
});

describe("health", () => {
  it("GET /health", async () => {
    const response = await h.inject({ method: "GET", url: "/health" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok", service: "gateway" });
  });

  it("answers 503 naming the dependency that is down", async () => {
    // The test config points Composio at 127.0.0.1:9, where nothing listens.
    const response = await h.inject({ method: "GET", url: "/api/v1/composio/health" });
    expect(response.statusCode).toBe(503);
    const body = response.json();
    expect(body).toMatchObject({
      configured: true,
      emulator: true,
      dependencies: { postgres: { ok: true }, redis: { ok: true }, composio: { ok: false } },
    });
    expect(body.dependencies.composio.error).toBe("unreachable");
  });

  it("answers 200 when every dependency answers, sending the key to Composio only", async () => {
    const port = (fakeComposio.address() as AddressInfo).port;
    const app = await h.sibling({ COMPOSIO_BASE_URL: `http://localhost:${port}/` });
    const response = await app.inject({ method: "GET", url: "/api/v1/composio/health" });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toEqual({
      configured: true,
      message: expect.any(String),
      emulator: true,
      dependencies: {
        postgres: { ok: true, latency_ms: expect.any(Number) },
        redis: { ok: true, latency_ms: expect.any(Number) },
        composio: { ok: true, latency_ms: expect.any(Number) },
      },
    });
    expect(seenKeys).toContain(TEST_COMPOSIO_API_KEY);
    expect(response.body).not.toContain(TEST_COMPOSIO_API_KEY);
  });
});

describe("cross-cutting", () => {
  it("serves the OpenAPI document with the routes and their zod-derived schemas", async () => {
    const response = await h.inject({ method: "GET", url: "/docs/json" });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/health",
        "/api/v1/composio/health",
        "/api/v1/admin/tenants",
        "/api/v1/sessions",
        "/api/v1/composio/connections/initiate-enhanced",
        "/api/v1/composio/connections",
        "/api/v1/composio/connections/{id}",
        "/api/v1/composio/connections/{id}/callback",
      ]),
    );
    expect(Object.keys(doc.paths).some((path) => path.startsWith("/docs"))).toBe(false);
    const initiate = doc.paths["/api/v1/composio/connections/initiate-enhanced"].post;
    const body = initiate.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(expect.arrayContaining(["user_id", "app_name"]));
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(initiate.responses)).toEqual(expect.arrayContaining(["201", "202", "400", "401", "404"]));
    expect(JSON.stringify(initiate.responses["202"])).toContain("poll_url");
    const list = doc.paths["/api/v1/composio/connections"].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["user_id", "status", "label", "toolkit", "limit", "cursor"]),
    );
    expect(doc.components.schemas).toHaveProperty("Connection");
    expect(doc.components.schemas).toHaveProperty("Error");

    const ui = await h.inject({ method: "GET", url: "/docs" });
    expect([200, 302]).toContain(ui.statusCode);
  });

  it("answers 404 NOT_FOUND for an unknown route, without repeating its URL", async () => {
    const response = await h.inject({ method: "GET", url: "/api/v1/nothing?x=1" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: "NOT_FOUND", message: "No route for GET at this path" } });
  });

  it("honours and echoes x-request-id, and makes one up otherwise", async () => {
    const given = await h.inject({ method: "GET", url: "/health", headers: { "x-request-id": "req-123" } });
    expect(given.headers["x-request-id"]).toBe("req-123");
    const unsafe = await h.inject({ method: "GET", url: "/health", headers: { "x-request-id": "bad id\twith spaces" } });
    expect(unsafe.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const error = await h.inject({ method: "GET", url: "/nope", headers: { "x-request-id": "req-404" } });
    expect(error.headers["x-request-id"]).toBe("req-404");
  });

  it("sets security headers and no CORS headers by default", async () => {
    const response = await h.inject({ method: "GET", url: "/health", headers: { origin: "https://evil.example" } });
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("allows the configured CORS origins", async () => {
    const app = await h.sibling({ CORS_ORIGINS: "https://chat.example.com, https://admin.example.com" });
    const allowed = await app.inject({ method: "GET", url: "/health", headers: { origin: "https://admin.example.com" } });
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://admin.example.com");
    const other = await app.inject({ method: "GET", url: "/health", headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
