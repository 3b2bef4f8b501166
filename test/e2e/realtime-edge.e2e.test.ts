import { createPrismaClient, type PrismaClient } from "@kronos/db";
import { waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, type Connected, connectUser, createTenant, emulator, type Tenant, userToken } from "./flows.js";
import { api, eventsOf, type FeedClient, openFeed, type RunningSystem, startSystem, statusEvents, waitForEvent } from "./support.js";

// The real-time edge through the real services: Composio's signed webhooks (sent by the emulator) become events
// on the right user's socket, once; a client resumes across a reconnect; the operator endpoints are guarded.

let system: RunningSystem;
let prisma: PrismaClient;
let tenant: Tenant;
let alice: string;
let bob: string;
let aliceFeed: FeedClient;
let bobFeed: FeedClient;
let aliceGithub: Connected;
let bobGithub: Connected;
const feeds: FeedClient[] = [];

async function feed(auth: { token?: string; apiKey?: string; since?: string }): Promise<FeedClient> {
  const client = await openFeed(system.webhooksUrl, auth);
  feeds.push(client);
  return client;
}

interface WebhookLog {
  events: Array<{ id: string; type: string; data: Record<string, unknown> }>;
  items: Array<{ id: string; delivery: number; status_code: number | null; final: boolean }>;
}

/** Waits until the emulator's delivery `delivery` of webhook `id` was answered, and returns its status. */
function delivered(id: string, delivery: number): Promise<number | null> {
  return waitFor(
    async () => {
      const log = await emulator<WebhookLog>(system, "GET", `/webhooks?id=${id}`);
      return log.items.find((a) => a.delivery === delivery && a.final)?.status_code ?? undefined;
    },
    { what: `delivery ${delivery} of webhook ${id}` },
  );
}

beforeAll(async () => {
  system = await startSystem();
  prisma = createPrismaClient(system.env.DATABASE_URL!, { poolSize: 2 });
  tenant = await createTenant(system);
  alice = await userToken(system, tenant, "alice");
  bob = await userToken(system, tenant, "bob");
  aliceFeed = await feed({ token: alice });
  bobFeed = await feed({ token: bob });
  aliceGithub = await connectUser(system, alice, { user_id: "alice", app_name: "github", labels: ["production"] }, aliceFeed);
  bobGithub = await connectUser(system, bob, { user_id: "bob", app_name: "github" }, bobFeed);
}, 90_000);

afterAll(async () => {
  for (const client of feeds) client.close();
  await prisma?.$disconnect();
  await system?.stop();
});

describe("Composio's webhooks, end to end", () => {
  it("turns a fired trigger into trigger.message on that user's socket only, and a disabled one into trigger.disabled", async () => {
    const fired = await emulator<{ id: string }>(system, "POST", "/triggers/fire", {
      connected_account_id: aliceGithub.accountId,
      trigger_slug: "GITHUB_COMMIT_EVENT",
      payload: { sha: "abc123", message: "Fix the bug" },
    });
    const message = await waitForEvent(aliceFeed, "trigger.message", (d) => d.connected_account_id === aliceGithub.accountId);
    expect(message.data).toMatchObject({
      trigger_slug: "GITHUB_COMMIT_EVENT",
      connection_id: aliceGithub.connectionId,
      user_id: "alice",
      payload: { sha: "abc123", message: "Fix the bug" },
    });
    expect(await delivered(fired.id, 1)).toBe(200);

    // Sentinel: bob's own trigger reaches bob after alice's, so alice's would be on bob's socket by now.
    await emulator(system, "POST", "/triggers/fire", { connected_account_id: bobGithub.accountId, trigger_slug: "GITHUB_STAR_EVENT" });
    await waitForEvent(bobFeed, "trigger.message", (d) => d.connected_account_id === bobGithub.accountId);
    expect(eventsOf(bobFeed, "trigger.message", (d) => d.user_id === "alice")).toEqual([]);
    expect(eventsOf(aliceFeed, "trigger.message", (d) => d.user_id === "bob")).toEqual([]);

    await emulator(system, "POST", "/triggers/disable", {
      connected_account_id: aliceGithub.accountId,
      trigger_name: "GITHUB_COMMIT_EVENT",
      reason: "The connected account expired",
    });
    const disabled = await waitForEvent(aliceFeed, "trigger.disabled");
    expect(disabled.data).toMatchObject({
      trigger_name: "GITHUB_COMMIT_EVENT",
      connection_id: aliceGithub.connectionId,
      connected_account_id: aliceGithub.accountId,
      user_id: "alice",
      disabled_reason: "The connected account expired",
    });
  });

  it("marks a connection EXPIRED from Composio's signed webhook, once, even when the webhook is delivered again", async () => {
    await emulator(system, "PUT", `/connected_accounts/${aliceGithub.accountId}/status`, { status: "EXPIRED" });
    const expired = await waitForEvent(
      aliceFeed,
      "connection.status",
      (d) => d.connection_id === aliceGithub.connectionId && d.status === "EXPIRED",
    );
    expect(expired.data).toMatchObject({ user_id: "alice", previous_status: "ACTIVE", labels: ["production"] });
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: aliceGithub.connectionId } });
    expect(row.status).toBe("EXPIRED");

    const log = await emulator<WebhookLog>(system, "GET", "/webhooks?type=composio.connected_account.expired");
    const webhook = log.events.find((e) => JSON.stringify(e).includes(aliceGithub.accountId));
    expect(webhook).toBeDefined();
    expect(await delivered(webhook!.id, 1)).toBe(200);
    const stored = await prisma.webhookEvent.findUniqueOrThrow({ where: { id: webhook!.id } });
    expect(stored.tenantId).toBe(tenant.tenantId);

    await emulator(system, "POST", "/webhooks/redeliver", { id: webhook!.id });
    expect(await delivered(webhook!.id, 2)).toBe(200);
    // Sentinel: an event for alice that happens after the redelivery was acknowledged.
    await emulator(system, "POST", "/triggers/fire", { connected_account_id: aliceGithub.accountId, trigger_slug: "GITHUB_SENTINEL" });
    await waitForEvent(aliceFeed, "trigger.message", (d) => d.trigger_slug === "GITHUB_SENTINEL");
    expect(statusEvents(aliceFeed, aliceGithub.connectionId).filter((s) => s === "EXPIRED")).toHaveLength(1);
    expect(await prisma.webhookEvent.count({ where: { id: webhook!.id } })).toBe(1);
  });
});

