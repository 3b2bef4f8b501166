import { randomBytes } from "node:crypto";
import type { Redis } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testRedis } from "@kronos/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueEventsOnDemand } from "./queue-events-on-demand.js";

const prefix = `test-qeod-${randomBytes(4).toString("hex")}`;
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = testRedis(testConfig());
  queue = new Queue("on-demand", { connection: redis, prefix });
});

afterAll(async () => {
  await queue.close();
  await deleteRedisPrefix(redis, prefix);
  await redis.quit();
});

describe("QueueEventsOnDemand", () => {
  it("reads nothing until a request waits, then sees a job added right away, and stops after the idle delay", async () => {
    const errors: Error[] = [];
    const onDemand = new QueueEventsOnDemand(queue, redis, (error) => errors.push(error), 50);
    await queue.add("before", {}, { jobId: "before" });
    expect(onDemand.running).toBe(false);

    // The job is added as soon as the reader exists, before its first XREAD could have reached Redis.
    const seen = await onDemand.use(
      (events) =>
        new Promise<string>((resolve) => {
          events.on("added", ({ jobId }) => resolve(jobId));
          void queue.add("during", {}, { jobId: "during" });
        }),
    );
    expect(seen).toBe("during");
    expect(onDemand.running).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(onDemand.running).toBe(false);
    expect(errors).toEqual([]);
    await onDemand.close();
  });

  it("stays open while another request still waits", async () => {
    const onDemand = new QueueEventsOnDemand(queue, redis, () => {}, 30);
    let release = () => {};
    const long = onDemand.use(() => new Promise<void>((resolve) => (release = resolve)));
    await onDemand.use(async () => {});
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(onDemand.running).toBe(true);
    release();
    await long;
    await onDemand.close();
    expect(onDemand.running).toBe(false);
  });
});
