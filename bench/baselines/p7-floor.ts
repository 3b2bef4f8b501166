// P7 floor: the least an agent's synchronous call through any pipeline of ours needs, as bare code in two processes
// (ROLE=accept, ROLE=worker), to set ours against (bench/README.md):
// - accept: an HTTP request; a durable INSERT of the execution (a synchronous commit, as a 2xx promises); a queue hop
//   (LPUSH to a Redis list); then the request waits for the execution's end on a channel of its own (subscribed
//   while the INSERT runs) and answers 200 with the result;
// - worker: takes the execution from the list (BRPOP), calls Composio (the emulator, over fetch), stores the outcome
//   durably (an UPDATE, a synchronous commit: what the 200 tells the caller is on disk) and PUBLISHes it.
// No authentication, validation, policy, fair share, retries, stall detection, at-most-once mark, audit or feed event.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createRedis } from "@kronos/shared";
import pg from "pg";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const prefix = env.REDIS_KEY_PREFIX ?? "benchfloor";
const list = `${prefix}:p7-floor`;
const channel = (id: string) => `${prefix}:p7-floor:${id}`;
const table = required("FLOOR_TABLE");
const pool = new pg.Pool({ connectionString: required("DATABASE_URL"), max: 10 });
const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";

function health(handle?: (request: import("node:http").IncomingMessage, response: import("node:http").ServerResponse) => void) {
  createServer((request, response) => {
    if (request.url === "/health") response.writeHead(200).end();
    else if (handle) handle(request, response);
    else response.writeHead(404).end();
  }).listen(Number(required("PORT")), "127.0.0.1");
}

if (env.ROLE === "worker") {
  const executeUrl = `${required("EMULATOR_URL")}/api/v3/tools/execute/${required("TOOL")}`;
  const headers = { "x-api-key": required("COMPOSIO_API_KEY"), "content-type": "application/json" };
  const body = JSON.stringify({ arguments: {}, connected_account_id: required("CONNECTED_ACCOUNT_ID"), user_id: required("USER_ID") });
  const publisher = createRedis(redisUrl);
  const run = async (id: string) => {
    const response = await fetch(executeUrl, { method: "POST", headers, body });
    const result = await response.text();
    await pool.query({
      name: "p7-floor-outcome",
      text: `UPDATE ${table} SET status = $2, result = $3::jsonb WHERE id = $1`,
      values: [id, response.ok ? "SUCCEEDED" : "FAILED", result],
    });
    await publisher.publish(channel(id), result);
  };
  // As many takers as our worker runs executions at once (EXECUTION_CONCURRENCY's default).
  for (let i = 0; i < Number(env.CONCURRENCY ?? 10); i++) {
    const reader = createRedis(redisUrl);
    void (async () => {
      for (;;) {
        const popped = (await reader.brpop(list, 1)) as [string, string] | null;
        if (popped) await run(popped[1]).catch(() => {});
      }
    })();
  }
  health();
} else {
  const queue = createRedis(redisUrl);
  const subscriber = createRedis(redisUrl);
  const waiting = new Map<string, (message: string) => void>();
  subscriber.on("message", (name: string, message: string) => waiting.get(name)?.(message));
  health((request, response) => {
    request.resume();
    request.on("end", async () => {
      const id = randomUUID();
      const name = channel(id);
      const ended = new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 10_000);
        waiting.set(name, (message) => {
          clearTimeout(timer);
          resolve(message);
        });
      });
      try {
        await Promise.all([
          subscriber.subscribe(name),
          pool.query({ name: "p7-floor-accept", text: `INSERT INTO ${table} (id, status) VALUES ($1, 'QUEUED')`, values: [id] }),
        ]);
        await queue.lpush(list, id);
        const result = await ended;
        response.writeHead(result === null ? 202 : 200, { "content-type": "application/json" }).end(result ?? "{}");
      } catch {
        response.writeHead(503).end();
      } finally {
        waiting.delete(name);
        void subscriber.unsubscribe(name).catch(() => {});
      }
    });
  });
}
