// P1/P2 baseline: a bare BullMQ worker with a no-op processor on the tool-execution queue, at the given concurrency.
import { createRedis, QUEUES } from "@kronos/shared";
import { bullmq } from "../lib/deps.ts";

const env = process.env;
const worker = new bullmq.Worker(QUEUES.toolExecution, async () => ({ ok: true }), {
  connection: createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379"),
  prefix: env.REDIS_KEY_PREFIX ?? "benchbase",
  concurrency: Number(env.WORKER_CONCURRENCY ?? 10),
});
await worker.waitUntilReady();
process.stdout.write("bare worker ready\n");
process.on("SIGTERM", async () => {
  await worker.close();
  process.exit(0);
});
