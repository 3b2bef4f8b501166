import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "./index.js";

/**
 * Signed webhook deliveries to a real receiver socket. The receiver checks every signature with its own HMAC
 * computation (not the emulator's, not our verifier in @kronos/shared).
 */

const SECRET = "whsec_emulator-test secret ü";

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed webhook body, read freely in assertions
  body: any;
}

/** A webhook receiver on port 0: answers each request with the next queued status (200 when none is queued). */
class Receiver {
  received: Received[] = [];
  statuses: number[] = [];
  /** While set, requests are held open until release(). */
  holding = false;
  private held: ServerResponse[] = [];
  private server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      this.received.push({ headers: request.headers, raw, body: JSON.parse(raw) });
      if (this.holding) {
        this.held.push(response);
        return;
      }
      response.writeHead(this.statuses.shift() ?? 200, { "content-type": "application/json" }).end("{}");
    });
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/composio`;
  }

  release(): void {
    this.holding = false;
    for (const response of this.held.splice(0)) response.writeHead(200).end("{}");
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.release();
    this.received = [];
    this.statuses = [];
  }
}

/** Composio's scheme, computed independently: base64(HMAC-SHA256(secret UTF-8, "<id>.<ts>.<raw body>")). */
function signatureValid(delivery: Received, secret = SECRET): boolean {
  const id = String(delivery.headers["webhook-id"]);
  const timestamp = String(delivery.headers["webhook-timestamp"]);
  const expected = createHmac("sha256", new TextEncoder().encode(secret)).update(`${id}.${timestamp}.${delivery.raw}`).digest();
  return String(delivery.headers["webhook-signature"])
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .some((s) => {
      const given = Buffer.from(s.slice(3), "base64");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

function expectSignedDelivery(delivery: Received): void {
  expect(delivery.headers["content-type"]).toMatch(/^application\/json/);
  expect(delivery.headers["x-composio-webhook-version"]).toBe("V3");
  expect(delivery.headers["webhook-id"]).toMatch(/^msg_[a-z0-9]+$/);
  expect(delivery.headers["webhook-id"]).toBe(delivery.body.id);
  const timestamp = String(delivery.headers["webhook-timestamp"]);
  expect(timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
  expect(delivery.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  expect(signatureValid(delivery)).toBe(true);
  expect(signatureValid(delivery, "another-secret")).toBe(false);
  expect(Object.keys(delivery.body).sort()).toEqual(["data", "id", "metadata", "timestamp", "type"]);
  expect(new Date(delivery.body.timestamp).toISOString()).toBe(delivery.body.timestamp);
}

async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const receiver = new Receiver();
let emulator: RunningEmulator;

async function call(
  on: RunningEmulator,
  method: string,
  path: string,
  body?: unknown,
  withKey = false,
  // biome-ignore lint/suspicious/noExplicitAny: control API answers, read freely in assertions
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (withKey) headers["x-api-key"] = on.apiKey;
  const response = await fetch(`${on.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const control = (method: string, path: string, body?: unknown, on = emulator) => call(on, method, `/_emulator${path}`, body);
const api = (method: string, path: string, body?: unknown, on = emulator) => call(on, method, `/api/v3.1${path}`, body, true);
const attempts = async (query = "", on = emulator) => (await control("GET", `/webhooks${query}`, undefined, on)).body;

/** An ACTIVE account through the real hosted-link flow. */
async function activeAccount(userId = "tenant_1:user_42", on = emulator): Promise<{ id: string; authConfigId: string; userId: string }> {
  const config = await api("POST", "/auth_configs", { toolkit: { slug: "github" } }, on);
  expect(config.status).toBe(201);
  const link = await api("POST", "/connected_accounts/link", { auth_config_id: config.body.auth_config.id, user_id: userId }, on);
  expect(link.status).toBe(201);
  expect((await fetch(link.body.redirect_url)).status).toBe(200);
  return { id: link.body.connected_account_id, authConfigId: config.body.auth_config.id, userId };
}

beforeAll(async () => {
  await receiver.start();
  emulator = await startEmulator({ webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 20, 20], timeoutMs: 2_000 } });
});

afterAll(async () => {
  await emulator?.close();
  await receiver.close();
});

beforeEach(async () => {
  await control("POST", "/reset");
  receiver.reset();
});

