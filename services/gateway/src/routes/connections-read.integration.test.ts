import { randomUUID } from "node:crypto";
import type { ConnectionStatus } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness } from "../../test/harness.js";

const LIST = "/api/v1/composio/connections";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let globex: { tenantId: string; apiKey: string };
const ids: Record<string, string> = {};

async function seed(
  tenantId: string,
  name: string,
  userId: string,
  toolkit: string,
  status: ConnectionStatus,
  labels: string[],
  minute: number,
) {
  const id = randomUUID();
  ids[name] = id;
  await h.prisma.connection.create({
    data: {
      id,
      tenantId,
      userId,
      toolkitSlug: toolkit,
      status,
      labels,
      composioAccountId: `ca_${id}`,
      createdAt: new Date(Date.UTC(2026, 10, 24, 9, minute)),
    },
  });
}

async function token(userId: string): Promise<string> {
  const response = await h.inject({ method: "POST", url: "/api/v1/sessions", headers: bearer(acme.apiKey), payload: { user_id: userId } });
  return response.json().token;
}

beforeAll(async () => {
  h = await startHarness();
  acme = await createTestTenant(h.prisma, "acme");
  globex = await createTestTenant(h.prisma, "globex");
  h.secrets.push(acme.apiKey, globex.apiKey);
  await seed(acme.tenantId, "a1", "alice", "github", "ACTIVE", ["work"], 1);
  await seed(acme.tenantId, "a2", "alice", "gmail", "INITIATED", ["personal"], 2);
  await seed(acme.tenantId, "a3", "alice", "github", "EXPIRED", ["work", "old"], 3);
  await seed(acme.tenantId, "b1", "bob", "github", "ACTIVE", ["work"], 4);
  // Two rows created in the same millisecond: the id breaks the tie.
  await seed(acme.tenantId, "b2", "bob", "slack", "ACTIVE", [], 5);
  await seed(acme.tenantId, "b3", "bob", "notion", "FAILED", [], 5);
  await seed(globex.tenantId, "g1", "alice", "github", "ACTIVE", ["work"], 6);
});
afterAll(async () => {
  await h?.close();
});

const idsOf = (body: { items: { connection_id: string }[] }) => body.items.map((item) => item.connection_id);

