import { ComposioError } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import {
  attemptOf,
  DEFAULT_RATE_LIMIT_PAUSE_MS,
  decideOnError,
  type InfraWait,
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

  const infraConfig = { INFRA_RETRY_MAX_DELAY_MS: 30_000, INFRA_RETRY_MAX_MS: 600_000 };
  const decide = (error: unknown, attemptsMade: number, infraWait: InfraWait | null | false = null, now = 1_000_000) =>
    decideOnError(error, { attempt: { attemptsMade, maxAttempts: 3 }, describe4xx, config: infraConfig, infraWait, now });

  it("retries 5xx until the last attempt, never 4xx, and leaves 429 to the queue pause", () => {
    const server = new ComposioError("server", "boom", { status: 503 });
    expect(decide(server, 0)).toEqual({ action: "retry" });
    expect(decide(server, 2)).toEqual({
      action: "give_up",
      failure: { code: "UPSTREAM_ERROR", message: "Composio is unavailable (server); gave up after 3 attempts" },
      endRecord: true,
    });
    const client = new ComposioError("client", "bad", { status: 400 });
    expect(decide(client, 0)).toEqual({ action: "give_up", failure: describe4xx(), endRecord: true });
    const limited = new ComposioError("rate_limited", "slow down", { status: 429, retryAfterSeconds: 2 });
    expect(decide(limited, 2)).toEqual({ action: "pause", pauseMs: 2_000 });
    const refusal = new Refusal({ code: "NOT_FOUND", message: "nope" }, { recordCode: "GONE" });
    expect(decide(refusal, 0)).toEqual({ action: "give_up", failure: refusal.failure, recordCode: "GONE", endRecord: true });
    expect(decide(new Refusal(refusal.failure, { endRecord: false }), 0)).toMatchObject({ endRecord: false });
  });

  it("makes Postgres and Redis errors wait with their own capped backoff, whatever the attempts, for minutes", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const prisma = Object.assign(new Error("Can't reach database server"), {
      code: "P1001",
      meta: { driverAdapterError: { cause: { kind: "DatabaseNotReachable" } } },
    });
    // On the last Composio attempt too: infrastructure errors are not Composio's attempts.
    expect(decide(refused, 2)).toEqual({ action: "wait", delayMs: 500, wait: { retries: 1, since: 1_000_000 } });
    expect(decide(prisma, 2, { retries: 3, since: 1_000_000 }, 1_010_000)).toEqual({
      action: "wait",
      delayMs: 4_000,
      wait: { retries: 4, since: 1_000_000 },
    });
    expect(decide(refused, 0, { retries: 30, since: 1_000_000 }, 1_100_000)).toMatchObject({ action: "wait", delayMs: 30_000 });
    // Past INFRA_RETRY_MAX_MS, the job gives up with a reason that says what was down.
    expect(decide(refused, 0, { retries: 40, since: 1_000_000 }, 1_000_000 + 590_000)).toEqual({
      action: "give_up",
      failure: { code: "UNAVAILABLE", message: "Our database or queue was unreachable for 10 min; gave up" },
      endRecord: true,
    });
    // A job that never waits (the next scheduled run is its retry) treats them as any other error.
    expect(decide(refused, 0, false)).toEqual({ action: "retry" });
    // Anything else is not infrastructure.
    expect(decide(new Error("boom"), 0)).toEqual({ action: "retry" });
  });

  it("pauses for Retry-After, within bounds", () => {
    const after = (seconds?: number) =>
      rateLimitPauseMs(new ComposioError("rate_limited", "x", seconds === undefined ? {} : { retryAfterSeconds: seconds }));
    expect(after(3)).toBe(3_000);
    expect(after()).toBe(DEFAULT_RATE_LIMIT_PAUSE_MS);
    expect(after(3_600)).toBe(MAX_RATE_LIMIT_PAUSE_MS);
  });
});
