import { createPrismaClient, type PrismaClient } from "@kronos/db";
import { waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeInBrowser, createTenant, initiate, userToken } from "./flows.js";
import { api, type FeedClient, openFeed, type RunningSystem, startSystem, statusEvents } from "./support.js";

// The event spine end to end: the services run as processes, as the run command starts them, against the
// Composio emulator; a "browser" follows the hosted link; the WebSocket feed reports each status.

let system: RunningSystem;
let prisma: PrismaClient;
const feeds: FeedClient[] = [];

async function feed(auth: { token?: string; apiKey?: string }): Promise<FeedClient> {
  const client = await openFeed(system.webhooksUrl, auth);
  feeds.push(client);
  return client;
}

beforeAll(async () => {
  system = await startSystem();
  prisma = createPrismaClient(system.env.DATABASE_URL!, { poolSize: 2 });
}, 90_000);

afterAll(async () => {
  for (const client of feeds) client.close();
  await prisma?.$disconnect();
  await system?.stop();
});

describe("the event spine", () => {
  it("answers health on every service, and reports its dependencies", async () => {
    for (const url of [system.gatewayUrl, system.webhooksUrl, system.workerUrl]) {
      const response = await api(url, "GET", "/health");
      expect(response.status).toBe(200);
    }
    // Each dependency probe has a 2 s limit; on a loaded machine the first answer may be a 503, so wait for the
    // dependencies to be reported reachable rather than timing the first probe.
    type Health = { configured: boolean; emulator: boolean; dependencies: Record<string, { ok: boolean }> };
    const health = await waitFor(
      async () => {
        const answer = await api<Health>(system.gatewayUrl, "GET", "/api/v1/composio/health");
        return answer.status === 200 ? answer : undefined;
      },
      { timeoutMs: 20_000, what: "a healthy /api/v1/composio/health" },
    );
    expect(health.body.configured).toBe(true);
    expect(health.body.emulator).toBe(true);
    expect(health.body.dependencies.postgres?.ok).toBe(true);
    expect(health.body.dependencies.redis?.ok).toBe(true);
    expect(health.body.dependencies.composio?.ok).toBe(true);
  });

  it("connects a user: INITIATED then ACTIVE on the user's socket, rows written, nobody else sees it", async () => {
    const acme = await createTenant(system, "Acme");
    const globex = await createTenant(system, "Globex");
    const alice = await userToken(system, acme, "alice");
    const bob = await userToken(system, acme, "bob");
    const globexAlice = await userToken(system, globex, "alice");

    const aliceFeed = await feed({ token: alice });
    const acmeServerFeed = await feed({ apiKey: acme.apiKey });
    const bobFeed = await feed({ token: bob });
    const globexAliceFeed = await feed({ token: globexAlice });

    const { connectionId, redirectUrl } = await initiate(system, alice, {
      user_id: "alice",
      app_name: "github",
      redirect_url: "https://chat.example/oauth/done",
      labels: ["production", "team-alpha"],
    });
    await waitFor(() => statusEvents(aliceFeed, connectionId).includes("INITIATED"), { what: "INITIATED on alice's socket" });

    const landing = (await completeInBrowser(system, redirectUrl))!;
    expect(landing.origin + landing.pathname).toBe("https://chat.example/oauth/done");
    expect(landing.searchParams.get("connection_id")).toBe(connectionId);

    await waitFor(() => statusEvents(aliceFeed, connectionId).includes("ACTIVE"), { what: "ACTIVE on alice's socket" });
    expect(statusEvents(aliceFeed, connectionId)).toEqual(["INITIATED", "ACTIVE"]);
    const active = aliceFeed.messages.find((m) => m.type === "connection.status" && m.data?.status === "ACTIVE")!;
    expect(active.data).toMatchObject({
      user_id: "alice",
      toolkit: "github",
      previous_status: "INITIATED",
      labels: ["production", "team-alpha"],
    });
    await waitFor(() => statusEvents(acmeServerFeed, connectionId).includes("ACTIVE"), { what: "ACTIVE on the tenant's API-key socket" });

    // Sentinels: an event for bob, and one in the other tenant, arrive after alice's, so had alice's events been
    // sent to those sockets they would be there by now.
    const bobs = await initiate(system, bob, { user_id: "bob", app_name: "slack" });
    await waitFor(() => statusEvents(bobFeed, bobs.connectionId).includes("INITIATED"), { what: "bob's own event" });
    const globexs = await initiate(system, globexAlice, { user_id: "alice", app_name: "github" });
    await waitFor(() => statusEvents(globexAliceFeed, globexs.connectionId).includes("INITIATED"), {
      what: "the other tenant's own event",
    });
    expect(statusEvents(bobFeed, connectionId)).toEqual([]);
    expect(statusEvents(globexAliceFeed, connectionId)).toEqual([]);
    expect(statusEvents(aliceFeed, bobs.connectionId)).toEqual([]);
    expect(statusEvents(acmeServerFeed, globexs.connectionId)).toEqual([]);

    const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } });
    expect(row).toMatchObject({ tenantId: acme.tenantId, userId: "alice", toolkitSlug: "github", status: "ACTIVE" });
    expect(row.labels).toEqual(["production", "team-alpha"]);
    expect(row.composioAccountId).toMatch(/^ca_/);
    const audit = await prisma.auditLog.findMany({ where: { tenantId: acme.tenantId, targetId: connectionId } });
    expect(audit.length).toBeGreaterThanOrEqual(2);

    // The REST view agrees, for its owner only.
    const mine = await api<{ items: Array<{ connection_id: string }> }>(
      system.gatewayUrl,
      "GET",
      "/api/v1/composio/connections?status=ACTIVE&label=production",
      { token: alice },
    );
    expect(mine.body.items.map((c) => c.connection_id)).toContain(connectionId);
    expect((await api(system.gatewayUrl, "GET", `/api/v1/composio/connections/${connectionId}`, { token: bob })).status).toBe(404);
    expect((await api(system.gatewayUrl, "GET", `/api/v1/composio/connections/${connectionId}`, { token: globex.apiKey })).status).toBe(
      404,
    );
    // Two tenants' "alice" are different Composio users.
    const globexRow = await prisma.connection.findUniqueOrThrow({ where: { id: globexs.connectionId } });
    expect(globexRow.tenantId).toBe(globex.tenantId);
  });

  it("reports FAILED when the user denies access", async () => {
    const tenant = await createTenant(system, "Initech");
    const carol = await userToken(system, tenant, "carol");
    const carolFeed = await feed({ token: carol });
    const { connectionId, redirectUrl } = await initiate(system, carol, {
      user_id: "carol",
      app_name: "gmail",
      redirect_url: "https://chat.example/oauth/done",
    });
    const landing = (await completeInBrowser(system, redirectUrl, { deny: true }))!;
    expect(landing.searchParams.get("status")).toBe("failed");
    await waitFor(() => statusEvents(carolFeed, connectionId).includes("FAILED"), { what: "FAILED on carol's socket" });
    expect(statusEvents(carolFeed, connectionId)).toEqual(["INITIATED", "FAILED"]);
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } });
    expect(row.status).toBe("FAILED");
  });

  it("refuses bad input with a clear 4xx and writes nothing", async () => {
    const tenant = await createTenant(system, "Hooli");
    const before = await prisma.connection.count({ where: { tenantId: tenant.tenantId } });
    const malformed = await api<{ error: { code: string } }>(system.gatewayUrl, "POST", "/api/v1/composio/connections/initiate-enhanced", {
      token: tenant.apiKey,
      rawBody: '{"user_id": "dave", ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBeTypeOf("string");
    const wrongType = await api(system.gatewayUrl, "POST", "/api/v1/composio/connections/initiate-enhanced", {
      token: tenant.apiKey,
      body: { user_id: "dave", app_name: 42 },
    });
    expect(wrongType.status).toBe(400);
    const noCredential = await api(system.gatewayUrl, "POST", "/api/v1/composio/connections/initiate-enhanced", {
      body: { user_id: "dave", app_name: "github" },
    });
    expect(noCredential.status).toBe(401);
    expect(await prisma.connection.count({ where: { tenantId: tenant.tenantId } })).toBe(before);
  });
});
