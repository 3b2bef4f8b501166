// P2 floor: a bare BullMQ worker whose job does the least the pipeline must do beyond the no-op baseline: call
// Composio (the emulator, over fetch like the Composio SDK), store the execution durably in Postgres (one INSERT),
// publish its completion on Redis. No HTTP accept, no socket, no retries, no audit: a lower bound of what one
// execution costs, to set ours against (bench/README.md).
import { createRedis, QUEUES } from "@kronos/shared";
import pg from "pg";
import { bullmq } from "../lib/deps.ts";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const executeUrl = `${required("EMULATOR_URL")}/api/v3/tools/execute/${required("TOOL")}`;
const apiKey = required("COMPOSIO_API_KEY");
const accountId = required("CONNECTED_ACCOUNT_ID");
const table = required("FLOOR_TABLE");
const channel = `${env.REDIS_KEY_PREFIX ?? "benchbase"}:floor-events`;
const concurrency = Number(env.WORKER_CONCURRENCY ?? 10);
const pool = new pg.Pool({ connectionString: required("DATABASE_URL"), max: concurrency });
const publisher = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");

const worker = new bullmq.Worker(
  QUEUES.toolExecution,
  async (job) => {
    const { executionId } = job.data as { executionId: string };
    const response = await fetch(executeUrl, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: JSON.stringify({ arguments: {}, connected_account_id: accountId }),
    });
    const result = (await response.json()) as { successful?: boolean };
    if (!response.ok || result.successful !== true) throw new Error(`Composio answered ${response.status}`);
    await pool.query(`INSERT INTO ${table} (id, status, result) VALUES ($1, 'SUCCEEDED', $2)`, [executionId, JSON.stringify(result)]);
    await publisher.publish(channel, JSON.stringify({ type: "execution.completed", data: { execution_id: executionId } }));
    return { ok: true };
  },
  { connection: createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379"), prefix: env.REDIS_KEY_PREFIX ?? "benchbase", concurrency },
);
await worker.waitUntilReady();
process.stdout.write("floor worker ready\n");
process.on("SIGTERM", async () => {
  await worker.close();
  await pool.end();
  publisher.disconnect();
  process.exit(0);
});
