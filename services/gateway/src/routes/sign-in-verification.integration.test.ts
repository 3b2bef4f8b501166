import { randomUUID } from "node:crypto";
import { generateApiKey, generateCallbackSecret, hashVerificationCode, QUEUES } from "@kronos/shared";
import { createTestTenant, TEST_ADMIN_TOKEN } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, jobsOf, startHarness, userToken } from "../../test/harness.js";
import { MAX_VERIFICATION_CODES } from "../use-cases/connection-callback.js";

// The user verifier's gateway side: the tenant's setting, the callback sending the browser to it with a one-time
// code, and the tenant backend's confirmation with its refusals. The worker's side (no read of Composio makes an
// unconfirmed connection ACTIVE) is tested in services/worker; the whole flow through the emulator in
// test/e2e/sign-in-verification.e2e.test.ts. No worker runs here: a confirmation answers after CONNECT_WAIT_MS = 0.

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let other: { tenantId: string; apiKey: string };

const SETTINGS = "/api/v1/tenant/settings";
const VERIFIER = "https://chat.example/verify?from=kronos";

beforeAll(async () => {
  h = await startHarness({ CONNECT_WAIT_MS: "0" });
  acme = await createTestTenant(h.prisma, "acme verifier");
  other = await createTestTenant(h.prisma, "other verifier");
  h.secrets.push(acme.apiKey, other.apiKey);
});
afterAll(async () => {
  await h.prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, other.tenantId] } } });
  await h.close();
});

const putSettings = (payload: unknown, key = acme.apiKey) =>
  h.inject({ method: "PUT", url: SETTINGS, headers: bearer(key), payload: payload as Record<string, unknown> });

async function keyWith(scopes: string[]): Promise<string> {
  const { key, hash, prefix } = generateApiKey();
  await h.prisma.apiKey.create({ data: { tenantId: acme.tenantId, keyHash: hash, prefix, scopes } });
  h.secrets.push(key);
  return key;
}

/** Each connection's callback secret, as the worker put it in the callback URL it gave Composio. */
const callbackSecrets = new Map<string, string>();

/** A connection as the worker leaves it once started for a tenant with a verifier. */
async function pending(
  input: { returnUrl?: string | null; verification?: "AWAITING_SIGN_IN" | "AWAITING_CONFIRMATION" | null; tenantId?: string } = {},
) {
  const id = randomUUID();
  const { secret, hash } = generateCallbackSecret();
  callbackSecrets.set(id, secret);
  h.secrets.push(secret);
  return h.prisma.connection.create({
    data: {
      id,
      tenantId: input.tenantId ?? acme.tenantId,
      userId: "alice",
      toolkitSlug: "github",
      status: "INITIATED",
      composioAccountId: `ca_${id.slice(0, 8)}`,
      returnUrl: input.returnUrl === undefined ? "https://chat.example/done" : input.returnUrl,
      verification: input.verification === undefined ? "AWAITING_SIGN_IN" : input.verification,
      expiresAt: new Date(Date.now() + 60_000),
      callbackSecretHash: hash,
    },
  });
}

/**
 * The browser back from Composio: where the callback sends it (null: a page). By default it brings the connection's
 * callback secret, as Composio's redirect does; `secret: null` is someone opening the bare callback URL.
 */
async function callback(connectionId: string, status = "success", secret = callbackSecrets.get(connectionId) ?? null): Promise<URL | null> {
  const query = new URLSearchParams({ status, ...(secret === null ? {} : { k: secret }) });
  const response = await h.inject({ method: "GET", url: `/api/v1/composio/connections/${connectionId}/callback?${query}` });
  if (response.statusCode === 200) return null;
  expect(response.statusCode).toBe(302);
  return new URL(response.headers.location as string);
}

/** A code as the tenant's verifier page receives it. */
async function issueCode(connectionId: string): Promise<string> {
  const location = (await callback(connectionId))!;
  expect(location.origin + location.pathname).toBe("https://chat.example/verify");
  return location.searchParams.get("code")!;
}

const verify = (connectionId: string, payload: unknown, key = acme.apiKey) =>
  h.inject({
    method: "POST",
    url: `/api/v1/composio/connections/${connectionId}/verify`,
    headers: bearer(key),
    payload: payload as Record<string, unknown>,
  });

const audit = (connectionId: string, action: string) =>
  h.prisma.auditLog.findMany({ where: { targetId: connectionId, action }, orderBy: { id: "asc" } });