describe("resuming the feed", () => {
  it("replays exactly the missed events, in order, after a reconnect with ?since, then live ones", async () => {
    const dana = await userToken(system, tenant, "dana");
    const first = await feed({ token: dana });
    const { connectionId } = await connectUser(system, dana, { user_id: "dana", app_name: "slack" }, first);
    const lastSeen = eventsOf(first, "connection.status").at(-1)!;
    expect(lastSeen.data?.status).toBe("ACTIVE");
    first.close();
    await first.closed;

    const base = `/api/v1/composio/connections/${connectionId}`;
    expect((await api(system.gatewayUrl, "POST", `${base}/disable`, { token: tenant.apiKey })).status).toBe(200);
    expect((await api(system.gatewayUrl, "POST", `${base}/enable`, { token: tenant.apiKey })).status).toBe(200);

    const resumed = await feed({ token: dana, since: lastSeen.id! });
    await waitFor(() => statusEvents(resumed, connectionId).length === 2, { what: "the two missed events" });
    expect(resumed.messages.some((m) => m.type === "resume.gap")).toBe(false);
    const live = await api(system.gatewayUrl, "POST", `${base}/disable`, { token: tenant.apiKey });
    expect(live.status).toBe(200);
    await waitFor(() => statusEvents(resumed, connectionId).length === 3, { what: "the live event" });

    const events = resumed.messages.filter((m) => m.id !== undefined);
    expect(events.map((m) => m.data?.status)).toEqual(["INACTIVE", "ACTIVE", "INACTIVE"]);
    expect(events.map((m) => m.data?.previous_status)).toEqual(["ACTIVE", "INACTIVE", "ACTIVE"]);
    const ids = events.map((m) => m.id!);
    expect(ids[0]).not.toBe(lastSeen.id);
    expect(new Set(ids).size).toBe(3);
    // Ids increase per tenant: "<ms>-<seq>".
    const order = (id: string) => id.split("-").map(Number) as [number, number];
    const sorted = [...ids].sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1]);
    expect(ids).toEqual(sorted);
  });
});

describe("operator endpoints", () => {
  it("guards the queue dashboard and the metrics with the admin token, and refuses unsigned webhooks", async () => {
    const dashboard = `${system.gatewayUrl}/admin/queues`;
    const anonymous = await fetch(dashboard);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await fetch(dashboard, { headers: basicAuth("anyone", "wrong-password") })).status).toBe(401);
    const browser = await fetch(dashboard, { headers: basicAuth("anyone", system.adminToken) });
    expect(browser.status).toBe(200);
    expect(await browser.text()).toContain("<html");

    for (const url of [system.gatewayUrl, system.workerUrl, system.webhooksUrl]) {
      expect((await fetch(`${url}/metrics`)).status, url).toBe(401);
      const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${system.adminToken}` } });
      expect(metrics.status, url).toBe(200);
      expect(await metrics.text(), url).toMatch(/^kronos_\w+/m);
    }

    const unsigned = await api<{ error: { code: string } }>(system.webhooksUrl, "POST", "/webhooks/composio", {
      body: { id: "msg_unsigned", type: "composio.trigger.message", data: {} },
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe("UNAUTHENTICATED");
    expect(await prisma.webhookEvent.count({ where: { id: "msg_unsigned" } })).toBe(0);
  });
});
