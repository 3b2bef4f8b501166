import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { QUEUES } from "@kronos/shared";
import { createTestTenant, TEST_ADMIN_TOKEN } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startHarness, userToken } from "../../test/harness.js";

// Bad input is a 4xx, never a 5xx, and nothing of it is queued: every route of the OpenAPI document gets NUL bytes,
// lone surrogates, deep nesting, wrong types, repeated and out-of-range query values, with each kind of credential.

let h: Harness;
let emulator: RunningEmulator;
let acme: { tenantId: string; apiKey: string };
let aliceToken: string;

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({
    COMPOSIO_BASE_URL: emulator.url,
    COMPOSIO_API_KEY: emulator.apiKey,
    CONNECT_WAIT_MS: "0",
    // Every documented route, many times over, from one address and one key: the rate limits are not under test here.
    RATE_LIMIT_IP_PER_MINUTE: "100000",
    RATE_LIMIT_API_KEY_PER_MINUTE: "100000",
    RATE_LIMIT_USER_PER_MINUTE: "100000",
  });
  acme = await createTestTenant(h.prisma, "acme fuzz");
  aliceToken = await userToken(h, acme.apiKey, "alice");
  h.secrets.push(acme.apiKey, emulator.apiKey);
});

afterAll(async () => {
  await h?.close();
  await emulator?.close();
  if (acme) await h.prisma.tenant.delete({ where: { id: acme.tenantId } }).catch(() => undefined);
});

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
const deepArray = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
const yearPast9999 = Buffer.from("+010000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000").toString("base64url");

/** Raw JSON bodies: each is bad somewhere (a NUL or lone surrogate in a field every route may read, depth, types). */
const BODIES = [
  '{"user_id":"a\\u0000b","app_name":"github","name":"x\\u0000y","action_name":"GITHUB_X","params":{},"connection_ids":["a\\u0000"],"items":[{"app_name":"github"}]}',
  '{"user_id":"alice","app_name":"github","name":"cfg\\u0000","toolkit":"github","auth_scheme":"OAUTH2","action_name":"GITHUB_CREATE_AN_ISSUE","params":{"title":"\\u0000"}}',
  '{"user_id":"\\ud800","app_name":"\\udc00","name":"\\ud800x","action_name":"GITHUB_X","params":{"\\ud800":1}}',
  `{"user_id":"alice","action_name":"GITHUB_CREATE_AN_ISSUE","params":${deep(5000)}}`,
  deepArray(10000),
  '{"user_id":5,"app_name":[],"labels":"x","params":"y","connection_ids":{"0":1},"items":null,"limit":1e309}',
  '{"connection_ids":["00000000-0000-4000-8000-00000000000\\u0000"],"labels":["\\u0000"]}',
  "null",
  "[]",
  '"text"',
  "{",
  '{"__proto__":{"x":1}}',
];

const QUERIES = [
  "?search=%00",
  "?user_id=%00",
  "?user_id=a&user_id=b",
  `?cursor=${yearPast9999}`,
  "?cursor=%00",
  "?limit=-1&limit=99999999999999999999",
  "?wait=%00",
  "?label=%ED%A0%80",
  "?status=%F0%9F%98%80%00",
];

const PATH_VALUES = ["00000000-0000-4000-8000-000000000000", "%00", "ac_%00", "%ED%A0%80", "a".repeat(3000)];

describe("fuzzing every documented route", () => {
  it("answers bad input with a 4xx (never a 5xx), and queues nothing", async () => {
    const doc = (await h.inject({ method: "GET", url: "/docs/json" })).json() as { paths: Record<string, Record<string, unknown>> };
    const credentials = [bearer(acme.apiKey), bearer(aliceToken), bearer(TEST_ADMIN_TOKEN), {}];
    const failures: string[] = [];
    let sent = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) continue;
        for (const value of PATH_VALUES) {
          const url = path.replace(/\{[^}]+\}/g, value);
          const requests: Array<{ url: string; payload?: string }> = QUERIES.map((query) => ({ url: url + query }));
          if (method !== "GET" && method !== "DELETE") for (const payload of BODIES) requests.push({ url, payload });
          for (const request of requests) {
            for (const headers of credentials) {
              const response = await h.inject({
                method: method as "GET",
                url: request.url,
                headers: { ...headers, ...(request.payload === undefined ? {} : { "content-type": "application/json" }) },
                ...(request.payload === undefined ? {} : { payload: request.payload }),
              });
              sent += 1;
              if (response.statusCode >= 500)
                failures.push(
                  `${method} ${request.url.slice(0, 120)} ${request.payload?.slice(0, 80) ?? ""} -> ${response.statusCode} ${response.body.slice(0, 200)}`,
                );
            }
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(1000);
    expect(failures).toEqual([]);
    for (const queue of [QUEUES.toolExecution, QUEUES.connection, QUEUES.connectionOps, QUEUES.authConfig, QUEUES.bulk]) {
      expect(await countJobs(h.config, h.redis, queue), queue).toBe(0);
    }
    expect(await h.prisma.acceptedJob.count({ where: { tenantId: acme.tenantId } })).toBe(0);
  }, 180_000);

  it("refuses a NUL in an auth-config name before anything is queued or sent to Composio", async () => {
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/composio/auth-configs",
      headers: { ...bearer(acme.apiKey), "content-type": "application/json" },
      payload: '{"toolkit":"github","name":"prod\\u0000","auth_scheme":"OAUTH2","credentials":{"client_id":"id","client_secret":"s"}}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VALIDATION_FAILED", details: [{ field: "body.name" }] });
  });

  it("refuses a body nested thousands of levels deep with 400", async () => {
    const response = await h.inject({
      method: "POST",
      url: "/api/v1/composio/tools/execute",
      headers: { ...bearer(acme.apiKey), "content-type": "application/json" },
      payload: `{"user_id":"alice","action_name":"GITHUB_CREATE_AN_ISSUE","params":${deep(3000)}}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("BAD_REQUEST");
  });
});
