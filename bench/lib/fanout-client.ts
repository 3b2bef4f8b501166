// A socket holder for P4, run as a child process (each process may hold ~20,000 descriptors, so ours and the
// baseline each get their own): opens N sockets to one server, publishes one tenant-wide event on command and
// reports every socket's latency from just before the publish to the message. Commands arrive over IPC.
import { randomBytes } from "node:crypto";
import { createRedis, EVENT_TYPES, EventBus } from "@kronos/shared";
import type WebSocket from "ws";
import { closeSockets, openSocket, type SocketSpec } from "./sockets.ts";

const env = process.env;
const mode = env.FANOUT_MODE as "ours" | "baseline";
const redis = createRedis(env.REDIS_URL ?? "redis://127.0.0.1:6379");
const bus = new EventBus(redis, env.REDIS_KEY_PREFIX ?? "", 10_000);
const sockets: WebSocket[] = [];
let waiting: { marker: string; t0: number; latencies: number[]; done: () => void } | null = null;

const onMessage = (data: string, at: number) => {
  if (waiting && data.includes(waiting.marker)) {
    waiting.latencies.push(at - waiting.t0);
    if (waiting.latencies.length === sockets.length) waiting.done();
  }
};

async function open(total: number): Promise<void> {
  const spec: SocketSpec = { url: env.FANOUT_URL ?? "", headers: env.FANOUT_AUTH ? { authorization: env.FANOUT_AUTH } : {} };
  let next = sockets.length;
  const lane = async () => {
    while (next < total) {
      next += 1;
      sockets.push(await openSocket(spec, onMessage));
    }
  };
  await Promise.all(Array.from({ length: 100 }, lane));
}

async function fire(timeoutMs: number): Promise<{ latencies: number[]; missing: number }> {
  const marker = `fan_${randomBytes(6).toString("hex")}`;
  const latencies: number[] = [];
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    waiting = {
      marker,
      t0: 0,
      latencies,
      done: () => {
        clearTimeout(timer);
        resolve();
      },
    };
  });
  const w = waiting as unknown as { t0: number };
  w.t0 = performance.now();
  if (mode === "ours") {
    await bus.publish({
      type: EVENT_TYPES.bulkCompleted,
      tenantId: env.FANOUT_TENANT ?? "",
      userId: null,
      data: { bench: marker },
    } as never);
  } else {
    await redis.publish(`${env.REDIS_KEY_PREFIX}:events`, `* ${JSON.stringify({ type: "bulk.completed", data: { bench: marker } })}`);
  }
  await finished;
  waiting = null;
  return { latencies, missing: sockets.length - latencies.length };
}

process.on("message", (message: { cmd: string; total?: number; timeoutMs?: number }) => {
  const reply = (body: unknown) => process.send?.(body);
  if (message.cmd === "open") {
    const t0 = performance.now();
    open(message.total ?? 0).then(
      () => reply({ ok: true, open: sockets.length, ms: performance.now() - t0 }),
      (error: unknown) => reply({ ok: false, error: String(error), open: sockets.length }),
    );
  } else if (message.cmd === "fire") {
    fire(message.timeoutMs ?? 10_000).then((r) => reply({ ok: true, ...r }));
  } else if (message.cmd === "close") {
    closeSockets(sockets).then(() => {
      sockets.length = 0;
      redis.disconnect();
      reply({ ok: true });
      process.exit(0);
    });
  }
});
process.send?.({ ok: true, ready: true });
