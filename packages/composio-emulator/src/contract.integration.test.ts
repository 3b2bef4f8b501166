import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OpenApiSpec, specAvailable } from "../test/openapi.js";
import { type RunningEmulator, startEmulator } from "./index.js";

/**
 * The emulator must not drift from Composio: every operation the port uses is driven over HTTP and its status and
 * body are validated against Composio's official OpenAPI spec (v3). The spec copy predates `POST .../revoke`,
 * `REVOKED` and v3.1; those are checked against COMPOSIO.md and the client's types instead, and v3.1 is checked to
 * answer like v3 (same schemas).
 */

let spec: OpenApiSpec;
let emulator: RunningEmulator;
// Without Composio's spec (a fresh clone alone), the checks against it are skipped; the test run says so once
// (test/global-setup.ts).
const withSpec = specAvailable();

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked against the spec, then read freely
type Json = Record<string, any>;

beforeAll(async () => {
  if (withSpec) spec = new OpenApiSpec();
  emulator = await startEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

async function http(method: string, url: string, body?: unknown, apiKey: string | null = emulator.apiKey): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (apiKey !== null) headers["x-api-key"] = apiKey;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual" });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (HTML link page)
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

function client(prefix: "/api/v3" | "/api/v3.1") {
  /** Calls `specPath` (with its {params} filled from `params`) and validates the answer against the spec. */
  return async function call(
    method: string,
    specPath: string,
    opts: { params?: Record<string, string>; query?: string; body?: unknown; expectStatus: number; apiKey?: string | null },
  ): Promise<Json> {
    const route = specPath.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = opts.params?.[name];
      if (value === undefined) throw new Error(`missing path param ${name}`);
      return encodeURIComponent(value);
    });
    const url = `${emulator.url}${prefix}${route}${opts.query ? `?${opts.query}` : ""}`;
    const answer = await http(method, url, opts.body, opts.apiKey === undefined ? emulator.apiKey : opts.apiKey);
    expect(answer.status, `${method} ${url}: ${JSON.stringify(answer.body)}`).toBe(opts.expectStatus);
    expect(spec.responseProblems(`/api/v3${specPath}`, method, answer.status, answer.body), `${method} ${url} body vs spec`).toEqual([]);
    return answer.body as Json;
  };
}