describe("the tenant's verification URL", () => {
  it("is set, shown, audited and cleared through the tenant's settings", async () => {
    expect((await h.inject({ method: "GET", url: SETTINGS, headers: bearer(acme.apiKey) })).json()).toEqual({
      tenant_id: acme.tenantId,
      verification_url: null,
    });
    const set = await putSettings({ verification_url: VERIFIER });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ tenant_id: acme.tenantId, verification_url: VERIFIER });
    // Left out: kept.
    expect((await putSettings({})).json().verification_url).toBe(VERIFIER);
    const records = await h.prisma.auditLog.findMany({ where: { tenantId: acme.tenantId, action: "tenant.settings_updated" } });
    expect(records[0]?.data).toMatchObject({ change: { verification_url: VERIFIER } });
    expect((await putSettings({ verification_url: null })).json().verification_url).toBeNull();
    // Plain http only for a loopback host, outside production (the tests' NODE_ENV).
    expect((await putSettings({ verification_url: "http://localhost:3000/verify" })).statusCode).toBe(200);
    expect((await putSettings({ verification_url: "http://127.0.0.1:3000/verify" })).statusCode).toBe(200);
    expect((await putSettings({ verification_url: VERIFIER })).statusCode).toBe(200);
  });

  it("refuses what a browser must not be sent to, and bad input, with 400 naming the field", async () => {
    for (const bad of [
      "http://chat.example/verify",
      "https://user:secret@chat.example/verify",
      "https://chat.example/verify#code",
      "javascript:alert(1)",
      "ftp://chat.example/verify",
      "/relative/path",
      "https://chat.example/\u0000",
      "https://chat.example/\ud800",
      "https://chat.example/a b",
      `https://chat.example/${"a".repeat(3_000)}`,
    ]) {
      const response = await putSettings({ verification_url: bad });
      expect(response.statusCode, bad).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
      expect(JSON.stringify(response.json().error.details)).toContain("verification_url");
    }
    for (const bad of [
      { verification_url: 42 },
      { verification_url: ["https://a.example"] },
      { unknown: true },
      [],
      { verification_url: { deep: { deeper: [1] } } },
    ]) {
      expect((await putSettings(bad)).statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await h.inject({ method: "GET", url: SETTINGS, headers: bearer(acme.apiKey) })).json().verification_url).toBe(VERIFIER);
  });

  it("refuses plain http even for localhost in production", async () => {
    const production = await h.sibling({ NODE_ENV: "production" });
    const response = await production.inject({
      method: "PUT",
      url: SETTINGS,
      headers: bearer(other.apiKey),
      payload: { verification_url: "http://localhost:3000/verify" },
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(response.json())).toContain("must be https");
  });

  it("needs the tenant_admin scope (a user token is refused); the operator has its own route", async () => {
    const connectionsOnly = await keyWith(["connections"]);
    const refused = await putSettings({ verification_url: null }, connectionsOnly);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: "FORBIDDEN", details: { scope: "tenant_admin" } } });
    const token = await userToken(h, acme.apiKey, "alice");
    expect((await h.inject({ method: "GET", url: SETTINGS, headers: bearer(token) })).statusCode).toBe(403);

    const admin = `/api/v1/admin/tenants/${other.tenantId}/settings`;
    const put = await h.inject({ method: "PUT", url: admin, headers: bearer(TEST_ADMIN_TOKEN), payload: { verification_url: VERIFIER } });
    expect(put.json()).toEqual({ tenant_id: other.tenantId, verification_url: VERIFIER });
    expect((await h.inject({ method: "GET", url: admin, headers: bearer(TEST_ADMIN_TOKEN) })).json().verification_url).toBe(VERIFIER);
    const unknown = `/api/v1/admin/tenants/${randomUUID()}/settings`;
    expect((await h.inject({ method: "GET", url: unknown, headers: bearer(TEST_ADMIN_TOKEN) })).statusCode).toBe(404);
    expect((await h.inject({ method: "GET", url: admin, headers: bearer(acme.apiKey) })).statusCode).toBe(403);
  });
});

