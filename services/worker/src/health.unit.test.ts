import { API_SECURITY_HEADERS } from "@kronos/service-kit";
import { createMetricsRegistry } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { buildHealthServer } from "./health.js";

describe("health server", () => {
  it("answers GET /health, and router errors in the API's shape and headers", async () => {
    const app = buildHealthServer({ metrics: { registry: createMetricsRegistry("worker"), adminToken: "a".repeat(16) } });
    try {
      const response = await app.inject({ method: "GET", url: "/health" });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: "ok", service: "worker" });
      for (const [url, status, code] of [
        ["/metrics/%zz", 400, "BAD_REQUEST"],
        ["/no-such-route-q9", 404, "NOT_FOUND"],
      ] as const) {
        const refused = await app.inject({ method: "GET", url });
        expect(refused.statusCode).toBe(status);
        expect(refused.headers).toMatchObject(API_SECURITY_HEADERS);
        expect(refused.json()).toEqual({ error: { code, message: expect.any(String) } });
        expect(refused.body).not.toMatch(/%zz|q9/);
      }
    } finally {
      await app.close();
    }
  });
});