for (const prefix of ["/api/v3", "/api/v3.1"] as const) {
  describe.skipIf(!withSpec)(`contract of ${prefix} against composio-openapi-v3.json`, () => {
    const call = client(prefix);

    beforeEach(async () => {
      expect((await http("POST", `${emulator.url}/_emulator/reset`, undefined, null)).status).toBe(204);
    });

    it("auth configs: create (managed and custom), list with filters, get, patch, enable/disable, delete", async () => {
      const managed = await call("POST", "/auth_configs", {
        body: { toolkit: { slug: "github" }, auth_config: { type: "use_composio_managed_auth", name: "gh managed" } },
        expectStatus: 201,
      });
      expect(managed.auth_config.is_composio_managed).toBe(true);
      const custom = await call("POST", "/auth_configs", {
        body: {
          toolkit: { slug: "github" },
          auth_config: {
            type: "use_custom_auth",
            authScheme: "OAUTH2",
            name: "gh custom",
            credentials: { client_id: "cid", client_secret: "shh-secret" },
          },
        },
        expectStatus: 201,
      });
      expect(JSON.stringify(custom)).not.toContain("shh-secret");

      const list = await call("GET", "/auth_configs", {
        query: "toolkit_slug=github&is_composio_managed=true&limit=10",
        expectStatus: 200,
      });
      expect(list.items.map((c: Json) => c.id)).toEqual([managed.auth_config.id]);
      const page1 = await call("GET", "/auth_configs", { query: "toolkit_slug=github&limit=1", expectStatus: 200 });
      expect(page1.items).toHaveLength(1);
      expect(page1.next_cursor).toEqual(expect.any(String));
      const page2 = await call("GET", "/auth_configs", {
        query: `toolkit_slug=github&limit=1&cursor=${page1.next_cursor}`,
        expectStatus: 200,
      });
      expect(page2.next_cursor).toBeNull();
      expect(page2.current_page).toBe(2);

      const got = await call("GET", "/auth_configs/{nanoid}", { params: { nanoid: custom.auth_config.id }, expectStatus: 200 });
      expect(got.type).toBe("custom");
      expect(JSON.stringify(got)).not.toContain("shh-secret");

      await call("PATCH", "/auth_configs/{nanoid}", {
        params: { nanoid: custom.auth_config.id },
        body: { type: "custom", credentials: { client_id: "cid2", client_secret: "other-secret" } },
        expectStatus: 200,
      });
      await call("PATCH", "/auth_configs/{nanoid}/{status}", {
        params: { nanoid: custom.auth_config.id, status: "DISABLED" },
        expectStatus: 200,
      });
      const hidden = await call("GET", "/auth_configs", { query: "toolkit_slug=github", expectStatus: 200 });
      expect(hidden.items.map((c: Json) => c.id)).not.toContain(custom.auth_config.id);
      const shown = await call("GET", "/auth_configs", { query: "toolkit_slug=github&show_disabled=true", expectStatus: 200 });
      expect(shown.items.map((c: Json) => c.id)).toContain(custom.auth_config.id);
      await call("PATCH", "/auth_configs/{nanoid}/{status}", {
        params: { nanoid: custom.auth_config.id, status: "ENABLED" },
        expectStatus: 200,
      });

      await call("DELETE", "/auth_configs/{nanoid}", { params: { nanoid: custom.auth_config.id }, expectStatus: 200 });
      await call("GET", "/auth_configs/{nanoid}", { params: { nanoid: custom.auth_config.id }, expectStatus: 404 });
      await call("POST", "/auth_configs", { body: { toolkit: { slug: "github" }, auth_config: { type: "nonsense" } }, expectStatus: 400 });
    });

    it("rejects a missing or wrong API key with the error envelope", async () => {
      const body = await call("GET", "/auth_configs", { apiKey: null, expectStatus: 401 });
      expect(body.error).toMatchObject({ status: 401, slug: expect.any(String), request_id: expect.any(String) });
      await call("GET", "/toolkits", { apiKey: "wrong", expectStatus: 401 });
    });

    it("connected accounts: link, browser round trip, get, list (both array styles), refresh, status, delete", async () => {
      const ac = await call("POST", "/auth_configs", { body: { toolkit: { slug: "slack" } }, expectStatus: 201 });
      const authConfigId = ac.auth_config.id as string;
      const userId = `user-${prefix}`;
      const link = await call("POST", "/connected_accounts/link", {
        body: { auth_config_id: authConfigId, user_id: userId, callback_url: "https://app.test/callback?x=1" },
        expectStatus: 201,
      });
      const ttl = Date.parse(link.expires_at) - Date.now();
      expect(ttl).toBeGreaterThan(9 * 60_000);
      expect(ttl).toBeLessThanOrEqual(10 * 60_000);
      const id = link.connected_account_id as string;

      const initiated = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 200 });
      expect(initiated.status).toBe("INITIATED");

      const browser = await http("GET", link.redirect_url, undefined, null);
      expect(browser.status).toBe(302);
      const location = new URL(browser.headers.get("location") ?? "");
      expect(location.origin + location.pathname).toBe("https://app.test/callback");
      // The callback URL's own query is kept (ours carries the link's callback secret).
      expect(location.searchParams.get("x")).toBe("1");
      expect(location.searchParams.get("status")).toBe("success");
      expect(location.searchParams.get("connected_account_id")).toBe(id);

      const active = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 200 });
      expect(active.status).toBe("ACTIVE");

      const second = await call("POST", "/connected_accounts/link", {
        body: { auth_config_id: authConfigId, user_id: userId },
        expectStatus: 201,
      });
      const comma = await call("GET", "/connected_accounts", {
        query: `user_ids=${userId},nobody&toolkit_slugs=slack&statuses=ACTIVE,INITIATED`,
        expectStatus: 200,
      });
      const repeated = await call("GET", "/connected_accounts", {
        query: `user_ids=${userId}&user_ids=nobody&toolkit_slugs=slack&statuses=ACTIVE&statuses=INITIATED`,
        expectStatus: 200,
      });
      expect(comma.items.map((a: Json) => a.id).sort()).toEqual([id, second.connected_account_id].sort());
      expect(repeated.items.map((a: Json) => a.id).sort()).toEqual(comma.items.map((a: Json) => a.id).sort());
      const onlyActive = await call("GET", "/connected_accounts", { query: `user_ids=${userId}&statuses=ACTIVE`, expectStatus: 200 });
      expect(onlyActive.items.map((a: Json) => a.id)).toEqual([id]);

      const refreshed = await call("POST", "/connected_accounts/{nanoid}/refresh", {
        params: { nanoid: id },
        body: { redirect_url: "https://app.test/again" },
        expectStatus: 200,
      });
      expect(refreshed).toMatchObject({ id, status: "INITIATED", redirect_url: expect.stringContaining("/link/") });
      const afterRefresh = await http("GET", refreshed.redirect_url, undefined, null);
      expect(new URL(afterRefresh.headers.get("location") ?? "").searchParams.get("status")).toBe("success");

      await call("PATCH", "/connected_accounts/{nanoId}/status", { params: { nanoId: id }, body: { enabled: false }, expectStatus: 200 });
      const inactive = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 200 });
      expect(inactive).toMatchObject({ status: "INACTIVE", is_disabled: true });
      await call("PATCH", "/connected_accounts/{nanoId}/status", { params: { nanoId: id }, body: { enabled: true }, expectStatus: 200 });

      const denied = await http("GET", `${second.redirect_url}?deny=1`, undefined, null);
      expect(denied.status).toBe(200);
      expect(String(denied.body)).toContain("Connection failed");
      const failed = await call("GET", "/connected_accounts/{nanoid}", {
        params: { nanoid: second.connected_account_id },
        expectStatus: 200,
      });
      expect(failed.status).toBe("FAILED");

      await call("DELETE", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 200 });
      const gone = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 404 });
      expect(gone.error.code).toBe(1803);
    });

    it("legacy create: 400 code 600 for Composio-managed OAuth, works for custom OAuth and API keys", async () => {
      const managed = await call("POST", "/auth_configs", { body: { toolkit: { slug: "notion" } }, expectStatus: 201 });
      const refused = await call("POST", "/connected_accounts", {
        body: { auth_config: { id: managed.auth_config.id }, connection: { user_id: "legacy" } },
        expectStatus: 400,
      });
      expect(refused.error).toMatchObject({ code: 600, slug: "ConnectedAccount_BadRequest" });

      const customOauth = await call("POST", "/auth_configs", {
        body: {
          toolkit: { slug: "notion" },
          auth_config: { type: "use_custom_auth", authScheme: "OAUTH2", credentials: { client_id: "a", client_secret: "b" } },
        },
        expectStatus: 201,
      });
      const oauth = await call("POST", "/connected_accounts", {
        body: { auth_config: { id: customOauth.auth_config.id }, connection: { user_id: "legacy", callback_url: "https://app.test/cb" } },
        expectStatus: 201,
      });
      expect(oauth).toMatchObject({ status: "INITIATED", redirect_url: expect.stringContaining("/link/") });

      const apiKey = await call("POST", "/auth_configs", {
        body: { toolkit: { slug: "notion" }, auth_config: { type: "use_custom_auth", authScheme: "API_KEY", credentials: {} } },
        expectStatus: 201,
      });
      const keyed = await call("POST", "/connected_accounts", {
        body: { auth_config: { id: apiKey.auth_config.id }, connection: { user_id: "legacy", data: { generic_api_key: "secret-key" } } },
        expectStatus: 201,
      });
      expect(keyed).toMatchObject({ status: "ACTIVE", redirect_url: null });
      const got = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: keyed.id }, expectStatus: 200 });
      expect(JSON.stringify(got)).not.toContain("secret-key");
    });

    it("toolkits and tools: list, search, category, cursor, get; categories", async () => {
      const all = await call("GET", "/toolkits", { query: "limit=2", expectStatus: 200 });
      expect(all.items).toHaveLength(2);
      expect(all.total_items).toBeGreaterThanOrEqual(5);
      const next = await call("GET", "/toolkits", { query: `limit=2&cursor=${all.next_cursor}`, expectStatus: 200 });
      expect(next.items[0].slug).not.toBe(all.items[0].slug);
      const searched = await call("GET", "/toolkits", { query: "search=gmail", expectStatus: 200 });
      expect(searched.items.map((t: Json) => t.slug)).toEqual(["gmail"]);
      const category = await call("GET", "/toolkits", { query: "category=developer-tools", expectStatus: 200 });
      expect(category.items.map((t: Json) => t.slug)).toEqual(["github"]);
      for (const slug of ["github", "gmail", "slack", "notion", "linear"]) {
        const toolkit = await call("GET", "/toolkits/{slug}", { params: { slug }, expectStatus: 200 });
        expect(toolkit.composio_managed_auth_schemes).toContain("OAUTH2");
      }
      await call("GET", "/toolkits/{slug}", { params: { slug: "nope" }, expectStatus: 404 });
      await call("GET", "/toolkits/categories", { expectStatus: 200 });

      const tools = await call("GET", "/tools", { query: "toolkit_slug=github&limit=2", expectStatus: 200 });
      expect(tools.items).toHaveLength(2);
      expect(tools.items[0].input_parameters.type).toBe("object");
      expect(tools.next_cursor).toEqual(expect.any(String));
      const found = await call("GET", "/tools", { query: "search=send", expectStatus: 200 });
      expect(found.items.map((t: Json) => t.slug)).toEqual(expect.arrayContaining(["GMAIL_SEND_EMAIL", "SLACK_SEND_MESSAGE"]));
      const tool = await call("GET", "/tools/{tool_slug}", { params: { tool_slug: "GITHUB_CREATE_AN_ISSUE" }, expectStatus: 200 });
      expect(tool.version).toEqual(prefix === "/api/v3" ? "00000000_00" : expect.stringMatching(/^2026/));
      await call("GET", "/tools/{tool_slug}", { params: { tool_slug: "NOPE_NOTHING" }, expectStatus: 404 });
    });

    it("execute: success, provider failure, unknown tool, inactive account, bad arguments", async () => {
      const ac = await call("POST", "/auth_configs", { body: { toolkit: { slug: "linear" } }, expectStatus: 201 });
      const link = await call("POST", "/connected_accounts/link", {
        body: { auth_config_id: ac.auth_config.id, user_id: "exec-user" },
        expectStatus: 201,
      });
      const id = link.connected_account_id as string;

      const notYet = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_LIST_LINEAR_TEAMS" },
        body: { connected_account_id: id, arguments: {} },
        expectStatus: 422,
      });
      expect(notYet.error.status).toBe(422);
      expect((await http("GET", link.redirect_url, undefined, null)).status).toBe(200);

      const ok = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_CREATE_LINEAR_ISSUE" },
        body: { connected_account_id: id, arguments: { team_id: "t1", title: "Bug" } },
        expectStatus: 200,
      });
      expect(ok).toMatchObject({ successful: true, error: null, data: { issue: { title: "Bug" } }, log_id: expect.any(String) });
      const byUser = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_LIST_LINEAR_TEAMS" },
        body: { user_id: "exec-user", arguments: {} },
        expectStatus: 200,
      });
      expect(byUser.successful).toBe(true);
      const providerFailure = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_DELETE_LINEAR_ISSUE" },
        body: { connected_account_id: id, arguments: { issue_id: "i1" } },
        expectStatus: 200,
      });
      expect(providerFailure).toMatchObject({ successful: false, error: expect.any(String) });
      const unknown = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_DOES_NOT_EXIST" },
        body: { connected_account_id: id, arguments: {} },
        expectStatus: 404,
      });
      expect(unknown.error.code).toBe(2401);
      await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_CREATE_LINEAR_ISSUE" },
        body: { connected_account_id: id, arguments: { title: "no team" } },
        expectStatus: 400,
      });
      const mismatch = await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_LIST_LINEAR_TEAMS" },
        body: { connected_account_id: id, user_id: "someone-else", arguments: {} },
        expectStatus: 400,
      });
      expect(mismatch.error.code).toBe(1812);

      const expired = await http("PUT", `${emulator.url}/_emulator/connected_accounts/${id}/status`, { status: "EXPIRED" }, null);
      expect(expired.status).toBe(200);
      await call("POST", "/tools/execute/{tool_slug}", {
        params: { tool_slug: "LINEAR_LIST_LINEAR_TEAMS" },
        body: { connected_account_id: id, arguments: {} },
        expectStatus: 422,
      });
      const shown = await call("GET", "/connected_accounts/{nanoid}", { params: { nanoid: id }, expectStatus: 200 });
      expect(shown.status).toBe("EXPIRED");
    });

    it("revoke (not in the spec copy): COMPOSIO.md / client shape, REVOKED on v3.1 only", async () => {
      const ac = await call("POST", "/auth_configs", { body: { toolkit: { slug: "gmail" } }, expectStatus: 201 });
      const link = await call("POST", "/connected_accounts/link", {
        body: { auth_config_id: ac.auth_config.id, user_id: "revoker" },
        expectStatus: 201,
      });
      await http("GET", link.redirect_url, undefined, null);
      const url = `${emulator.url}${prefix}/connected_accounts/${link.connected_account_id}/revoke`;
      const revoked = await http("POST", url);
      expect(revoked.status).toBe(200);
      const expectedStatus = prefix === "/api/v3.1" ? "REVOKED" : "INACTIVE";
      expect(revoked.body).toEqual({
        revoked_tokens: ["access_token", "refresh_token"],
        connected_account: { id: link.connected_account_id, status: expectedStatus },
      });
      const again = await http("POST", url);
      expect((again.body as Json).revoked_tokens).toEqual([]);
      const got = await http("GET", `${emulator.url}${prefix}/connected_accounts/${link.connected_account_id}`);
      expect((got.body as Json).status).toBe(expectedStatus);
      if (prefix === "/api/v3") {
        expect(spec.responseProblems("/api/v3/connected_accounts/{nanoid}", "GET", got.status, got.body)).toEqual([]);
      }
      await call("POST", "/connected_accounts/{nanoid}/refresh", { params: { nanoid: "ca_missing" }, expectStatus: 404 });
    });

    it("triggers: types (list, filter, get with config schema), instances (upsert, active list, disable/enable, delete)", async () => {
      const types = await call("GET", "/triggers_types", { query: "toolkit_slugs=github,slack&limit=2", expectStatus: 200 });
      expect(types.items).toHaveLength(2);
      expect(types.items.every((t: Json) => ["github", "slack"].includes(t.toolkit.slug))).toBe(true);
      const rest = await call("GET", "/triggers_types", {
        query: `toolkit_slugs=github&toolkit_slugs=slack&cursor=${types.next_cursor}`,
        expectStatus: 200,
      });
      expect(rest.items.length + types.items.length).toBe(types.total_items);
      const type = await call("GET", "/triggers_types/{slug}", { params: { slug: "GITHUB_COMMIT_EVENT" }, expectStatus: 200 });
      expect(type.config).toMatchObject({ type: "object", required: ["owner", "repo"] });
      await call("GET", "/triggers_types/{slug}", { params: { slug: "GITHUB_NOTHING_LIKE_IT" }, expectStatus: 404 });
      const enumAnswer = await http("GET", `${emulator.url}${prefix}/triggers_types/list/enum`);
      expect(enumAnswer.body).toContain("GITHUB_COMMIT_EVENT");

      const ac = await call("POST", "/auth_configs", { body: { toolkit: { slug: "github" } }, expectStatus: 201 });
      const link = await call("POST", "/connected_accounts/link", {
        body: { auth_config_id: ac.auth_config.id, user_id: "trigger-user" },
        expectStatus: 201,
      });
      const accountId = link.connected_account_id as string;
      const upsert = (config: unknown, expectStatus: number, slug = "GITHUB_COMMIT_EVENT") => {
        const body = { connected_account_id: accountId, trigger_config: config };
        expect(spec.requestProblems("/api/v3/trigger_instances/{slug}/upsert", "POST", body)).toEqual([]);
        return call("POST", "/trigger_instances/{slug}/upsert", { params: { slug }, body, expectStatus });
      };
      const notActive = await upsert({ owner: "o", repo: "r" }, 422);
      expect(notActive.error.code).toBe(1810);
      await http("GET", link.redirect_url, undefined, null);
      const invalid = await upsert({ owner: "o" }, 400);
      expect(invalid.error.message).toContain("repo");
      await upsert({ owner: "o", repo: "r" }, 404, "GITHUB_NOTHING_LIKE_IT");
      await upsert({ channel: "C1" }, 400, "SLACK_RECEIVE_MESSAGE");
      const created = await upsert({ owner: "o", repo: "r" }, 200);
      const triggerId = created.trigger_id as string;
      expect(triggerId).toMatch(/^ti_/);
      const again = await upsert({ owner: "o", repo: "other" }, 200);
      expect(again.trigger_id).toBe(triggerId);

      const active = await call("GET", "/trigger_instances/active", { query: `connected_account_ids=${accountId}`, expectStatus: 200 });
      expect(active.items).toMatchObject([{ id: triggerId, trigger_name: "GITHUB_COMMIT_EVENT", trigger_config: { repo: "other" } }]);
      const manage = { params: { triggerId } };
      const disableBody = { status: "disable" };
      expect(spec.requestProblems("/api/v3/trigger_instances/manage/{triggerId}", "PATCH", disableBody)).toEqual([]);
      await call("PATCH", "/trigger_instances/manage/{triggerId}", { ...manage, body: disableBody, expectStatus: 200 });
      const hidden = await call("GET", "/trigger_instances/active", { query: `trigger_ids=${triggerId}`, expectStatus: 200 });
      expect(hidden.items).toEqual([]);
      const shown = await call("GET", "/trigger_instances/active", {
        query: `trigger_ids=${triggerId}&show_disabled=true`,
        expectStatus: 200,
      });
      expect(shown.items[0].disabled_at).toEqual(expect.any(String));
      await call("PATCH", "/trigger_instances/manage/{triggerId}", { ...manage, body: { status: "enable" }, expectStatus: 200 });
      await call("PATCH", "/trigger_instances/manage/{triggerId}", { ...manage, body: { status: "sideways" }, expectStatus: 400 });
      const deleted = await call("DELETE", "/trigger_instances/manage/{triggerId}", { ...manage, expectStatus: 200 });
      expect(deleted.trigger_id).toBe(triggerId);
      const gone = await http("DELETE", `${emulator.url}${prefix}/trigger_instances/manage/${triggerId}`);
      expect(gone.status).toBe(404);
    });

    it("429 carries Retry-After and COMPOSIO.md's plain { message } body (the spec's envelope is wrong here)", async () => {
      const fault = await http(
        "POST",
        `${emulator.url}/_emulator/faults`,
        { kind: "rate_limit", path: "/toolkits", times: 1, retryAfterSeconds: 7 },
        null,
      );
      expect(fault.status).toBe(201);
      const limited = await http("GET", `${emulator.url}${prefix}/toolkits`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("7");
      expect(limited.body).toEqual({ message: expect.stringContaining("Rate limit exceeded") });
      expect((await http("GET", `${emulator.url}${prefix}/toolkits`)).status).toBe(200);
    });
  });
}

describe("v3.1 mirrors v3", () => {
  it("answers the same bodies for the catalogue and the same shapes for state", async () => {
    for (const route of ["/toolkits?limit=50", "/toolkits/github", "/toolkits/categories", "/tools?toolkit_slug=gmail"]) {
      const v3 = await http("GET", `${emulator.url}/api/v3${route}`);
      const v31 = await http("GET", `${emulator.url}/api/v3.1${route}`);
      expect(v31.status).toBe(v3.status);
      const normalise = (body: unknown) => JSON.parse(JSON.stringify(body).replace(/"version":"[0-9_]+"/g, '"version":"x"'));
      expect(normalise(v31.body)).toEqual(normalise(v3.body));
    }
    const created = await http("POST", `${emulator.url}/api/v3.1/auth_configs`, { toolkit: { slug: "github" } });
    const id = (created.body as Json).auth_config.id;
    const v3 = await http("GET", `${emulator.url}/api/v3/auth_configs/${id}`);
    const v31 = await http("GET", `${emulator.url}/api/v3.1/auth_configs/${id}`);
    expect(v31.body).toEqual(v3.body);
  });
});
