import { describe, expect, it } from "vitest";
import { ComposioError } from "./port.js";
import { composioRefusal } from "./refusals.js";

const tool = 'Tool "GITHUB_STAR"';

describe("composioRefusal: the one map from Composio's errors to ours", () => {
  it("maps what does not exist to NOT_FOUND, by status or by Composio's words", () => {
    expect(composioRefusal(new ComposioError("not_found", "nope", { status: 404 }), tool)).toEqual({
      code: "NOT_FOUND",
      message: 'Tool "GITHUB_STAR" not found at Composio',
    });
    expect(composioRefusal(new ComposioError("client", "Toolkit nosuchkit not found", { status: 400 }), tool).code).toBe("NOT_FOUND");
  });

  it("keeps Composio's words for refusals about the request", () => {
    expect(composioRefusal(new ComposioError("client", "bad field", { status: 400 }), tool)).toEqual({
      code: "BAD_REQUEST",
      message: "Composio rejected the request: bad field",
    });
    expect(composioRefusal(new ComposioError("client", "busy", { status: 409 }), tool).code).toBe("CONFLICT");
    expect(composioRefusal(new ComposioError("client", "old", { status: 410 }), tool)).toEqual({
      code: "BAD_REQUEST",
      message: 'Tool "GITHUB_STAR" is deprecated at Composio: old',
    });
  });

  it("never repeats Composio's words about our credentials", () => {
    expect(composioRefusal(new ComposioError("auth", "Invalid API key ak_secret", { status: 401 }), tool)).toEqual({
      code: "UPSTREAM_ERROR",
      message: "Composio refused our credentials",
    });
  });

  it("answers a 429 with when to retry, and the rest with UPSTREAM_ERROR", () => {
    expect(composioRefusal(new ComposioError("rate_limited", "slow down", { status: 429, retryAfterSeconds: 2.5 }), tool)).toMatchObject({
      code: "UNAVAILABLE",
      retryAfterSeconds: 3,
    });
    expect(composioRefusal(new ComposioError("server", "boom", { status: 502 }), tool).code).toBe("UPSTREAM_ERROR");
  });
});
