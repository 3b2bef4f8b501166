// P3/P4 baseline: a bare WebSocket server fed by Redis pub/sub. Sockets connect to /ws?user=<id>; a message
// "<user> <payload>" on the channel is sent to that user's sockets, "* <payload>" to every socket.
import { createServer } from "node:http";
import { createRedis } from "@kronos/shared";
import type { WebSocket } from "ws";
import { WebSocketServer } from "ws";

const env = process.env;
const channel = `${env.REDIS_KEY_PREFIX ?? "benchbase"}:events`;
const byUser = new Map<string, Set<WebSocket>>();
const all = new Set<WebSocket>();

const server = createServer((request, response) => {
  response.writeHead(request.url === "/health" ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, path: "/ws" });
wss.on("connection", (socket, request) => {
  const user = new URL(request.url ?? "/", "http://x").searchParams.get("user") ?? "";
  let set = byUser.get(user);
  if (!set) {
    set = new Set();
    byUser.set(user, set);
  }
  set.add(socket);
  all.add(socket);
  socket.on("close", () => {
    set.delete(socket);
    all.delete(socket);
  });
});

const subscriber = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");
subscriber.on("message", (_channel: string, message: string) => {
  const space = message.indexOf(" ");
  const user = message.slice(0, space);
  const payload = message.slice(space + 1);
  const targets = user === "*" ? all : byUser.get(user);
  if (!targets) return;
  for (const socket of targets) socket.send(payload);
});
await subscriber.subscribe(channel);
server.listen(Number(env.PORT), "127.0.0.1");
process.on("SIGTERM", () => {
  for (const socket of all) socket.terminate();
  server.close();
  subscriber.disconnect();
  process.exit(0);
});
