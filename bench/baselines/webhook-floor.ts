// P9 floor: a bare webhook deliverer doing the least the scenario needs once an event's delivery row is durably
// written: take the delivery from a queue (a Redis list: LPUSH by the publisher, BLMPOP here, the hop our lane
// makes too), sign it as Standard Webhooks do (HMAC-SHA256 of "id.timestamp.body"), POST it over kept-alive
// connections. No row read or update, no retry, no bound per endpoint, no address check: a lower bound of what
// delivering a stored event costs, to set ours against (bench/README.md).
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { createRedis } from "@kronos/shared";
import { post } from "../lib/load.ts";

const env = process.env;
const list = `${env.REDIS_KEY_PREFIX ?? "benchbase"}:floor-deliveries`;
const target = env.TARGET_URL ?? "http://127.0.0.1:9/";
const key = Buffer.from((env.SECRET ?? "whsec_").replace(/^whsec_/, ""), "base64");
const reader = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");

/** One delivery: "<event id> <body>". */
function deliver(item: string): void {
  const space = item.indexOf(" ");
  const id = item.slice(0, space);
  const body = item.slice(space + 1);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  const headers = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signature}`,
  };
  void post(target, headers, body).catch(() => {});
}

void (async () => {
  for (;;) {
    const popped = (await reader.blmpop(1, 1, list, "RIGHT", "COUNT", 100)) as [string, string[]] | null;
    for (const item of popped?.[1] ?? []) deliver(item);
  }
})();
createServer((request, response) => {
  response.writeHead(request.url === "/health" ? 200 : 404).end();
}).listen(Number(env.PORT), "127.0.0.1");
