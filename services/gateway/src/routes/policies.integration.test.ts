import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { QUEUES } from "@kronos/shared";
import { createTestTenant, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bearer, countJobs, type Harness, startHarness, userToken } from "../../test/harness.js";

const POLICY = "/api/v1/policies/tools";
const EXECUTE = "/api/v1/composio/tools/execute";

let emulator: RunningEmulator;
let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };

const put = (payload: unknown, query = "", app = h.app, key = acme.apiKey) =>
  app.inject({ method: "PUT", url: `${POLICY}${query}`, headers: bearer(key), payload: payload as object });
const get = (query = "", app = h.app, key = acme.apiKey) => app.inject({ method: "GET", url: `${POLICY}${query}`, headers: bearer(key) });
const execute = (action: string, app = h.app, user = "alice") =>
  app.inject({ method: "POST", url: EXECUTE, headers: bearer(acme.apiKey), payload: { user_id: user, action_name: action, params: {} } });

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey, emulator.apiKey);
});
beforeEach(async () => {
  await h.inject({ method: "DELETE", url: POLICY, headers: bearer(acme.apiKey) });
  await h.inject({ method: "DELETE", url: `${POLICY}?user_id=alice`, headers: bearer(acme.apiKey) });
});
afterAll(async () => {
  await h?.close();
  await emulator?.close();
});

describe("GET and PUT /policies/tools", () => {
  it("answers the defaults when nothing is stored", async () => {
    const response = await get();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      user_id: null,
      policy: null,
      effective: { allow: null, deny: [], require_approval: { tools: [], tags: [] }, api_key_may_approve: false, sign_in_on_demand: true },
      updated_at: null,
      updated_by: null,
    });
  });

  it("stores the tenant's policy, audits it, and a user's override replaces the fields it sets", async () => {
    const tenantPolicy = { allow: ["github", "GMAIL_*"], deny: ["GITHUB_DELETE_*"], require_approval: { tags: ["destructiveHint"] } };
    const stored = await put(tenantPolicy);
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toMatchObject({ user_id: null, policy: tenantPolicy, updated_by: expect.stringMatching(/^api_key:/) });
    expect(stored.json().effective).toMatchObject({ allow: ["github", "GMAIL_*"], deny: ["GITHUB_DELETE_*"] });

    expect((await put({ deny: [] }, "?user_id=alice")).statusCode).toBe(200);
    const alice = (await get("?user_id=alice")).json();
    expect(alice.policy).toEqual({ deny: [] });
    expect(alice.effective).toMatchObject({
      allow: ["github", "GMAIL_*"],
      deny: [],
      require_approval: { tools: [], tags: ["destructiveHint"] },
    });
    expect((await get("?user_id=bob")).json().effective.deny).toEqual(["GITHUB_DELETE_*"]);

    const audit = await h.prisma.auditLog.findMany({ where: { tenantId: acme.tenantId, action: "tool_policy.updated" } });
    expect(audit.map((a) => a.targetId).sort()).toEqual([acme.tenantId, "user:alice"].sort());
    // Another tenant sees none of it.
    expect((await get("", h.app, globex.apiKey)).json().policy).toBeNull();
  });

  it("refuses an invalid pattern with 400 naming the field, and stores nothing", async () => {
    for (const [payload, field] of [
      [{ deny: ["github", "Gmail_Send"] }, "body.deny.1"],
      [{ allow: ["GMAIL SEND"] }, "body.allow.0"],
      [{ allow: [""] }, "body.allow.0"],
      [{ require_approval: { tools: ["**"] } }, "body.require_approval.tools.0"],
      [{ require_approval: { tags: ["bad tag\u0000"] } }, "body.require_approval.tags.0"],
      [{ deny: "github" }, "body.deny"],
      [{ unknown: true }, "body.unknown"],
    ] as const) {
      const response = await put(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
      expect(response.json().error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await get()).json().policy).toBeNull();
  });

  it("is for API keys only", async () => {
    const token = await userToken(h, acme.apiKey, "alice");
    expect((await h.inject({ method: "GET", url: POLICY, headers: bearer(token) })).statusCode).toBe(403);
    expect((await h.inject({ method: "GET", url: POLICY })).statusCode).toBe(401);
  });
});

describe("the policy at work", () => {
  it("a denied tool is 403 TOOL_NOT_ALLOWED and nothing is queued", async () => {
    await put({ deny: ["GITHUB_DELETE_*"] });
    const before = await countJobs(h.config, h.redis, QUEUES.toolExecution);
    const response = await execute("GITHUB_DELETE_A_REPOSITORY");
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toMatchObject({ code: "TOOL_NOT_ALLOWED", message: expect.stringContaining("GITHUB_DELETE_*") });
    await put({ allow: ["gmail"] });
    const notAllowed = await execute("GITHUB_GET_THE_AUTHENTICATED_USER");
    expect(notAllowed.json().error.code).toBe("TOOL_NOT_ALLOWED");
    expect(await countJobs(h.config, h.redis, QUEUES.toolExecution)).toBe(before);
    // Allowed: queued.
    expect((await execute("GMAIL_FETCH_EMAILS")).statusCode).toBe(202);
  });

  it("a user's override lets that user (and only that user) run what the tenant denies", async () => {
    await put({ deny: ["slack"] });
    await put({ deny: [] }, "?user_id=alice");
    expect((await execute("SLACK_SEND_MESSAGE", h.app, "alice")).statusCode).toBe(202);
    expect((await execute("SLACK_SEND_MESSAGE", h.app, "bob")).statusCode).toBe(403);
  });

  it("a change reaches another gateway instance at once (its cache is invalidated)", async () => {
    const sibling = await h.sibling({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
    expect((await execute("NOTION_SEARCH_NOTION_PAGE", sibling)).statusCode).toBe(202); // cached there: allowed
    await put({ deny: ["notion"] });
    await waitFor(async () => ((await execute("NOTION_SEARCH_NOTION_PAGE", sibling)).statusCode === 403 ? true : undefined));
    await put({ deny: [] });
    await waitFor(async () => ((await execute("NOTION_SEARCH_NOTION_PAGE", sibling)).statusCode === 202 ? true : undefined));
  });

  it("require_approval by Composio tag: the catalogue says so, and the tool does not run unapproved", async () => {
    await put({ require_approval: { tags: ["destructiveHint"] }, deny: ["GITHUB_CREATE_*"] });
    const actions = await h.inject({
      method: "GET",
      url: "/api/v1/composio/toolkits/github/actions?user_id=alice",
      headers: bearer(acme.apiKey),
    });
    const access = Object.fromEntries(actions.json().items.map((a: { slug: string; access: unknown }) => [a.slug, a.access]));
    expect(access).toEqual({
      GITHUB_GET_THE_AUTHENTICATED_USER: { allowed: true, requires_approval: false, rules: [] },
      GITHUB_CREATE_AN_ISSUE: { allowed: false, requires_approval: false, rules: ["deny:GITHUB_CREATE_*"] },
      GITHUB_DELETE_A_REPOSITORY: { allowed: true, requires_approval: true, rules: ["tag:destructiveHint"] },
    });
    // Without user_id, no access.
    const plain = await h.inject({ method: "GET", url: "/api/v1/composio/toolkits/github/actions", headers: bearer(acme.apiKey) });
    expect(plain.json().items[0].access).toBeUndefined();
    const parked = await execute("GITHUB_DELETE_A_REPOSITORY");
    expect([202, 409]).toContain(parked.statusCode);
    if (parked.statusCode === 202) expect(parked.json().status).toBe("AWAITING_APPROVAL");
  });
});
