import { describe, expect, it } from "vitest";
import { signUserToken } from "./auth.js";
import { credentialFromProtocols, credentialKind, FEED_PROTOCOL, feedProtocols, peekUserToken } from "./credentials.js";
import { publicFeedUrl } from "./http/console.js";

describe("credentials as a browser sees them", () => {
  it("tells the two kinds apart by their prefix", () => {
    expect(credentialKind("kc_abc")).toBe("api_key");
    expect(credentialKind("kcu.abc.def")).toBe("user");
    expect(credentialKind("Bearer kc_abc")).toBeNull();
  });

  it("reads a user token's claims without its secret, and nothing from garbage", () => {
    const token = signUserToken({ tenantId: "t-1", userId: "alice@example.com", exp: 1_900_000_000 }, "s".repeat(40));
    expect(peekUserToken(token)).toEqual({ tenantId: "t-1", userId: "alice@example.com", exp: 1_900_000_000 });
    for (const bad of ["kcu.", "kcu.!!!.x", `kcu.${btoa("[1]")}.x`, "kc_abc"]) expect(peekUserToken(bad)).toBeNull();
  });

  it("carries a credential as a WebSocket subprotocol and reads it back", () => {
    const token = signUserToken({ tenantId: "t-1", userId: "alice", exp: 1_900_000_000 }, "s".repeat(40));
    const offered = feedProtocols(token);
    expect(offered[0]).toBe(FEED_PROTOCOL);
    expect(credentialFromProtocols(offered.join(", "))).toBe(token);
    expect(credentialFromProtocols("kronos.feed.v1")).toBeNull();
    expect(credentialFromProtocols(undefined)).toBeNull();
    expect(credentialFromProtocols("kronos.bearer.a b")).toBeNull();
    expect(() => feedProtocols("has space")).toThrow();
  });
});

describe("publicFeedUrl", () => {
  it("is PUBLIC_FEED_URL when set, else the webhooks port on the gateway's public host", () => {
    expect(
      publicFeedUrl({ PUBLIC_FEED_URL: "wss://feed.example/ws", PUBLIC_GATEWAY_URL: "https://api.example", WEBHOOKS_PORT: 8001 }),
    ).toBe("wss://feed.example/ws");
    expect(publicFeedUrl({ PUBLIC_GATEWAY_URL: "http://localhost:8000", WEBHOOKS_PORT: 8001 })).toBe("ws://localhost:8001/ws");
    expect(publicFeedUrl({ PUBLIC_GATEWAY_URL: "https://api.example", WEBHOOKS_PORT: 443 })).toBe("wss://api.example:443/ws");
  });
});
