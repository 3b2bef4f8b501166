// The system under fault: its own redis-server on a spare port, a TCP proxy in front of Postgres, and the emulator,
// worker, gateway and webhooks service as separate processes (each can be killed and started again).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort, TcpProxy } from "@kronos/testing";
import pg from "pg";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ENTRIES = {
  emulator: "packages/composio-emulator/dist/main.js",
  worker: "services/worker/dist/main.js",
  gateway: "services/gateway/dist/main.js",
  webhooks: "services/webhooks/dist/main.js",
} as const;
export type ServiceName = keyof typeof ENTRIES;

export interface FaultSystem {
  env: Record<string, string>;
  url(service: ServiceName): string;
  pgProxy: TcpProxy;
  db: pg.Pool;
  start(service: ServiceName): Promise<void>;
  kill(service: ServiceName, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  redisStop(keepData: boolean): Promise<void>;
  redisStart(): Promise<void>;
  redisCli(...args: string[]): string;
  signWebhook(id: string, body: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startFaultSystem(log: (line: string) => void): Promise<FaultSystem> {
  const dir = join(tmpdir(), `kronos-faults-${randomBytes(4).toString("hex")}`);
  mkdirSync(join(dir, "redis"), { recursive: true });
  const [redisPort, gateway, webhooks, worker, emulator] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/kronos_faults";
  const { proxy: pgProxy, url: proxied } = TcpProxy.forUrl(databaseUrl);
  const pgPort = await pgProxy.start();

  let redis: ChildProcess | undefined;
  const redisStart = async () => {
    redis = spawn(
      "redis-server",
      ["--port", String(redisPort), "--dir", join(dir, "redis"), "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--save", ""],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (
        spawnSync("redis-cli", ["-p", String(redisPort), "ping"])
          .stdout?.toString()
          .includes("PONG")
      )
        return;
      await sleep(50);
    }
    throw new Error("redis-server did not start");
  };
  const redisCli = (...args: string[]) => spawnSync("redis-cli", ["-p", String(redisPort), ...args]).stdout?.toString() ?? "";
  const redisStop = async (keepData: boolean) => {
    const proc = redis;
    const exited = new Promise((resolve) => proc?.once("exit", resolve));
    if (keepData) redisCli("shutdown", "save");
    else proc?.kill("SIGKILL");
    await exited;
    if (!keepData) {
      rmSync(join(dir, "redis"), { recursive: true, force: true });
      mkdirSync(join(dir, "redis"), { recursive: true });
    }
  };
  await redisStart();

  const webhookSecret = randomBytes(24).toString("base64url");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    NODE_ENV: "production",
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? "warn",
    DATABASE_URL: proxied(pgPort),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_KEY_PREFIX: `faults${randomBytes(3).toString("hex")}`,
    ADMIN_TOKEN: randomBytes(18).toString("base64url"),
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    COMPOSIO_API_KEY: `emu_${randomBytes(8).toString("hex")}`,
    COMPOSIO_BASE_URL: `http://127.0.0.1:${emulator}`,
    COMPOSIO_WEBHOOK_SECRET: webhookSecret,
    EMULATOR_WEBHOOK_URL: `http://127.0.0.1:${webhooks}/webhooks/composio`,
    GATEWAY_PORT: String(gateway),
    WEBHOOKS_PORT: String(webhooks),
    WORKER_PORT: String(worker),
    EMULATOR_PORT: String(emulator),
    PUBLIC_GATEWAY_URL: `http://127.0.0.1:${gateway}`,
    CONNECT_WAIT_MS: "0",
    STATUS_POLL_INITIAL_DELAY_MS: "500",
    STATUS_POLL_MAX_DELAY_MS: "2000",
    SWEEP_INTERVAL_SECONDS: "2",
    SWEEP_GRACE_MS: "1000",
    RECONCILE_INTERVAL_SECONDS: "0",
    TRIGGER_RECONCILE_INTERVAL_SECONDS: "0",
  };
  const ports: Record<ServiceName, number> = { emulator, worker, gateway, webhooks };
  const health: Record<ServiceName, string> = {
    emulator: `http://127.0.0.1:${emulator}/_emulator/health`,
    worker: `http://127.0.0.1:${worker}/health`,
    gateway: `http://127.0.0.1:${gateway}/health`,
    webhooks: `http://127.0.0.1:${webhooks}/health`,
  };
  const children = new Map<ServiceName, ChildProcess>();
  const start = async (service: ServiceName) => {
    const out = createWriteStream(join(dir, `${service}.log`), { flags: "a" });
    const child = spawn(process.execPath, [ENTRIES[service]], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.set(service, child);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${service} exited (${child.exitCode}) at start; see ${join(dir, `${service}.log`)}`);
      try {
        if ((await fetch(health[service], { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not yet
      }
      await sleep(100);
    }
    throw new Error(`${service} did not become healthy`);
  };
  const kill = async (service: ServiceName, signal: NodeJS.Signals) => {
    const child = children.get(service);
    if (!child || child.exitCode !== null) return { code: child?.exitCode ?? null, ms: 0 };
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    const code = await Promise.race([exited, sleep(90_000).then(() => -1)]);
    if (code === -1) child.kill("SIGKILL");
    return { code, ms: Date.now() - started };
  };
  for (const service of ["emulator", "worker", "gateway", "webhooks"] as const) await start(service);
  log(`system up (logs in ${dir})`);

  const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  return {
    env,
    url: (service) => `http://127.0.0.1:${ports[service]}`,
    pgProxy,
    db,
    start,
    kill,
    redisStop,
    redisStart,
    redisCli,
    signWebhook(id, body) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const mac = createHmac("sha256", Buffer.from(webhookSecret, "utf8")).update(`${id}.${timestamp}.${body}`).digest("base64");
      return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${mac}`, "content-type": "application/json" };
    },
    async stop() {
      for (const service of ["gateway", "webhooks", "worker", "emulator"] as const) await kill(service, "SIGKILL");
      await pgProxy.close();
      await redisStop(false).catch(() => undefined);
      await db.end();
    },
  };
}
