import { ComposioError } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import {
  attemptOf,
  DEFAULT_RATE_LIMIT_PAUSE_MS,
  decideOnError,
  MAX_RATE_LIMIT_PAUSE_MS,
  Refusal,
  rateLimitPauseMs,
} from "./failure-policy.js";

describe("retry decisions", () => {
  const config = { COMPOSIO_MAX_ATTEMPTS: 5 };
  const describe4xx = () => ({ code: "BAD_REQUEST" as const, message: "refused" });

  it("caps attempts at COMPOSIO_MAX_ATTEMPTS", () => {
    expect(attemptOf({ attemptsMade: 0, opts: { attempts: 50 } }, config).maxAttempts).toBe(5);
    expect(attemptOf({ attemptsMade: 0, opts: { attempts: 2 } }, config).maxAttempts).toBe(2);
    expect(attemptOf({ attemptsMade: 0, opts: {} }, config).maxAttempts).toBe(1);
  });

  it("retries 5xx until the last attempt, never 4xx, and leaves 429 to the queue pause", () => {
    const server = new ComposioError("server", "boom", { status: 503 });
    expect(decideOnError(server, { attemptsMade: 0, maxAttempts: 3 }, describe4xx)).toEqual({ action: "rethrow" });
    expect(decideOnError(server, { attemptsMade: 2, maxAttempts: 3 }, describe4xx)).toEqual({
      action: "fail",
      failure: { code: "UPSTREAM_ERROR", message: "Composio is unavailable (server); gave up after 3 attempts" },
    });
    const client = new ComposioError("client", "bad", { status: 400 });
    expect(decideOnError(client, { attemptsMade: 0, maxAttempts: 3 }, describe4xx)).toEqual({ action: "fail", failure: describe4xx() });
    const limited = new ComposioError("rate_limited", "slow down", { status: 429 });
    expect(decideOnError(limited, { attemptsMade: 2, maxAttempts: 3 }, describe4xx)).toEqual({ action: "rethrow" });
    const refusal = new Refusal({ code: "NOT_FOUND", message: "nope" });
    expect(decideOnError(refusal, { attemptsMade: 0, maxAttempts: 3 }, describe4xx)).toEqual({ action: "fail", failure: refusal.failure });
  });

  it("pauses for Retry-After, within bounds", () => {
    const after = (seconds?: number) =>
      rateLimitPauseMs(new ComposioError("rate_limited", "x", seconds === undefined ? {} : { retryAfterSeconds: seconds }));
    expect(after(3)).toBe(3_000);
    expect(after()).toBe(DEFAULT_RATE_LIMIT_PAUSE_MS);
    expect(after(3_600)).toBe(MAX_RATE_LIMIT_PAUSE_MS);
  });
});