describe("GET /api/v1/composio/connections", () => {
  it("lists the tenant's connections only, newest first, mapped to the view", async () => {
    const response = await h.inject({ method: "GET", url: LIST, headers: bearer(acme.apiKey) });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const [b2, b3] = [ids.b2!, ids.b3!].sort().reverse();
    expect(idsOf(body)).toEqual([b2, b3, ids.b1, ids.a3, ids.a2, ids.a1]);
    expect(body.next_cursor).toBeNull();
    expect(body.items.at(-1)).toEqual({
      connection_id: ids.a1,
      user_id: "alice",
      toolkit: "github",
      auth_config_id: null,
      connected_account_id: `ca_${ids.a1}`,
      status: "ACTIVE",
      status_reason: null,
      labels: ["work"],
      redirect_url: null,
      expires_at: null,
      verification: null,
      created_at: "2026-11-24T09:01:00.000Z",
      updated_at: expect.any(String),
    });
  });

  it("filters by user, status, label and toolkit", async () => {
    const get = async (query: string) =>
      idsOf((await h.inject({ method: "GET", url: `${LIST}?${query}`, headers: bearer(acme.apiKey) })).json());
    expect(await get("user_id=alice")).toEqual([ids.a3, ids.a2, ids.a1]);
    expect(await get("status=ACTIVE&user_id=bob")).toHaveLength(2);
    expect(await get("label=work")).toEqual([ids.b1, ids.a3, ids.a1]);
    expect(await get("toolkit=GitHub&user_id=alice")).toEqual([ids.a3, ids.a1]);
    expect(await get("label=old&status=ACTIVE")).toEqual([]);
  });

  it("pages to the end with an opaque cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `${LIST}?limit=4${cursor ? `&cursor=${cursor}` : ""}`;
      const body = (await h.inject({ method: "GET", url, headers: bearer(acme.apiKey) })).json();
      seen.push(...idsOf(body));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(2);
    expect(new Set(seen).size).toBe(6);
    expect(seen).toEqual(idsOf((await h.inject({ method: "GET", url: LIST, headers: bearer(acme.apiKey) })).json()));

    const exact = (await h.inject({ method: "GET", url: `${LIST}?limit=3&user_id=alice`, headers: bearer(acme.apiKey) })).json();
    expect(exact.next_cursor).toBeNull();
  });

  it("rejects bad queries", async () => {
    for (const query of ["cursor=garbage", "limit=0", "limit=201", "status=BOGUS", "user_id=a%20b"]) {
      const response = await h.inject({ method: "GET", url: `${LIST}?${query}`, headers: bearer(acme.apiKey) });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("gives a user token its own connections only", async () => {
    const alice = await token("alice");
    const own = await h.inject({ method: "GET", url: LIST, headers: bearer(alice) });
    expect(idsOf(own.json())).toEqual([ids.a3, ids.a2, ids.a1]);
    const explicit = await h.inject({ method: "GET", url: `${LIST}?user_id=alice&toolkit=gmail`, headers: bearer(alice) });
    expect(idsOf(explicit.json())).toEqual([ids.a2]);
    const bob = await h.inject({ method: "GET", url: `${LIST}?user_id=bob`, headers: bearer(alice) });
    expect(bob.statusCode).toBe(403);
    expect(bob.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
  });
});

describe("GET /api/v1/composio/connections/:id", () => {
  it("answers the tenant's connection and 404 for anyone else's", async () => {
    const own = await h.inject({ method: "GET", url: `${LIST}/${ids.a1}`, headers: bearer(acme.apiKey) });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ connection_id: ids.a1, connected_account_id: `ca_${ids.a1}` });

    const foreign = await h.inject({ method: "GET", url: `${LIST}/${ids.g1}`, headers: bearer(acme.apiKey) });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toEqual({ error: { code: "NOT_FOUND", message: "Connection not found" } });
    const missing = await h.inject({ method: "GET", url: `${LIST}/${randomUUID()}`, headers: bearer(acme.apiKey) });
    expect(missing.statusCode).toBe(404);
  });

  it("scopes a user token to its user", async () => {
    const alice = await token("alice");
    expect((await h.inject({ method: "GET", url: `${LIST}/${ids.a2}`, headers: bearer(alice) })).statusCode).toBe(200);
    expect((await h.inject({ method: "GET", url: `${LIST}/${ids.b1}`, headers: bearer(alice) })).statusCode).toBe(404);
  });

  it("rejects an id that is not a UUID and requires a credential", async () => {
    const bad = await h.inject({ method: "GET", url: `${LIST}/not-a-uuid`, headers: bearer(acme.apiKey) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: "VALIDATION_FAILED", details: [{ field: "params.id" }] } });
    expect((await h.inject({ method: "GET", url: `${LIST}/${ids.a1}` })).statusCode).toBe(401);
  });
});

describe("connection routes by Composio's account id", () => {
  it("accept the ca_ id as well as ours, within the tenant only", async () => {
    const byOurs = await h.inject({ method: "GET", url: `${LIST}/${ids.a1}`, headers: bearer(acme.apiKey) });
    const byComposio = await h.inject({ method: "GET", url: `${LIST}/ca_${ids.a1}`, headers: bearer(acme.apiKey) });
    expect(byComposio.statusCode).toBe(200);
    expect(byComposio.json()).toEqual(byOurs.json());

    // Another tenant's account, or one nobody has: not found, never another tenant's row.
    const foreign = await h.inject({ method: "GET", url: `${LIST}/ca_${ids.g1}`, headers: bearer(acme.apiKey) });
    expect(foreign.statusCode).toBe(404);
    const unknown = await h.inject({ method: "GET", url: `${LIST}/ca_nobody`, headers: bearer(acme.apiKey) });
    expect(unknown.statusCode).toBe(404);
    // Neither ours nor Composio's spelling: a clear 400.
    const bad = await h.inject({ method: "GET", url: `${LIST}/nope`, headers: bearer(acme.apiKey) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("VALIDATION_FAILED");
  });
});
