import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "./index.js";

/** The organisation-wide rate limit over real sockets (the sliding window itself is covered by the unit test). */

let emulator: RunningEmulator;

const apiGet = (path = "/toolkits") => fetch(`${emulator.url}/api/v3.1${path}`, { headers: { "x-api-key": emulator.apiKey } });

// biome-ignore lint/suspicious/noExplicitAny: control API answers, read freely in assertions
async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  emulator = await startEmulator({ rateLimitPerMinute: 3 });
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(async () => {
  await control("POST", "/reset");
});

describe("rate limit", () => {
  it("answers 429 with Retry-After and Composio's headers and body once past the limit", async () => {
    for (const remaining of ["2", "1", "0"]) {
      const ok = await apiGet();
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-ratelimit")).toBe("3");
      expect(ok.headers.get("x-ratelimit-remaining")).toBe(remaining);
      expect(ok.headers.get("x-ratelimit-window-size")).toBe("60");
    }
    // v3 and v3.1 share the one organisation budget; a request without a key counts too
    const limited = await fetch(`${emulator.url}/api/v3/tools`);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get("x-ratelimit")).toBe("3");
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.headers.get("x-ratelimit-window-size")).toBe("60");
    const body = (await limited.json()) as { message: string };
    expect(Object.keys(body)).toEqual(["message"]);
    expect(body.message).toMatch(/^Rate limit exceeded\. /);
    expect((await apiGet("/auth_configs")).status).toBe(429);

    // control and link routes are never limited nor counted
    for (let i = 0; i < 5; i++) expect((await control("GET", "/health")).status).toBe(200);
    expect((await fetch(`${emulator.url}/link/lt_unknown`)).status).toBe(404);

    expect((await control("GET", "/rate-limit")).body).toEqual({
      per_minute: 3,
      answered_429: 2,
      requests_in_window: 3,
      max_in_any_window: 3,
    });
    const log = (await control("GET", "/requests?route=/tools")).body.items;
    expect(log).toEqual([expect.objectContaining({ route: "/tools", rateLimited: true })]);
  });

  it("PUT /_emulator/rate-limit changes the limit at run time; reset restores the start-up limit", async () => {
    for (let i = 0; i < 3; i++) expect((await apiGet()).status).toBe(200);
    expect((await apiGet()).status).toBe(429);

    const lifted = await control("PUT", "/rate-limit", { per_minute: null });
    expect(lifted).toEqual({ status: 200, body: { per_minute: null, answered_429: 1, requests_in_window: 3, max_in_any_window: 3 } });
    for (let i = 0; i < 3; i++) {
      const ok = await apiGet();
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-ratelimit")).toBeNull();
    }
    expect((await control("GET", "/rate-limit")).body).toMatchObject({ requests_in_window: 6, max_in_any_window: 6 });

    expect((await control("PUT", "/rate-limit", { per_minute: 7 })).body.per_minute).toBe(7);
    const next = await apiGet();
    expect(next.status).toBe(200);
    expect(next.headers.get("x-ratelimit-remaining")).toBe("0");
    expect((await apiGet()).status).toBe(429);

    for (const bad of [{ per_minute: 0 }, { per_minute: 1.5 }, { per_minute: "10" }, {}]) {
      expect((await control("PUT", "/rate-limit", bad)).status).toBe(400);
    }

    expect((await control("POST", "/reset")).status).toBe(204);
    expect((await control("GET", "/rate-limit")).body).toEqual({
      per_minute: 3,
      answered_429: 0,
      requests_in_window: 0,
      max_in_any_window: 0,
    });
    expect((await apiGet()).status).toBe(200);
  });

  it("is off by default and still counts the busiest window", async () => {
    const free = await startEmulator();
    try {
      for (let i = 0; i < 12; i++) {
        const response = await fetch(`${free.url}/api/v3.1/toolkits`, { headers: { "x-api-key": free.apiKey } });
        expect(response.status).toBe(200);
      }
      const snapshot = await fetch(`${free.url}/_emulator/rate-limit`).then((r) => r.json());
      expect(snapshot).toEqual({ per_minute: null, answered_429: 0, requests_in_window: 12, max_in_any_window: 12 });
    } finally {
      await free.close();
    }
  });
});
