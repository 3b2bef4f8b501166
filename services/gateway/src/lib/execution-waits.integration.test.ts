import { randomUUID } from "node:crypto";
import { EVENT_TYPES, EventBus, eventKeys, type Redis } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutionWaits } from "./execution-waits.js";

const config = testConfig();
const prefix = config.REDIS_KEY_PREFIX;
let redis: Redis;
let waits: ExecutionWaits;
let bus: EventBus;

beforeAll(() => {
  redis = testRedis(config);
  waits = new ExecutionWaits(redis, prefix);
  bus = new EventBus(redis, prefix, 100);
});
afterAll(async () => {
  await waits.close();
  await deleteRedisPrefix(redis, prefix);
  await redis.quit();
});

/** What the worker publishes once an execution's outcome is stored. */
const completed = (id: string, view?: string) =>
  bus.publish(
    {
      type: EVENT_TYPES.executionCompleted,
      tenantId: randomUUID(),
      userId: "alice",
      data: { execution_id: id, user_id: "alice", tool: "T", status: "SUCCEEDED", error: null, duration_ms: 1, log_id: null },
    },
    view === undefined ? {} : { view },
  );
const listeners = async (id: string) => ((await redis.pubsub("NUMSUB", eventKeys(prefix).executionChanged(id))) as [string, number])[1];

describe("ExecutionWaits: how a request with ?wait= hears that its execution is final", () => {
  it("wakes the waiter with the view published with execution.completed, and only the waiter of that execution", async () => {
    const [mine, other] = [randomUUID(), randomUUID()];
    const watch = waits.watch(mine);
    const elsewhere = waits.watch(other);
    await Promise.all([watch.ready, elsewhere.ready]);
    const next = watch.next(10_000);
    await completed(mine, '{"status":"SUCCEEDED"}');
    expect(await next).toEqual({ view: '{"status":"SUCCEEDED"}' });
    expect(await elsewhere.next(50)).toBeUndefined();
    watch.close();
    elsewhere.close();
  });

  it("closing a watch ends its waiting next() at once (a caller that gave up leaves no timer behind)", async () => {
    const watch = waits.watch(randomUUID());
    await watch.ready;
    const next = watch.next(60_000);
    watch.close();
    expect(await next).toBeUndefined();
    expect(await watch.next(60_000)).toBeUndefined();
  });

  it("a message without a view (a final status set elsewhere, a large result) wakes it with view null: it reads the row", async () => {
    const id = randomUUID();
    const watch = waits.watch(id);
    await watch.ready;
    await completed(id);
    // Whether it arrived before next() was called (then it was kept) or after.
    expect(await watch.next(10_000)).toEqual({ view: null });
    watch.close();
  });

  it("subscribes once per execution while anyone waits, and unsubscribes when the last waiter leaves", async () => {
    const id = randomUUID();
    const [a, b] = [waits.watch(id), waits.watch(id)];
    await Promise.all([a.ready, b.ready]);
    expect(await listeners(id)).toBe(1);
    const both = Promise.all([a.next(10_000), b.next(10_000)]);
    await completed(id, "{}");
    expect(await both).toEqual([{ view: "{}" }, { view: "{}" }]);
    a.close();
    expect(await listeners(id)).toBe(1);
    b.close();
    await waitFor(async () => (await listeners(id)) === 0, { what: "the channel unsubscribed" });
  });

  it("after its connection drops, every waiter is woken without a view (a message may have been lost) and listens again", async () => {
    const id = randomUUID();
    const watch = waits.watch(id);
    await watch.ready;
    const woken = watch.next(20_000);
    const clients = (await redis.client("LIST")) as string;
    const line = clients.split("\n").find((l) => l.includes(`name=${prefix}:execution-waits `));
    const clientId = line?.match(/\bid=(\d+)/)?.[1];
    expect(clientId).toBeDefined();
    await redis.client("KILL", "ID", clientId as string);
    expect(await woken).toEqual({ view: null });
    // Subscribed again by itself: the next message arrives.
    await waitFor(async () => (await listeners(id)) === 1, { what: "the subscription back" });
    const next = watch.next(10_000);
    await completed(id, '{"again":true}');
    expect(await next).toEqual({ view: '{"again":true}' });
    watch.close();
  });
});
