// P1 baseline: a bare Fastify route that only does what our route's enqueue does (the same queue.add, same job
// name, data shape and options) and answers 202. No auth, no validation, no logging.
// With FLOOR_TABLE set, P1's floor: the same route that first stores the job durably (one INSERT, a synchronous
// commit, on a pool of 10), as any design that promises not to lose what it answered 202 for must.
import { randomUUID } from "node:crypto";
import { createRedis, DEFAULT_JOB_OPTIONS, JOBS, QUEUES } from "@kronos/shared";
import pg from "pg";
import { bullmq, Fastify } from "../lib/deps.ts";

const env = process.env;
const redis = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");
const queue = new bullmq.Queue(QUEUES.toolExecution, {
  connection: redis,
  prefix: env.REDIS_KEY_PREFIX ?? "benchbase",
  defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } },
});
const floorTable = env.FLOOR_TABLE;
const pool = floorTable ? new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 }) : null;
const app = Fastify({ logger: false });
app.post("/execute", async (request, reply) => {
  const body = request.body as { user_id: string; action_name: string; params?: Record<string, unknown> };
  const executionId = randomUUID();
  if (pool) {
    await pool.query({
      name: "p1-floor-accept",
      text: `INSERT INTO ${floorTable} (id, data) VALUES ($1, $2::jsonb)`,
      values: [executionId, JSON.stringify(body)],
    });
  }
  await queue.add(
    JOBS.executeTool,
    {
      executionId,
      tenantId: "00000000-0000-4000-8000-000000000000",
      userId: body.user_id,
      toolSlug: body.action_name,
      arguments: body.params ?? {},
      actor: "api_key:bench",
    },
    { jobId: executionId, attempts: 5 },
  );
  return reply.status(202).send({ execution_id: executionId, status: "QUEUED", poll_url: `/api/v1/composio/executions/${executionId}` });
});
app.get("/health", async () => ({ status: "ok" }));
await app.listen({ host: "127.0.0.1", port: Number(env.PORT) });
process.on("SIGTERM", async () => {
  await app.close();
  await queue.close();
  await pool?.end();
  redis.disconnect();
  process.exit(0);
});
