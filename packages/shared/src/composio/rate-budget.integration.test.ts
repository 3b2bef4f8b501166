import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis } from "../redis.js";
import type { ComposioPort } from "./port.js";
import { RateBudget, withRateBudget } from "./rate-budget.js";

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
afterAll(() => redis.quit());

describe("RateBudget (real Redis)", () => {
  it("lets `max` requests through at once across processes sharing the key, and holds the next until the window slides", async () => {
    const key = `test:budget:${randomUUID()}`;
    // Two budgets on one key stand for two worker processes.
    const budgets = [new RateBudget(redis, key, 5, 2_000), new RateBudget(redis, key, 5, 2_000)];
    let granted = 0;
    const all = Array.from({ length: 6 }, (_, i) => budgets[i % 2]!.acquire().then(() => granted++));
    while (granted < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(granted).toBe(5);
    expect(await redis.zcard(key)).toBe(5);
    await Promise.all(all);
    expect(granted).toBe(6);
    await redis.del(key);
  });

  it("a slot reserved ahead (reserveCall) is the next call's: the call counts once; one nobody takes stays counted", async () => {
    const key = `test:budget:${randomUUID()}`;
    let calls = 0;
    const port = withRateBudget(
      {
        executeTool: async () => {
          calls += 1;
          return { data: null, error: null, successful: true, logId: null };
        },
      } as unknown as ComposioPort,
      new RateBudget(redis, key, 100, 60_000),
    );
    port.reserveCall?.();
    await port.executeTool({ toolSlug: "T", arguments: {} });
    expect(calls).toBe(1);
    expect(await redis.zcard(key)).toBe(1);
    // Reserved, not used: counted anyway (the budget errs on the safe side), and not taken by a call a second later.
    port.reserveCall?.();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await port.executeTool({ toolSlug: "T", arguments: {} });
    expect(await redis.zcard(key)).toBe(3);
    await redis.del(key);
  });
});
