import { describe, expect, it } from "vitest";
import { buildHealthServer } from "./health.js";

describe("health server", () => {
  it("answers GET /health", async () => {
    const app = buildHealthServer();
    try {
      const response = await app.inject({ method: "GET", url: "/health" });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: "ok", service: "worker" });
    } finally {
      await app.close();
    }
  });
});
