import { waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connected, connectUser, createTenant, emulator, type Tenant, userToken } from "./flows.js";
import { api, type FeedClient, openFeed, type RunningSystem, startSystem, waitForEvent } from "./support.js";

// Triggers end to end, through the real services: a trigger created through our API is created at Composio (the
// emulator) by the worker; the emulator fires that instance, signing its webhook as Composio does; the webhooks
// service turns it into a trigger.message on the user's socket carrying OUR trigger id, labels and connection.

let system: RunningSystem;
let tenant: Tenant;
let alice: string;
let aliceFeed: FeedClient;
let tenantFeed: FeedClient;
let aliceGithub: Connected;

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
  system = await startSystem();
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