describe("the callback with a verifier", () => {
  it("sends the browser to the verification URL with a one-time code, stored hashed, and extends the expiry", async () => {
    await putSettings({ verification_url: VERIFIER });
    const connection = await pending();
    const location = (await callback(connection.id))!;
    expect(location.origin + location.pathname).toBe("https://chat.example/verify");
    expect(location.searchParams.get("from")).toBe("kronos");
    expect(location.searchParams.get("connection_id")).toBe(connection.id);
    const code = location.searchParams.get("code")!;
    expect(code).toMatch(/^kcv_[A-Za-z0-9_-]{43}$/);
    // Stored as its SHA-256 only, bound to the connection and its user.
    const stored = await h.prisma.connectionVerificationCode.findMany({ where: { connectionId: connection.id } });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ codeHash: hashVerificationCode(code), userId: "alice", tenantId: acme.tenantId, usedAt: null });
    expect(JSON.stringify(stored)).not.toContain(code);
    const ttl = stored[0]!.expiresAt.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(h.config.CONNECTION_VERIFICATION_CODE_TTL_SECONDS * 1000);
    const row = await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } });
    expect(row.expiresAt!.getTime()).toBe(stored[0]!.expiresAt.getTime());
    const [issued] = await audit(connection.id, "connection.verification_code_issued");
    expect(issued?.data).toMatchObject({ code_id: stored[0]!.id, user_id: "alice" });
    expect(JSON.stringify(issued?.data)).not.toContain(code);
    // The status check is asked for as before.
    const checks = await jobsOf(h.config, h.redis, QUEUES.statusPoll).getJobs(["waiting", "delayed", "prioritized"]);
    expect(checks.some((job) => job.data.connectionId === connection.id)).toBe(true);
  });

  it("issues no code when Composio says the sign-in failed, or when the tenant's verifier is gone", async () => {
    const connection = await pending();
    const failed = (await callback(connection.id, "failed"))!;
    expect(Object.fromEntries(failed.searchParams)).toEqual({ connection_id: connection.id, status: "failed" });
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: connection.id } })).toBe(0);

    const orphan = await pending({ tenantId: other.tenantId });
    await h.prisma.tenant.update({ where: { id: other.tenantId }, data: { verificationUrl: null } });
    expect((await callback(orphan.id))!.searchParams.get("status")).toBe("failed");
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: orphan.id } })).toBe(0);
  });

  it(`issues at most ${MAX_VERIFICATION_CODES} codes per connection`, async () => {
    const connection = await pending();
    for (let i = 0; i < MAX_VERIFICATION_CODES; i++) await issueCode(connection.id);
    expect((await callback(connection.id))!.searchParams.get("status")).toBe("failed");
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: connection.id } })).toBe(MAX_VERIFICATION_CODES);
  });

  it("keeps today's behaviour for a connection that needs no confirmation, with or without the callback secret", async () => {
    const connection = await pending({ verification: null });
    const location = (await callback(connection.id))!;
    expect(Object.fromEntries(location.searchParams)).toEqual({ connection_id: connection.id, status: "success" });
    const bare = (await callback(connection.id, "success", null))!;
    expect(Object.fromEntries(bare.searchParams)).toEqual({ connection_id: connection.id, status: "success" });
  });

  it("gives no code to whoever opens the callback without the link's secret, even right after the real sign-in", async () => {
    // The race: the asker knows the connection id (the callback path is predictable) and sends the link to someone
    // else; that person signs in (Composio reports the account ACTIVE), and the asker opens the bare callback URL
    // before that person's browser is back, or brings a guessed or another link's secret.
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const refusedTo = [null, "", "guess", callbackSecrets.get((await pending()).id)!, `${callbackSecrets.get(connection.id)!}x`];
    for (const secret of refusedTo) {
      const location = (await callback(connection.id, "success", secret))!;
      expect(Object.fromEntries(location.searchParams), JSON.stringify(secret)).toEqual({ connection_id: connection.id, status: "failed" });
    }
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: connection.id } })).toBe(0);
    const refusals = await audit(connection.id, "connection.verification_refused");
    expect(refusals.map((r) => r.data)).toEqual([
      { reason: "callback_secret_missing", user_id: "alice" },
      ...refusedTo.slice(1).map(() => ({ reason: "callback_secret_invalid", user_id: "alice" })),
    ]);
    expect(refusals.every((r) => r.actor === "browser")).toBe(true);
    expect(JSON.stringify(refusals.map((r) => r.data))).not.toContain(callbackSecrets.get(connection.id)!);
    // Nothing changed for the sign-in: the real browser, back with the secret, gets its code, and it confirms.
    expect(await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).toMatchObject({
      status: "INITIATED",
      verification: "AWAITING_CONFIRMATION",
    });
    const code = await issueCode(connection.id);
    const confirmed = await verify(connection.id, { code, user_id: "alice" });
    expect(confirmed.statusCode, confirmed.body).toBe(200);

    // No redirect_url: a page saying the sign-in failed, no code.
    const pageOnly = await pending({ returnUrl: null });
    const page = await h.inject({ method: "GET", url: `/api/v1/composio/connections/${pageOnly.id}/callback?status=success` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("could not be completed");
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: pageOnly.id } })).toBe(0);
  });

  it("gives no code to a connection whose link was made before callback secrets", async () => {
    const connection = await pending();
    await h.prisma.connection.update({ where: { id: connection.id }, data: { callbackSecretHash: null } });
    expect((await callback(connection.id))!.searchParams.get("status")).toBe("failed");
    expect(await h.prisma.connectionVerificationCode.count({ where: { connectionId: connection.id } })).toBe(0);
  });
});

