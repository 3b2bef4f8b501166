import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { createTestTenant } from "@kronos/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness, userToken } from "../../test/harness.js";

let emulator: RunningEmulator;
let h: Harness;
let acme: { tenantId: string; apiKey: string };

const control = (path: string, init?: RequestInit) => fetch(`${emulator.url}/_emulator${path}`, init);
const fault = (spec: Record<string, unknown>) =>
  control("/faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
/** Composio requests the emulator saw on a route since the last reset. */
const calls = async (route: string) =>
  ((await (await control(`/requests?route=${encodeURIComponent(route)}`)).json()) as { items: unknown[] }).items.length;
const get = (url: string, app = h.app) => app.inject({ method: "GET", url: `/api/v1/composio${url}`, headers: bearer(acme.apiKey) });

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
  acme = await createTestTenant(h.prisma, "acme");
  h.secrets.push(acme.apiKey, emulator.apiKey);
});
afterEach(async () => {
  await control("/faults", { method: "DELETE" });
  await control("/requests", { method: "DELETE" });
});
afterAll(async () => {
  await h?.close();
  await emulator?.close();
});

describe("GET /toolkits", () => {
  it("caches: two requests, one Composio call (miss, then hit)", async () => {
    const first = await get("/toolkits?search=git");
    expect(first.statusCode).toBe(200);
    expect(first.headers["x-cache"]).toBe("miss");
    expect(first.json().items.map((t: { slug: string }) => t.slug)).toEqual(["github"]);
    expect(first.json().items[0]).toMatchObject({
      slug: "github",
      name: expect.any(String),
      categories: ["developer-tools"],
      no_auth: false,
    });
    expect(first.json().cache).toEqual({ stale: false, fetched_at: expect.any(String) });
    const second = await get("/toolkits?search=GIT");
    expect(second.headers["x-cache"]).toBe("hit");
    expect(second.json().items).toEqual(first.json().items);
    expect(await calls("/toolkits")).toBe(1);
  });

  it("filters by category and search", async () => {
    const communication = (await get("/toolkits?category=communication")).json();
    expect(communication.items.map((t: { slug: string }) => t.slug).sort()).toEqual(["gmail", "slack"]);
    expect((await get("/toolkits?search=nothing-like-this")).json().items).toEqual([]);
  });

  it("pages to the end", async () => {
    const slugs: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const body: { items: { name: string; slug: string }[]; next_cursor: string | null } = (
        await get(`/toolkits?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
      ).json();
      slugs.push(...body.items.map((t: { slug: string }) => t.slug));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(slugs)).toEqual(new Set(["github", "gmail", "slack", "notion", "linear"]));
  });

  it("coalesces 10 concurrent misses, across two gateway instances, into one Composio call", async () => {
    const sibling = await h.sibling({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
    await fault({ kind: "latency", path: "/toolkits", ms: 300, times: 1 });
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => get("/toolkits?search=a", i % 2 === 0 ? h.app : sibling)));
    for (const response of responses) expect(response.statusCode).toBe(200);
    expect(responses.filter((r) => r.headers["x-cache"] === "miss")).toHaveLength(1);
    expect(new Set(responses.map((r) => JSON.stringify(r.json().items))).size).toBe(1);
    expect(await calls("/toolkits")).toBe(1);
  });

  it("serves a stale copy when Composio fails, and says so", async () => {
    const shortLived = await h.sibling({
      COMPOSIO_BASE_URL: emulator.url,
      COMPOSIO_API_KEY: emulator.apiKey,
      TOOLKIT_CACHE_TTL_SECONDS: "1",
    });
    const fresh = await get("/toolkits?category=productivity", shortLived);
    expect(fresh.headers["x-cache"]).toBe("miss");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await fault({ kind: "server_error", path: "/toolkits" });
    const stale = await get("/toolkits?category=productivity", shortLived);
    expect(stale.statusCode).toBe(200);
    expect(stale.headers["x-cache"]).toBe("stale");
    expect(stale.json().cache).toEqual({ stale: true, fetched_at: fresh.json().cache.fetched_at });
    expect(stale.json().items).toEqual(fresh.json().items);
  });

  it("answers 503 when Composio fails and nothing is cached (Retry-After when rate limited)", async () => {
    await fault({ kind: "server_error", path: "/toolkits", times: 1 });
    const down = await get("/toolkits?search=never-cached");
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ error: { code: "UNAVAILABLE", message: "The Composio catalogue is unavailable and nothing is cached" } });
    await fault({ kind: "rate_limit", path: "/toolkits", times: 1, retryAfterSeconds: 7 });
    const limited = await get("/toolkits?search=never-cached-either");
    expect(limited.statusCode).toBe(503);
    expect(limited.headers["retry-after"]).toBe("7");
    // Nothing failed was cached: the next request reaches Composio and succeeds.
    expect((await get("/toolkits?search=never-cached")).statusCode).toBe(200);
  });

  it("rejects bad queries and missing credentials; user tokens may read", async () => {
    for (const query of ["limit=0", "limit=500", `search=${"x".repeat(201)}`])
      expect((await get(`/toolkits?${query}`)).statusCode, query).toBe(400);
    expect((await h.inject({ method: "GET", url: "/api/v1/composio/toolkits" })).statusCode).toBe(401);
    const alice = await userToken(h, acme.apiKey, "alice");
    expect((await h.inject({ method: "GET", url: "/api/v1/composio/toolkits?limit=1", headers: bearer(alice) })).statusCode).toBe(200);
  });
});

describe("GET /toolkits/{slug} and its actions", () => {
  it("answers a toolkit, cached, and 404 for an unknown one", async () => {
    const github = await get("/toolkits/GitHub");
    expect(github.statusCode).toBe(200);
    expect(github.json()).toMatchObject({ slug: "github", auth_schemes: expect.arrayContaining(["OAUTH2"]), cache: { stale: false } });
    expect((await get("/toolkits/github")).headers["x-cache"]).toBe("hit");
    const unknown = await get("/toolkits/no-such-toolkit");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: "NOT_FOUND", message: "Toolkit not found at Composio" } });
    expect((await get("/toolkits/bad%20slug")).statusCode).toBe(400);
  });

  it("lists a toolkit's actions, with search and pagination, and 404 for an unknown toolkit", async () => {
    const all = (await get("/toolkits/github/actions")).json();
    expect(all.items.map((a: { slug: string }) => a.slug).sort()).toEqual([
      "GITHUB_CREATE_AN_ISSUE",
      "GITHUB_DELETE_A_REPOSITORY",
      "GITHUB_GET_THE_AUTHENTICATED_USER",
    ]);
    expect(all.items[0]).toMatchObject({ toolkit: "github", input_parameters: expect.any(Object) });
    const issue = (await get("/toolkits/github/actions?search=issue")).json();
    expect(issue.items.map((a: { slug: string }) => a.slug)).toEqual(["GITHUB_CREATE_AN_ISSUE"]);
    const slugs: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const body: { items: { name: string; slug: string }[]; next_cursor: string | null } = (
        await get(`/toolkits/github/actions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
      ).json();
      slugs.push(...body.items.map((a: { slug: string }) => a.slug));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(slugs.sort()).toEqual(all.items.map((a: { slug: string }) => a.slug).sort());
    expect((await get("/toolkits/no-such-toolkit/actions")).statusCode).toBe(404);
    const before = await calls("/tools");
    await get("/toolkits/github/actions?search=issue");
    expect(await calls("/tools")).toBe(before);
  });
});
