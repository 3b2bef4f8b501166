import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

/** The sliding window on a fake clock (milliseconds). */
function limiter(perMinute: number | null) {
  let now = 1_000_000;
  const rl = new RateLimiter(perMinute, () => now);
  return {
    rl,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("RateLimiter", () => {
  it("accepts `perMinute` requests in a window, then refuses with the seconds until the oldest leaves", () => {
    const { rl, advance } = limiter(3);
    expect(rl.take()).toEqual({ allowed: true, limit: 3, remaining: 2 });
    advance(10_000);
    expect(rl.take()).toEqual({ allowed: true, limit: 3, remaining: 1 });
    advance(10_000);
    expect(rl.take()).toEqual({ allowed: true, limit: 3, remaining: 0 });
    advance(10_000);
    // the first request (30 s ago) leaves the window in 30 s
    expect(rl.take()).toEqual({ allowed: false, limit: 3, retryAfterSeconds: 30 });
    advance(29_500);
    expect(rl.take()).toEqual({ allowed: false, limit: 3, retryAfterSeconds: 1 });
    advance(500);
    expect(rl.take()).toEqual({ allowed: true, limit: 3, remaining: 0 });
    expect(rl.snapshot()).toEqual({ per_minute: 3, answered_429: 2, requests_in_window: 3, max_in_any_window: 3 });
  });

  it("never accepts more than the limit in any 60 s window, refused requests take no slot", () => {
    const { rl, advance } = limiter(5);
    const accepted: number[] = [];
    let t = 0;
    for (let i = 0; i < 2_000; i++) {
      if (rl.take().allowed) accepted.push(t);
      advance(137);
      t += 137;
    }
    for (const start of accepted) expect(accepted.filter((x) => x >= start && x < start + 60_000).length).toBeLessThanOrEqual(5);
    expect(rl.snapshot().max_in_any_window).toBe(5);
    expect(rl.snapshot().answered_429).toBe(2_000 - accepted.length);
  });

  it("lowering the limit at run time waits for enough requests to leave; null lifts it but still counts", () => {
    const { rl, advance } = limiter(null);
    for (let i = 0; i < 4; i++) {
      expect(rl.take()).toEqual({ allowed: true, limit: null, remaining: null });
      advance(1_000);
    }
    expect(rl.snapshot()).toMatchObject({ per_minute: null, requests_in_window: 4, max_in_any_window: 4 });
    rl.setLimit(2);
    // 4 in the window (sent 4, 3, 2 and 1 s ago): a slot frees when 3 have left, i.e. the one sent 2 s ago, in 58 s
    expect(rl.take()).toEqual({ allowed: false, limit: 2, retryAfterSeconds: 58 });
    advance(60_000);
    expect(rl.snapshot().requests_in_window).toBe(0);
    expect(rl.take()).toEqual({ allowed: true, limit: 2, remaining: 1 });
    rl.reset(7);
    expect(rl.snapshot()).toEqual({ per_minute: 7, answered_429: 0, requests_in_window: 0, max_in_any_window: 0 });
  });
});
