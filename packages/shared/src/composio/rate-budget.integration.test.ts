import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis } from "../redis.js";
import { RateBudget } from "./rate-budget.js";

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
});
