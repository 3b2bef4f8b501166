import type { Principal } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { scopedUserId } from "./principal.js";

describe("scopedUserId", () => {
  const apiKey: Principal = { kind: "api_key", tenantId: "t", apiKeyId: "k", scopes: ["*"] };
  const alice: Principal = { kind: "user", tenantId: "t", userId: "alice", expiresAt: 0 };
  it("lets an API key name anyone or no one", () => {
    expect(scopedUserId(apiKey, "bob")).toBe("bob");
    expect(scopedUserId(apiKey, undefined)).toBeUndefined();
  });
  it("keeps a user to itself", () => {
    expect(scopedUserId(alice, undefined)).toBe("alice");
    expect(scopedUserId(alice, "alice")).toBe("alice");
    expect(() => scopedUserId(alice, "bob")).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
  });
});
