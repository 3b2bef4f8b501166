import { createLogger, EventBus, QUEUE_CONTRACTS } from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testPrisma, testRedis } from "@kronos/testing";
import { afterAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { startWorkers, type WorkerDeps } from "../workers.js";
import { JOB_HANDLERS } from "./handlers.js";
import { checkRegistry } from "./registry.js";

const config = testConfig();
const prisma = testPrisma(config);
const redis = testRedis(config);

afterAll(async () => {
  await deleteRedisPrefix(redis, config.REDIS_KEY_PREFIX);
  await redis.quit();
  await prisma.$disconnect();
});

const deps = (handlers: WorkerDeps["handlers"]): WorkerDeps => ({
  config,
  prisma,
  composio: new FakeComposio(),
  bus: new EventBus(redis, config.REDIS_KEY_PREFIX, 100),
  logger: createLogger("worker-test", "silent"),
  connection: () => testRedis(config),
  handlers,
});

describe("the job registry", () => {
  it("has exactly one handler per queue contract", () => {
    expect(Object.keys(JOB_HANDLERS).sort()).toEqual(Object.keys(QUEUE_CONTRACTS).sort());
    expect(() => checkRegistry(JOB_HANDLERS)).not.toThrow();
  });

  it("refuses to start the worker when a queue has no handler, naming the queue", async () => {
    const { statusPoll: _missing, ...withoutStatusPoll } = JOB_HANDLERS;
    await expect(startWorkers(deps(withoutStatusPoll))).rejects.toThrow(/queue "connection-status-poll" \(statusPoll\) has no handler/);
  });

  it("refuses to start the worker when a handler has no queue, naming the handler", async () => {
    const extra = { ...JOB_HANDLERS, sendFax: JOB_HANDLERS.bulk } as WorkerDeps["handlers"];
    await expect(startWorkers(deps(extra))).rejects.toThrow(/handler "sendFax" has no queue/);
  });
});
