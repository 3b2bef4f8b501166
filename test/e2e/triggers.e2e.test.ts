import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@kronos/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connected, connectUser, createTenant, emulator, type Tenant, userToken } from "./flows.js";
import { api, type FeedClient, openFeed, type RunningSystem, startSystem, waitForEvent } from "./support.js";

// Triggers end to end, through the real services: a trigger created through our API is created at Composio (the
// emulator) by the worker; the emulator fires that instance, signing its webhook as Composio does; the webhooks
// service turns it into a trigger.message on the user's socket carrying OUR trigger id, labels and connection, and
// delivers the same event, signed as Standard Webhooks, to the tenant's outbound webhook endpoint.

let system: RunningSystem;
let tenant: Tenant;
let alice: string;
let aliceFeed: FeedClient;
let tenantFeed: FeedClient;
let aliceGithub: Connected;
let receiver: WebhookReceiver;

/** A real HTTP endpoint on loopback that records every request and answers 204. */
interface WebhookReceiver {
  url: string;
  hits: Array<{ headers: IncomingHttpHeaders; body: string }>;
  server: Server;
}

async function startReceiver(): Promise<WebhookReceiver> {
  const hits: WebhookReceiver["hits"] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      hits.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/kronos-events`, hits, server };
}

interface TriggerView {
  trigger_id: string;
  status: string;
  connection_id: string;
  composio_trigger_id: string | null;
  labels: string[];
}

const triggers = (method: string, path = "", body?: unknown, token = alice) =>
  api<TriggerView & { error?: { code: string; details?: unknown } }>(system.gatewayUrl, method, `/api/v1/composio/triggers${path}`, {
    token,
    ...(body === undefined ? {} : { body }),
  });

/** Creates a trigger and returns it once ACTIVE (following the 202 path when the worker is slow). */
async function createActiveTrigger(body: Record<string, unknown>): Promise<TriggerView> {
  const created = await triggers("POST", "", body);
  expect([201, 202], JSON.stringify(created.body)).toContain(created.status);
  return waitFor(
    async () => {
      const current = await triggers("GET", `/${created.body.trigger_id}`);
      return current.body.status === "ACTIVE" ? current.body : undefined;
    },
    { what: "the trigger to be ACTIVE" },
  );
}

beforeAll(async () => {
  receiver = await startReceiver();
  // The receiver listens on loopback, which outbound webhooks refuse unless private addresses are allowed.
  system = await startSystem({ OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true" });
  tenant = await createTenant(system);
  alice = await userToken(system, tenant, "alice");
  aliceFeed = await openFeed(system.webhooksUrl, { token: alice });
  tenantFeed = await openFeed(system.webhooksUrl, { apiKey: tenant.apiKey });
  aliceGithub = await connectUser(system, alice, { user_id: "alice", app_name: "github" }, aliceFeed);
}, 90_000);

afterAll(async () => {
  aliceFeed?.close();
  tenantFeed?.close();
  await system?.stop();
  receiver?.server.closeAllConnections();
  await new Promise<void>((resolve) => (receiver ? receiver.server.close(() => resolve()) : resolve()));
});

describe("triggers, end to end", () => {
  it("a trigger created through our API fires at the emulator and reaches the user's socket with our id and labels", async () => {
    const types = await api<{ items: Array<{ slug: string }> }>(
      system.gatewayUrl,
      "GET",
      "/api/v1/composio/triggers/types?toolkit=github",
      {
        token: alice,
      },
    );
    expect(types.body.items.map((t) => t.slug)).toContain("GITHUB_COMMIT_EVENT");
    const invalid = await triggers("POST", "", { user_id: "alice", trigger_slug: "GITHUB_COMMIT_EVENT", config: { owner: "kronos" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.details).toContainEqual({ field: "body.config.repo", message: expect.any(String) });

    const trigger = await createActiveTrigger({
      user_id: "alice",
      trigger_slug: "GITHUB_COMMIT_EVENT",
      config: { owner: "kronos", repo: "connect" },
      labels: ["ci", "team:a"],
    });
    expect(trigger).toMatchObject({ connection_id: aliceGithub.connectionId, composio_trigger_id: expect.stringMatching(/^ti_/) });
    const active = await waitForEvent(aliceFeed, "trigger.status", (d) => d.trigger_id === trigger.trigger_id && d.status === "ACTIVE");
    expect(active.data).toMatchObject({ previous_status: "PENDING", labels: ["ci", "team:a"], connection_id: aliceGithub.connectionId });

    const endpoint = await api<{ id: string; secret: string }>(system.gatewayUrl, "POST", "/api/v1/webhook-endpoints", {
      token: tenant.apiKey,
      body: { url: receiver.url, events: ["trigger.message"] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    expect(endpoint.body.secret).toMatch(/^whsec_/);

    await emulator(system, "POST", `/trigger_instances/${trigger.composio_trigger_id}/fire`, {
      payload: { sha: "abc123", message: "Fix" },
    });
    const message = await waitForEvent(aliceFeed, "trigger.message", (d) => d.trigger_id === trigger.trigger_id);
    expect(message.data).toEqual({
      trigger_slug: "GITHUB_COMMIT_EVENT",
      trigger_id: trigger.trigger_id,
      composio_trigger_id: trigger.composio_trigger_id,
      labels: ["ci", "team:a"],
      connection_id: aliceGithub.connectionId,
      connected_account_id: aliceGithub.accountId,
      user_id: "alice",
      payload: { sha: "abc123", message: "Fix" },
    });
    await waitForEvent(tenantFeed, "trigger.message", (d) => d.trigger_id === trigger.trigger_id);

    // The same event at the tenant's endpoint: webhook-id is the event id, the body the feed's event JSON, and the
    // official Standard Webhooks verifier accepts the signature under the secret answered at creation.
    const delivery = await waitFor(() => receiver.hits.find((hit) => hit.headers["webhook-id"] === message.id), {
      what: "the trigger.message delivery at the tenant's endpoint",
    });
    const signed = {
      "webhook-id": String(delivery.headers["webhook-id"]),
      "webhook-timestamp": String(delivery.headers["webhook-timestamp"]),
      "webhook-signature": String(delivery.headers["webhook-signature"]),
    };
    const verified = new Webhook(endpoint.body.secret).verify(delivery.body, signed);
    expect(verified).toEqual(message);
    expect(verified).toMatchObject({
      type: "trigger.message",
      data: { trigger_id: trigger.trigger_id, labels: ["ci", "team:a"], connection_id: aliceGithub.connectionId },
    });
    expect(delivery.headers["content-type"]).toMatch(/^application\/json/);
    const otherSecret = `whsec_${Buffer.from("another endpoint's secret").toString("base64")}`;
    expect(() => new Webhook(otherSecret).verify(delivery.body, signed)).toThrow();

    // Disabled through our API: disabled at Composio too, so the instance no longer fires.
    const disabled = await triggers("POST", `/${trigger.trigger_id}/disable`);
    expect([200, 202]).toContain(disabled.status);
    await waitForEvent(aliceFeed, "trigger.status", (d) => d.trigger_id === trigger.trigger_id && d.status === "DISABLED");
    const refused = await api(system.emulatorUrl, "POST", `/_emulator/trigger_instances/${trigger.composio_trigger_id}/fire`, { body: {} });
    expect(refused.status).toBe(409);
    await triggers("POST", `/${trigger.trigger_id}/enable`);
    await waitForEvent(
      aliceFeed,
      "trigger.status",
      (d) => d.trigger_id === trigger.trigger_id && d.status === "ACTIVE" && d.previous_status === "DISABLED",
    );
  });

  it("deleting the connection deletes its triggers first (at Composio and here), with a trigger.status DELETED", async () => {
    const slack = await connectUser(system, alice, { user_id: "alice", app_name: "slack" }, aliceFeed);
    const trigger = await createActiveTrigger({ user_id: "alice", trigger_slug: "SLACK_RECEIVE_MESSAGE", config: {}, labels: ["chat"] });
    const deleted = await api(system.gatewayUrl, "DELETE", `/api/v1/composio/connections/${slack.connectionId}`, { token: alice });
    expect([202, 204]).toContain(deleted.status);
    const event = await waitForEvent(aliceFeed, "trigger.status", (d) => d.trigger_id === trigger.trigger_id && d.status === "DELETED");
    expect(event.data).toMatchObject({ status_reason: "Connection deleted", labels: ["chat"] });
    await waitFor(async () => (await triggers("GET", `/${trigger.trigger_id}`)).status === 404, { what: "the trigger to be gone" });
    const instances = await emulator<{ items: Array<{ id: string }> }>(system, "GET", "/trigger_instances");
    expect(instances.items.map((i) => i.id)).not.toContain(trigger.composio_trigger_id);
  });
});