describe("signed webhooks", () => {
  it("an account becoming EXPIRED sends one signed composio.connected_account.expired with the v3.1 account", async () => {
    const account = await activeAccount();
    // becoming ACTIVE sends nothing (as on Composio)
    expect((await attempts()).events).toEqual([]);

    const expired = await control("PUT", `/connected_accounts/${account.id}/status`, {
      status: "EXPIRED",
      status_reason: "refresh failed",
    });
    expect(expired.status).toBe(200);
    const [delivery] = await waitUntil("the delivery", () => receiver.received.length === 1 && receiver.received);
    expectSignedDelivery(delivery!);
    expect(delivery!.headers["x-composio-delivery-attempt"]).toBe("1");
    const body = delivery!.body;
    expect(body.type).toBe("composio.connected_account.expired");
    expect(body.metadata).toEqual({
      project_id: "pr_emulator",
      org_id: "ok_emulator",
      user_id: account.userId,
      connected_account_id: account.id,
    });
    const current = await api("GET", `/connected_accounts/${account.id}`);
    expect(body.data).toEqual(current.body);
    expect(body.data).toMatchObject({ id: account.id, status: "EXPIRED", status_reason: "refresh failed", user_id: account.userId });

    // already EXPIRED: no second event
    await control("PUT", `/connected_accounts/${account.id}/status`, { status: "EXPIRED" });
    const log = await waitUntil("the attempt log", async () => {
      const l = await attempts();
      return l.pending === 0 && l.items.length === 1 && l;
    });
    expect(log).toMatchObject({ configured: true, url: receiver.url, pending: 0 });
    expect(log.events).toEqual([body]);
    expect(log.items).toEqual([
      expect.objectContaining({ id: body.id, type: body.type, delivery: 1, attempt: 1, status_code: 200, error: null, final: true }),
    ]);
    expect(JSON.stringify(log)).not.toContain(SECRET);
  });

  it("retries a non-2xx answer with the same webhook-id, a fresh valid signature and the same body", async () => {
    const account = await activeAccount();
    receiver.statuses = [500, 503];
    await control("PUT", `/connected_accounts/${account.id}/status`, { status: "EXPIRED" });
    const received = await waitUntil("three attempts", () => receiver.received.length === 3 && receiver.received);
    for (const delivery of received) expectSignedDelivery(delivery);
    expect(new Set(received.map((d) => d.headers["webhook-id"])).size).toBe(1);
    expect(new Set(received.map((d) => d.raw)).size).toBe(1);
    expect(received.map((d) => d.headers["x-composio-delivery-attempt"])).toEqual(["1", "2", "3"]);

    const log = await waitUntil("the attempt log", async () => {
      const l = await attempts();
      return l.pending === 0 && l.items.length === 3 && l;
    });
    expect(log.items.map((a: { status_code: number; attempt: number; final: boolean }) => [a.attempt, a.status_code, a.final])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
    ]);
  });

  it("gives up after the last retry, and records attempts the receiver never answered", async () => {
    const account = await activeAccount();
    receiver.statuses = [500, 500, 500, 500];
    await control("PUT", `/connected_accounts/${account.id}/status`, { status: "EXPIRED" });
    const log = await waitUntil("the delivery to give up", async () => {
      const l = await attempts();
      return l.pending === 0 && l.items.length === 4 && l;
    });
    expect(log.items.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 500, 500]);
    expect(log.items.map((a: { final: boolean }) => a.final)).toEqual([false, false, false, true]);
    expect(receiver.received).toHaveLength(4);

    // an unreachable receiver: status_code null and the error, still retried
    const unreachable = await startEmulator({ webhook: { url: "http://127.0.0.1:1/hook", secret: SECRET, retryDelaysMs: [5] } });
    try {
      const other = await activeAccount("u1", unreachable);
      await control("PUT", `/connected_accounts/${other.id}/status`, { status: "EXPIRED" }, unreachable);
      const failed = await waitUntil("two failed attempts", async () => {
        const l = await attempts("", unreachable);
        return l.pending === 0 && l.items.length === 2 && l;
      });
      for (const a of failed.items) expect(a).toMatchObject({ status_code: null, error: expect.any(String) });
      expect(failed.items.map((a: { final: boolean }) => a.final)).toEqual([false, true]);
    } finally {
      await unreachable.close();
    }
  });

  it("never holds the triggering request while the receiver is slow", async () => {
    const account = await activeAccount();
    receiver.holding = true;
    const answer = await control("PUT", `/connected_accounts/${account.id}/status`, { status: "EXPIRED" });
    expect(answer.status).toBe(200);
    const fired = await control("POST", "/triggers/fire", {
      connected_account_id: account.id,
      trigger_slug: "GITHUB_COMMIT_EVENT",
      payload: {},
    });
    expect(fired.status).toBe(202);
    await waitUntil("both requests at the receiver", () => receiver.received.length === 2);
    expect((await attempts()).pending).toBe(2);
    receiver.release();
    await waitUntil("both acknowledged", async () => (await attempts()).pending === 0);
    expect((await attempts()).items.map((a: { status_code: number }) => a.status_code)).toEqual([200, 200]);
  });

  it("POST /_emulator/triggers/fire sends composio.trigger.message with the account's metadata and the payload", async () => {
    const account = await activeAccount("tenant_9:alice");
    const payload = { commit: { sha: "abc123", message: "Fix" }, repository: "kronos/connect" };
    const fired = await control("POST", "/triggers/fire", {
      connected_account_id: account.id,
      trigger_slug: "GITHUB_COMMIT_EVENT",
      payload,
    });
    expect(fired.status).toBe(202);
    expect(fired.body).toMatchObject({ id: expect.stringMatching(/^msg_/), type: "composio.trigger.message", delivering: true });
    const [delivery] = await waitUntil("the delivery", () => receiver.received.length === 1 && receiver.received);
    expectSignedDelivery(delivery!);
    expect(delivery!.body.id).toBe(fired.body.id);
    expect(delivery!.body.type).toBe("composio.trigger.message");
    expect(delivery!.body.data).toEqual(payload);
    expect(delivery!.body.metadata).toEqual({
      log_id: expect.stringMatching(/^log_/),
      trigger_slug: "GITHUB_COMMIT_EVENT",
      trigger_id: expect.stringMatching(/^ti_/),
      connected_account_id: account.id,
      auth_config_id: account.authConfigId,
      user_id: "tenant_9:alice",
    });

    // the same trigger again: a new message and log id, the same trigger id
    const again = await control("POST", "/triggers/fire", { connected_account_id: account.id, trigger_slug: "GITHUB_COMMIT_EVENT" });
    const second = await waitUntil("the second delivery", () => receiver.received.length === 2 && receiver.received[1]);
    expect(second.body.id).toBe(again.body.id);
    expect(second.body.id).not.toBe(fired.body.id);
    expect(second.body.data).toEqual({});
    expect(second.body.metadata.trigger_id).toBe(delivery!.body.metadata.trigger_id);
    expect(second.body.metadata.log_id).not.toBe(delivery!.body.metadata.log_id);

    expect((await control("POST", "/triggers/fire", { connected_account_id: "ca_nope", trigger_slug: "X" })).status).toBe(404);
    expect((await control("POST", "/triggers/fire", { connected_account_id: account.id })).status).toBe(400);
    expect((await control("POST", "/triggers/fire", { connected_account_id: account.id, trigger_slug: "X", payload: [1] })).status).toBe(
      400,
    );
  });

  it("POST /_emulator/trigger_instances/:id/fire: an upserted instance delivers a signed message; a disabled or deleted one does not", async () => {
    const account = await activeAccount("tenant_5:carol");
    const upserted = await api("POST", "/trigger_instances/GITHUB_COMMIT_EVENT/upsert", {
      connected_account_id: account.id,
      trigger_config: { owner: "kronos", repo: "connect" },
    });
    expect(upserted.status).toBe(200);
    const triggerId = upserted.body.trigger_id as string;
    expect((await control("GET", "/trigger_instances")).body.items).toMatchObject([
      { id: triggerId, slug: "GITHUB_COMMIT_EVENT", connectedAccountId: account.id, config: { repo: "connect" }, disabledAt: null },
    ]);

    const fired = await control("POST", `/trigger_instances/${triggerId}/fire`, { payload: { sha: "f00" } });
    expect(fired.status).toBe(202);
    const delivery = await waitUntil("the delivery", () => receiver.received[0]);
    expectSignedDelivery(delivery);
    expect(delivery.body).toMatchObject({
      id: fired.body.id,
      type: "composio.trigger.message",
      data: { sha: "f00" },
      metadata: { trigger_id: triggerId, trigger_slug: "GITHUB_COMMIT_EVENT", connected_account_id: account.id, user_id: "tenant_5:carol" },
    });

    expect((await api("PATCH", `/trigger_instances/manage/${triggerId}`, { status: "disable" })).status).toBe(200);
    expect((await control("POST", `/trigger_instances/${triggerId}/fire`, {})).status).toBe(409);
    expect((await api("PATCH", `/trigger_instances/manage/${triggerId}`, { status: "enable" })).status).toBe(200);
    expect((await control("POST", `/trigger_instances/${triggerId}/fire`, { payload: [1] })).status).toBe(400);
    expect((await api("DELETE", `/trigger_instances/manage/${triggerId}`)).status).toBe(200);
    expect((await control("POST", `/trigger_instances/${triggerId}/fire`, {})).status).toBe(404);
    expect(receiver.received).toHaveLength(1);

    // Composio disabling a trigger also disables the account's instance of it.
    const again = await api("POST", "/trigger_instances/GITHUB_COMMIT_EVENT/upsert", {
      connected_account_id: account.id,
      trigger_config: { owner: "kronos", repo: "connect" },
    });
    expect(again.body.trigger_id).not.toBe(triggerId);
    await control("POST", "/triggers/disable", { connected_account_id: account.id, trigger_name: "GITHUB_COMMIT_EVENT" });
    const disabled = await waitUntil("the disabled delivery", () => receiver.received[1]);
    expect(disabled.body.data.id).toBe(again.body.trigger_id);
    expect((await control("POST", `/trigger_instances/${again.body.trigger_id}/fire`, {})).status).toBe(409);
  });

  it("POST /_emulator/triggers/disable sends composio.trigger.disabled", async () => {
    const account = await activeAccount("tenant_3:bob");
    await control("POST", "/triggers/fire", { connected_account_id: account.id, trigger_slug: "GITHUB_COMMIT_EVENT", payload: { a: 1 } });
    const message = await waitUntil("the trigger message", () => receiver.received[0]);
    const disabled = await control("POST", "/triggers/disable", {
      connected_account_id: account.id,
      trigger_name: "GITHUB_COMMIT_EVENT",
      reason: "Auth expired",
    });
    expect(disabled.status).toBe(202);
    const delivery = await waitUntil("the disabled delivery", () => receiver.received[1]);
    expectSignedDelivery(delivery);
    expect(delivery.body.type).toBe("composio.trigger.disabled");
    expect(delivery.body.metadata).toMatchObject({ user_id: "tenant_3:bob" });
    expect(delivery.body.data).toEqual({
      id: message.body.metadata.trigger_id,
      connected_account_id: account.id,
      trigger_name: "GITHUB_COMMIT_EVENT",
      user_id: "tenant_3:bob",
      disabled_at: delivery.body.timestamp,
      disabled_reason: "Auth expired",
    });
    expect((await control("POST", "/triggers/disable", { connected_account_id: "ca_nope", trigger_name: "X" })).status).toBe(404);
    expect((await control("POST", "/triggers/disable", { connected_account_id: account.id })).status).toBe(400);
  });

  it("POST /_emulator/webhooks/redeliver re-sends a past event with the same id and body, freshly signed", async () => {
    const account = await activeAccount();
    const fired = await control("POST", "/triggers/fire", {
      connected_account_id: account.id,
      trigger_slug: "SLACK_RECEIVE_MESSAGE",
      payload: { text: "hi" },
    });
    const first = await waitUntil("the first delivery", () => receiver.received[0]);
    const redelivered = await control("POST", "/webhooks/redeliver", { id: fired.body.id });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toEqual({ id: fired.body.id, type: "composio.trigger.message", delivery: 2, delivering: true });
    const second = await waitUntil("the redelivery", () => receiver.received[1]);
    expectSignedDelivery(second);
    expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    expect(second.raw).toBe(first.raw);

    const log = await waitUntil("both attempts logged", async () => {
      const l = await attempts(`?id=${fired.body.id}`);
      return l.items.length === 2 && l;
    });
    expect(log.items.map((a: { delivery: number; attempt: number }) => [a.delivery, a.attempt])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(log.events).toHaveLength(1);

    expect((await control("POST", "/webhooks/redeliver", { id: "msg_unknown" })).status).toBe(404);
    expect((await control("POST", "/webhooks/redeliver", {})).status).toBe(400);
  });

  it("reset forgets events and attempts and stops retries under way", async () => {
    receiver.statuses = [500];
    const slow = await startEmulator({ webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [60_000] } });
    try {
      const account = await activeAccount("u", slow);
      await control("POST", "/triggers/fire", { connected_account_id: account.id, trigger_slug: "T" }, slow);
      await waitUntil("the failed first attempt", async () => {
        const l = await attempts("", slow);
        return l.items.length === 1 && l.pending === 1;
      });
      expect((await control("POST", "/reset", undefined, slow)).status).toBe(204);
      expect(await attempts("", slow)).toMatchObject({ events: [], items: [], pending: 0 });
    } finally {
      await slow.close();
    }
    expect(receiver.received).toHaveLength(1);
  });

  it("without a webhook option, events are recorded but nothing is sent", async () => {
    const quiet = await startEmulator();
    try {
      const account = await activeAccount("u", quiet);
      expect((await control("PUT", `/connected_accounts/${account.id}/status`, { status: "EXPIRED" }, quiet)).status).toBe(200);
      const log = await attempts("", quiet);
      expect(log).toMatchObject({ configured: false, url: null, pending: 0, items: [] });
      expect(log.events).toHaveLength(1);
      expect(log.events[0]).toMatchObject({ type: "composio.connected_account.expired", data: { id: account.id, status: "EXPIRED" } });
    } finally {
      await quiet.close();
    }
  });
});
