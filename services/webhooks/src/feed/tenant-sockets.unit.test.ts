import type { Principal } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import type { FeedClient } from "./client.js";
import { TenantSockets } from "./tenant-sockets.js";

const TENANT = "00000000-0000-4000-8000-000000000001";
const client = (principal: Principal) => ({ principal, tenantId: TENANT }) as unknown as FeedClient;
const apiKey = () => client({ kind: "api_key", tenantId: TENANT, apiKeyId: "k", scopes: ["*"] });
const user = (userId: string) => client({ kind: "user", tenantId: TENANT, userId, expiresAt: 0 });

describe("TenantSockets", () => {
  it("sends a user's event to API-key sockets and that user's sockets only, a tenant-wide one to API-key sockets", () => {
    const sockets = new TenantSockets();
    const [key, alice1, alice2, bob] = [apiKey(), user("alice"), user("alice"), user("bob")];
    for (const c of [key, alice1, alice2, bob]) sockets.add(c);
    expect(new Set(sockets.audience("alice"))).toEqual(new Set([key, alice1, alice2]));
    expect(new Set(sockets.audience("carol"))).toEqual(new Set([key]));
    expect([...sockets.audience(null)]).toEqual([key]);
    expect(sockets.size).toBe(4);
  });

  it("forgets removed sockets", () => {
    const sockets = new TenantSockets();
    const [key, alice] = [apiKey(), user("alice")];
    sockets.add(key);
    sockets.add(alice);
    sockets.remove(alice);
    sockets.remove(key);
    expect([...sockets.audience("alice")]).toEqual([]);
    expect(sockets.size).toBe(0);
  });
});
