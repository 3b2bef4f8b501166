import { randomUUID } from "node:crypto";
import { waitFor } from "@kronos/testing";
import { expect } from "vitest";
import { emulator, type Tenant, uniqueName } from "./flows.js";
import { api, type RunningSystem } from "./support.js";

// The longer checks of composio-surface.e2e.test.ts: auth configs, the cached catalogue, bulk results.

export interface BulkResult {
  bulk_id: string;
  kind: string;
  succeeded: number;
  failed: number;
  results: Array<{ index: number; ok: boolean; connection_id: string | null; status: string | null; error: { code: string } | null }>;
}

/** A bulk request's results: the 200 answer, or after a 202, its view once COMPLETED. */
export async function settleBulk(system: RunningSystem, token: string, started: { status: number; body: { bulk_id: string } }) {
  expect([200, 202]).toContain(started.status);
  if (started.status === 200) return started.body as BulkResult;
  return waitFor(
    async () => {
      const view = await api<BulkResult & { status: string }>(system.gatewayUrl, "GET", `/api/v1/composio/bulk/${started.body.bulk_id}`, {
        token,
      });
      return view.body.status === "COMPLETED" ? view.body : undefined;
    },
    { what: "the bulk operation to complete" },
  );
}

interface AuthConfig {
  id: string;
  name: string;
  toolkit_slug: string;
  is_composio_managed: boolean;
  enabled: boolean;
}

export async function testAuthConfigs(system: RunningSystem, tenant: Tenant): Promise<void> {
  const call = <T>(method: string, path: string, body?: unknown) =>
    api<T>(system.gatewayUrl, method, `/api/v1/composio/auth-configs${path}`, {
      token: tenant.apiKey,
      ...(body === undefined ? {} : { body }),
    });
  const secret = `shh-${randomUUID()}`;
  const name = uniqueName("My GitHub App");
  const created = await call<AuthConfig>("POST", "", {
    name,
    toolkit_slug: "github",
    auth_scheme: "OAUTH2",
    credentials: { client_id: "client-123", client_secret: secret, scopes: ["repo"] },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name, toolkit_slug: "github", is_composio_managed: false, enabled: true });
  const id = created.body.id;
  const listed = (query: string) => call<{ items: AuthConfig[] }>("GET", `?${query}`);
  const ids = async (query: string) => (await listed(query)).body.items.map((c) => c.id);

  const one = await call<AuthConfig>("GET", `/${id}`);
  expect(one.status).toBe(200);
  const mine = await listed(`is_composio_managed=false&toolkit_slug=github&search=${encodeURIComponent(name)}`);
  expect(mine.body.items.map((c) => c.id)).toEqual([id]);
  for (const text of [created, one, mine].map((r) => JSON.stringify(r.body))) expect(text).not.toContain(secret);
  expect(await ids("is_composio_managed=true")).not.toContain(id);
  expect(await ids("toolkit_slug=slack")).not.toContain(id);

  const disabled = await call<AuthConfig>("POST", `/${id}/disable`);
  expect(disabled.status).toBe(200);
  expect(disabled.body.enabled).toBe(false);
  expect(await ids("toolkit_slug=github")).not.toContain(id);
  expect(await ids("toolkit_slug=github&show_disabled=true")).toContain(id);
  const enabled = await call<AuthConfig>("POST", `/${id}/enable`);
  expect(enabled.body.enabled).toBe(true);
  expect(await ids("toolkit_slug=github")).toContain(id);
  for (const text of [disabled, enabled].map((r) => JSON.stringify(r.body))) expect(text).not.toContain(secret);

  expect((await call("DELETE", `/${id}`)).status).toBe(204);
  expect((await call("GET", `/${id}`)).status).toBe(404);
  expect(await ids("show_disabled=true")).not.toContain(id);
}

export async function testCatalogue(system: RunningSystem, token: string): Promise<void> {
  const get = (path: string) =>
    api<{ items?: Array<{ slug: string }>; slug?: string; cache: { stale: boolean } }>(
      system.gatewayUrl,
      "GET",
      `/api/v1/composio${path}`,
      {
        token,
      },
    );

  const first = await get("/toolkits?limit=50");
  expect(first.status).toBe(200);
  expect(first.headers.get("x-cache")).toBe("miss");
  expect(first.body.items?.map((t) => t.slug)).toContain("github");
  // The TTL is 1 s: two requests in a row land within it (retried in the unlikely case they did not).
  await waitFor(
    async () => {
      const again = await get("/toolkits?limit=50");
      return again.headers.get("x-cache") === "hit" && again.body.items?.some((t) => t.slug === "github");
    },
    { what: "a cache hit" },
  );

  const toolkit = await get("/toolkits/github");
  expect(toolkit.status).toBe(200);
  expect(toolkit.body.slug).toBe("github");
  const actions = await get("/toolkits/github/actions?limit=50");
  expect(actions.status).toBe(200);
  expect(actions.body.items?.length).toBeGreaterThan(0);

  // Composio fails from now on: once the copy is past its TTL, it is served stale.
  const fault = await emulator<{ id: string }>(system, "POST", "/faults", { kind: "server_error", path: "/toolkits" });
  try {
    const stale = await waitFor(
      async () => {
        const response = await get("/toolkits?limit=50");
        return response.headers.get("x-cache") === "stale" ? response : undefined;
      },
      { what: "a stale answer" },
    );
    expect(stale.status).toBe(200);
    expect(stale.body.cache.stale).toBe(true);
    expect(stale.body.items?.map((t) => t.slug)).toContain("github");
    // With nothing cached for a key, Composio's failure is a 503.
    const uncached = await get("/toolkits?limit=7");
    expect(uncached.status).toBe(503);
  } finally {
    await emulator(system, "DELETE", `/faults/${fault.id}`);
  }
}