describe("POST /api/v1/composio/connections/:id/verify", () => {
  it("confirms the same user: CONFIRMED, audited, a durable status check asked for, and where the browser goes next", async () => {
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const code = await issueCode(connection.id);
    const response = await verify(connection.id, { code, user_id: "alice" });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    // No worker here: the check is queued, and the connection is INITIATED until it runs.
    expect(body.connection).toMatchObject({ connection_id: connection.id, status: "INITIATED", verification: "CONFIRMED" });
    expect(new URL(body.next_url).searchParams.get("connection_id")).toBe(connection.id);
    const stored = await h.prisma.connectionVerificationCode.findFirstOrThrow({ where: { codeHash: hashVerificationCode(code) } });
    expect(stored.usedAt).not.toBeNull();
    const [verified] = await audit(connection.id, "connection.verified");
    expect(verified).toMatchObject({ actor: expect.stringMatching(/^api_key:/), data: { user_id: "alice", code_id: stored.id } });
    const jobId = `verify-${stored.id}`;
    expect(await jobsOf(h.config, h.redis, QUEUES.statusPoll).getJob(jobId)).toBeDefined();
    expect(await h.prisma.acceptedJob.count({ where: { jobId, queue: QUEUES.statusPoll } })).toBe(1);
  });

  it("refuses a reused code (409) and an expired one (410), auditing each; the connection stays unconfirmed", async () => {
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const used = await issueCode(connection.id);
    await h.prisma.connectionVerificationCode.updateMany({ where: { codeHash: hashVerificationCode(used) }, data: { usedAt: new Date() } });
    const reused = await verify(connection.id, { code: used, user_id: "alice" });
    expect(reused.statusCode).toBe(409);
    expect(reused.json()).toMatchObject({ error: { code: "VERIFICATION_CODE_USED" } });

    const stale = await issueCode(connection.id);
    await h.prisma.connectionVerificationCode.updateMany({
      where: { codeHash: hashVerificationCode(stale) },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    const expired = await verify(connection.id, { code: stale, user_id: "alice" });
    expect(expired.statusCode).toBe(410);
    expect(expired.json()).toMatchObject({ error: { code: "VERIFICATION_CODE_EXPIRED" } });

    const refusals = await audit(connection.id, "connection.verification_refused");
    expect(refusals.map((r) => (r.data as { reason: string }).reason)).toEqual(["code_used", "code_expired"]);
    expect(await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).toMatchObject({
      status: "INITIATED",
      verification: "AWAITING_CONFIRMATION",
    });
  });

  it("confirms nothing before Composio reports the sign-in done: 409, the code kept for when it is", async () => {
    // The user who asked can open their own callback before anyone has signed in (the callback is public, its
    // connection id known to them): a confirmation then would let whoever signs in later (a victim sent the link)
    // attach their account to the asker's connection without ever passing the verifier.
    const connection = await pending();
    const code = await issueCode(connection.id);
    const early = await verify(connection.id, { code, user_id: "alice" });
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json()).toMatchObject({ error: { code: "CONFLICT" } });
    expect(await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).toMatchObject({
      status: "INITIATED",
      verification: "AWAITING_SIGN_IN",
    });
    const [refused] = await audit(connection.id, "connection.verification_refused");
    expect(refused?.data).toMatchObject({ reason: "sign_in_pending", claimed_user_id: "alice" });
    // Once Composio reports the account ACTIVE (the worker's check), the same code confirms.
    await h.prisma.connection.update({ where: { id: connection.id }, data: { verification: "AWAITING_CONFIRMATION" } });
    const later = await verify(connection.id, { code, user_id: "alice" });
    expect(later.statusCode, later.body).toBe(200);
    expect(later.json().connection).toMatchObject({ verification: "CONFIRMED" });
  });

  it("uses a code once: of two confirmations at the same time, one wins and the other is 409", async () => {
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const code = await issueCode(connection.id);
    const answers = await Promise.all([
      verify(connection.id, { code, user_id: "alice" }),
      verify(connection.id, { code, user_id: "alice" }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
  });

  it("refuses another user (403), burns the code, marks the sign-in REFUSED and asks the worker to fail it", async () => {
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const code = await issueCode(connection.id);
    const response = await verify(connection.id, { code, user_id: "mallory" });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: { code: "VERIFICATION_USER_MISMATCH" } });
    expect(await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).toMatchObject({ verification: "REFUSED" });
    const [refused] = await audit(connection.id, "connection.verification_refused");
    expect(refused?.data).toMatchObject({ reason: "user_mismatch", claimed_user_id: "mallory", user_id: "alice" });
    const stored = await h.prisma.connectionVerificationCode.findFirstOrThrow({ where: { codeHash: hashVerificationCode(code) } });
    expect(await jobsOf(h.config, h.redis, QUEUES.statusPoll).getJob(`verify-${stored.id}`)).toBeDefined();
    // The right user cannot use it afterwards.
    expect((await verify(connection.id, { code, user_id: "alice" })).statusCode).toBe(409);
  });

  it("refuses a code that is not this connection's (403), and a connection no longer awaiting it (409)", async () => {
    const first = await pending();
    const second = await pending();
    const firstCode = await issueCode(first.id);
    const crossed = await verify(second.id, { code: firstCode, user_id: "alice" });
    expect(crossed.statusCode).toBe(403);
    expect(crossed.json()).toMatchObject({ error: { code: "VERIFICATION_CODE_INVALID" } });
    const invented = await verify(second.id, { code: `kcv_${"A".repeat(43)}`, user_id: "alice" });
    expect(invented.json()).toMatchObject({ error: { code: "VERIFICATION_CODE_INVALID" } });
    expect((await audit(second.id, "connection.verification_refused")).map((r) => (r.data as { reason: string }).reason)).toEqual([
      "code_invalid",
      "code_invalid",
    ]);

    const settled = await pending();
    const settledCode = await issueCode(settled.id);
    await h.prisma.connection.update({ where: { id: settled.id }, data: { status: "FAILED" } });
    const late = await verify(settled.id, { code: settledCode, user_id: "alice" });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ error: { code: "CONFLICT" } });
  });

  it("is for the tenant's backend: its API key with the connections scope, its own connections only", async () => {
    const connection = await pending({ verification: "AWAITING_CONFIRMATION" });
    const code = await issueCode(connection.id);
    expect((await verify(connection.id, { code, user_id: "alice" }, other.apiKey)).statusCode).toBe(404);
    const token = await userToken(h, acme.apiKey, "alice");
    expect((await verify(connection.id, { code, user_id: "alice" }, token)).statusCode).toBe(403);
    const scoped = await verify(connection.id, { code, user_id: "alice" }, await keyWith(["executions"]));
    expect(scoped.json()).toMatchObject({ error: { code: "FORBIDDEN", details: { scope: "connections" } } });
    expect((await verify(randomUUID(), { code, user_id: "alice" })).statusCode).toBe(404);
    // None of these used the code: by Composio's account id, the right caller confirms.
    const ok = await verify(connection.composioAccountId!, { code, user_id: "alice" });
    expect(ok.statusCode).toBe(200);
  });

  it("refuses bad input with 400 before reading any code", async () => {
    const connection = await pending();
    for (const bad of [
      {},
      { code: "kcv_x" },
      { user_id: "alice" },
      { code: "", user_id: "alice" },
      { code: "x".repeat(300), user_id: "alice" },
      { code: 42, user_id: "alice" },
      { code: "kcv_x", user_id: "al ice" },
      { code: "kcv_x", user_id: "a\u0000" },
      { code: "kcv_x", user_id: "\ud800" },
      { code: "kcv_x", user_id: "alice", extra: 1 },
      { code: { nested: { deeper: true } }, user_id: "alice" },
    ]) {
      const response = await verify(connection.id, bad);
      expect(response.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await verify("not-an-id", { code: "kcv_x", user_id: "alice" })).statusCode).toBe(400);
    expect(await audit(connection.id, "connection.verification_refused")).toEqual([]);
  });
});
