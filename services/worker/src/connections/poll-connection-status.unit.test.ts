import { describe, expect, it } from "vitest";
import { decideAfterReadError, decidePending, nextPollDelayMs, POLL_ERROR_GRACE_MS } from "./poll-connection-status.js";

describe("nextPollDelayMs", () => {
  const options = { initialMs: 1_000, maxMs: 30_000 };
  it("doubles from the initial delay", () => {
    expect([0, 1, 2, 3, 4].map((a) => nextPollDelayMs(a, options))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });
  it("never exceeds the maximum, even after very many attempts", () => {
    expect(nextPollDelayMs(5, options)).toBe(30_000);
    expect(nextPollDelayMs(10_000, options)).toBe(30_000);
  });
  it("treats a negative attempt as the first", () => {
    expect(nextPollDelayMs(-3, options)).toBe(1_000);
  });
  it("reads again right after the link expires instead of waiting the full delay", () => {
    expect(nextPollDelayMs(10, { ...options, untilExpiryMs: 5_000 })).toBe(5_001);
    expect(nextPollDelayMs(10, { ...options, untilExpiryMs: 10 })).toBe(1_000);
    expect(nextPollDelayMs(1, { ...options, untilExpiryMs: 60_000 })).toBe(2_000);
    expect(nextPollDelayMs(10, { ...options, untilExpiryMs: -5 })).toBe(30_000);
    expect(nextPollDelayMs(10, { ...options, untilExpiryMs: null })).toBe(30_000);
  });
});

describe("decidePending", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  it("expires a connection whose link has expired, whoever reads it", () => {
    const expiresAt = new Date(now.getTime() - 1);
    expect(decidePending({ expiresAt, now, isMainPoller: true })).toBe("expire");
    expect(decidePending({ expiresAt, now, isMainPoller: false })).toBe("expire");
  });
  it("reschedules only the main poller", () => {
    const expiresAt = new Date(now.getTime() + 60_000);
    expect(decidePending({ expiresAt, now, isMainPoller: true })).toBe("reschedule");
    expect(decidePending({ expiresAt, now, isMainPoller: false })).toBe("stop");
    expect(decidePending({ expiresAt: null, now, isMainPoller: true })).toBe("reschedule");
  });
});

describe("decideAfterReadError", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  it("lets BullMQ retry a one-shot check", () => {
    expect(decideAfterReadError({ expiresAt: null, now, isMainPoller: false })).toBe("retry");
  });
  it("makes the main poller read again later, even just after the link expired", () => {
    expect(decideAfterReadError({ expiresAt: new Date(now.getTime() - 1_000), now, isMainPoller: true })).toBe("reschedule");
    expect(decideAfterReadError({ expiresAt: null, now, isMainPoller: true })).toBe("reschedule");
  });
  it("gives up long after the link expired", () => {
    expect(decideAfterReadError({ expiresAt: new Date(now.getTime() - POLL_ERROR_GRACE_MS - 1), now, isMainPoller: true })).toBe("stop");
  });
});
