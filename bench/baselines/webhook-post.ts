// P9 baseline: a bare webhook sender. Each message on the Redis channel is POSTed as it is to TARGET_URL, over
// kept-alive connections: no storage, no queue, no signature, no retry.

import { createServer } from "node:http";
import { createRedis } from "@kronos/shared";
import { post } from "../lib/load.ts";

const env = process.env;
const channel = `${env.REDIS_KEY_PREFIX ?? "benchbase"}:events`;
const target = env.TARGET_URL ?? "http://127.0.0.1:9/";
const subscriber = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");
await subscriber.subscribe(channel);
subscriber.on("message", (_channel: string, message: string) => {
  void post(target, { "content-type": "application/json" }, message).catch(() => {});
});
createServer((request, response) => {
  response.writeHead(request.url === "/health" ? 200 : 404).end();
}).listen(Number(env.PORT), "127.0.0.1");
