import { describe, expect, it } from "vitest";
import { BatchQueue } from "./batch-queue.js";

function recorder() {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return items.map((item) =>
      item < 0 ? { ok: false as const, error: new Error(`bad ${item}`) } : { ok: true as const, value: item * 2 },
    );
  };
  return { batches, run };
}

describe("BatchQueue", () => {
  it("sends the first item at once and the ones arriving meanwhile together, answering each its own result", async () => {
    const { batches, run } = recorder();
    const queue = new BatchQueue(run, 100, 1);
    const results = await Promise.allSettled([1, 2, -3, 4].map((item) => queue.push(item)));
    expect(batches).toEqual([[1], [2, -3, 4]]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : "rejected"))).toEqual([2, 4, "rejected", 8]);
  });

  it("with a linger, lets a trickle wait and leave as one batch, and a full batch leave at once", async () => {
    const { batches, run } = recorder();
    const queue = new BatchQueue(run, 3, 1, 1_000);
    const first = queue.push(1);
    // A later turn of the event loop, not a delay: a busy machine can stretch any delay past the linger.
    await new Promise((resolve) => setImmediate(resolve));
    const second = queue.push(2);
    expect(batches).toEqual([]);
    await Promise.all([first, second]);
    expect(batches).toEqual([[1, 2]]);

    await Promise.all([10, 11, 12].map((item) => queue.push(item)));
    expect(batches[1]).toEqual([10, 11, 12]);
  });

  it("rejects every item of a batch whose run failed", async () => {
    const queue = new BatchQueue<number, number>(async () => Promise.reject(new Error("down")), 10, 1);
    await expect(Promise.all([queue.push(1), queue.push(2)])).rejects.toThrow("down");
  });
});
