import { AppError, type Principal } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { isLoopbackUrl } from "../use-cases/check-health.js";
import { sanitiseCallbackStatus } from "../use-cases/connection-callback.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { scopedUserId } from "./principal.js";

describe("cursor", () => {
  it("round-trips a position and stays opaque", () => {
    const position = { createdAt: new Date("2026-11-24T09:01:02.345Z"), id: "7d0f6a9e-3c1b-4f7e-9a2d-5b8c1e0f2a3b" };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it("rejects garbage as a validation error on the cursor field", () => {
    for (const bad of [
      "",
      "garbage",
      Buffer.from("2026-11-24T09:01:02.345Z|not-a-uuid").toString("base64url"),
      Buffer.from("yesterday|x|y").toString("base64url"),
    ]) {
      const error = (() => {
        try {
          decodeCursor(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).toBody()).toMatchObject({
        error: { code: "VALIDATION_FAILED", details: [{ field: "querystring.cursor" }] },
      });
    }
  });
});

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

describe("small rules", () => {
  it("passes only Composio's two callback outcomes", () => {
    expect(sanitiseCallbackStatus("success")).toBe("success");
    expect(sanitiseCallbackStatus("failed")).toBe("failed");
    for (const other of ["SUCCESS", "<script>", ["success"], undefined, 1]) expect(sanitiseCallbackStatus(other)).toBe("unknown");
  });
  it("recognises loopback URLs as the emulator", () => {
    for (const url of ["http://127.0.0.1:8010", "http://localhost:8010/", "http://[::1]:8010", "http://127.1.2.3"])
      expect(isLoopbackUrl(url)).toBe(true);
    for (const url of ["https://backend.composio.dev", "http://10.0.0.1", "not a url"]) expect(isLoopbackUrl(url)).toBe(false);
  });
});
