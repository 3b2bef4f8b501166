// Kronos Connect as the run command starts it, but one process per service so that each has its own pid (RSS and
// CPU from /proc): the Composio emulator, the worker, the gateway and the webhooks service, each from its dist, on
// free ports, with a Redis key prefix of its own.
import { randomBytes } from "node:crypto";
import { createRedis, signUserToken } from "@kronos/shared";
import pg from "pg";
import WebSocket from "ws";
import { freePort, type Proc, sleep, startProc } from "./proc.ts";

export const SERVICES = ["gateway", "worker", "webhooks"] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface BenchSettings {
  databaseUrl: string;
  redisUrl: string;
  logLevel: string;
  /** Extra node flags for every service (BENCH_NODE_ARGS, space-separated), e.g. to try a GC setting. */
  nodeArgs: string[];
}

/** DATABASE_URL, REDIS_URL, and BENCH_LOG_LEVEL (the services' LOG_LEVEL; default warn, see bench/README.md). */
export function settingsFromEnv(env: Record<string, string | undefined> = process.env): BenchSettings {
  return {
    databaseUrl: env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/kronos_bench",
    redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
    logLevel: env.BENCH_LOG_LEVEL ?? "warn",
    nodeArgs: (env.BENCH_NODE_ARGS ?? "").split(" ").filter((arg) => arg.length > 0),
  };
}

export interface SystemOptions {
  /** Extra environment for every service and the emulator. */
  env?: Record<string, string>;
  /** Extra environment for the worker only (WORKER_CONCURRENCY, COMPOSIO_REQUESTS_PER_MINUTE). */
  workerEnv?: Record<string, string>;
  /** Start these services with `node --cpu-prof` (profiles written to profileDir on exit). */
  profile?: ServiceName[];
  profileDir?: string;
  /** Which services to start (default all three; the emulator always). */
  services?: ServiceName[];
  /** Extra node flags for every service (e.g. --trace-gc while looking into a tail latency). */
  nodeArgs?: string[];
  /** Start the services with the inspector on a loopback port, so that `collectGarbage` can run a full GC in them. */
  inspect?: boolean;
}

export interface System {
  env: Record<string, string>;
  prefix: string;
  gatewayUrl: string;
  webhooksUrl: string;
  emulatorUrl: string;
  adminToken: string;
  sessionSecret: string;
  webhookSecret: string;
  procs: Partial<Record<ServiceName | "emulator", Proc>>;
  /** The three services that are running, for RSS/CPU. */
  services(): Proc[];
  restartWorker(workerEnv: Record<string, string>, profile?: boolean): Promise<void>;
  /** A full garbage collection in every running service (only with `inspect`), e.g. before reading its RSS. */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

const ENTRIES: Record<ServiceName | "emulator", string> = {
  emulator: "packages/composio-emulator/dist/main.js",
  gateway: "services/gateway/dist/main.js",
  worker: "services/worker/dist/main.js",
  webhooks: "services/webhooks/dist/main.js",
};

export async function startSystem(settings: BenchSettings, options: SystemOptions = {}): Promise<System> {
  const ports = { gateway: await freePort(), webhooks: await freePort(), worker: await freePort(), emulator: await freePort() };
  const prefix = `bench${randomBytes(4).toString("hex")}`;
  const adminToken = randomBytes(18).toString("base64url");
  const sessionSecret = randomBytes(32).toString("base64url");
  const webhookSecret = randomBytes(24).toString("base64url");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    NODE_ENV: "production",
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: settings.logLevel,
    ADMIN_TOKEN: adminToken,
    SESSION_SECRET: sessionSecret,
    COMPOSIO_API_KEY: `emu_${randomBytes(16).toString("hex")}`,
    COMPOSIO_BASE_URL: `http://127.0.0.1:${ports.emulator}`,
    COMPOSIO_WEBHOOK_SECRET: webhookSecret,
    GATEWAY_PORT: String(ports.gateway),
    WEBHOOKS_PORT: String(ports.webhooks),
    WORKER_PORT: String(ports.worker),
    EMULATOR_PORT: String(ports.emulator),
    PUBLIC_GATEWAY_URL: `http://127.0.0.1:${ports.gateway}`,
    STATUS_POLL_INITIAL_DELAY_MS: "200",
    STATUS_POLL_MAX_DELAY_MS: "1000",
    RECONCILE_INTERVAL_SECONDS: "0",
    TRIGGER_RECONCILE_INTERVAL_SECONDS: "0",
    // The request limits stay on (their Redis counting is part of every request's cost) but high enough that a
    // load generator holding one key is never refused: the scenarios measure speed, not the limits.
    RATE_LIMIT_API_KEY_PER_MINUTE: "1000000000",
    RATE_LIMIT_USER_PER_MINUTE: "1000000000",
    RATE_LIMIT_IP_PER_MINUTE: "1000000000",
    // The same for the feed's socket caps (counted in Redis across instances): P4 holds 10,000 sockets on one key.
    WS_MAX_SOCKETS_PER_API_KEY: "1000000",
    WS_MAX_SOCKETS_PER_USER: "1000000",
    ...options.env,
  };
  const wanted = options.services ?? [...SERVICES];
  const procs: System["procs"] = {};
  const inspectPorts: Partial<Record<ServiceName, number>> = {};
  if (options.inspect) for (const name of SERVICES) inspectPorts[name] = await freePort();
  const nodeArgs = (name: ServiceName, profile: boolean) => [
    ...(profile
      ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir ?? "bench/profiles"}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
      : []),
    ...(inspectPorts[name] ? [`--inspect=127.0.0.1:${inspectPorts[name]}`] : []),
    ...settings.nodeArgs,
    ...(options.nodeArgs ?? []),
  ];
  const health = (name: ServiceName) => `http://127.0.0.1:${ports[name]}/health`;
  const start = (name: ServiceName, extra: Record<string, string> = {}, profile = options.profile?.includes(name) ?? false) =>
    startProc(name, ENTRIES[name], { env: { ...env, ...extra }, ready: { url: health(name) }, nodeArgs: nodeArgs(name, profile) });

  const system: System = {
    env,
    prefix,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    webhooksUrl: `http://127.0.0.1:${ports.webhooks}`,
    emulatorUrl: `http://127.0.0.1:${ports.emulator}`,
    adminToken,
    sessionSecret,
    webhookSecret,
    procs,
    services: () => SERVICES.map((s) => procs[s]).filter((p): p is Proc => p !== undefined),
    async restartWorker(workerEnv, profile = false) {
      await procs.worker?.stop();
      procs.worker = await start("worker", workerEnv, profile);
    },
    async collectGarbage() {
      await Promise.all(SERVICES.filter((name) => procs[name] && inspectPorts[name]).map((name) => fullGc(inspectPorts[name] as number)));
    },
    async stop() {
      await Promise.all(SERVICES.map((s) => procs[s]?.stop()));
      await procs.emulator?.stop();
      await deleteKeys(settings.redisUrl, prefix);
    },
  };
  try {
    procs.emulator = await startProc("emulator", ENTRIES.emulator, { env, ready: { url: `${system.emulatorUrl}/_emulator/health` } });
    const started = await Promise.all(wanted.map((name) => start(name, name === "worker" ? (options.workerEnv ?? {}) : {})));
    wanted.forEach((name, i) => {
      procs[name] = started[i];
    });
  } catch (error) {
    await system.stop();
    throw error;
  }
  return system;
}

/** Asks a process's inspector (on a loopback port) for a full garbage collection, and waits until it is done. */
async function fullGc(port: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (raw) => {
        if ((JSON.parse(String(raw)) as { id?: number }).id === 1) resolve();
      });
      socket.once("error", reject);
      socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
    });
  } finally {
    socket.close();
  }
}

/** Removes every Redis key under a prefix (queues, streams, budgets), so runs do not pile up data. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Empties the benchmark database's tables (only when its name says it is a benchmark database). */
export async function resetBenchDatabase(databaseUrl: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name.includes("bench")) return false;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public' and tablename <> '_prisma_migrations'",
    );
    if (rows.length > 0) await client.query(`truncate ${rows.map((r) => `"${r.tablename}"`).join(", ")} cascade`);
  } finally {
    await client.end();
  }
  return true;
}

export interface JsonResponse<T> {
  status: number;
  body: T;
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: body as T };
}

export interface Tenant {
  tenantId: string;
  apiKey: string;
}

export async function createTenant(system: System, name: string): Promise<Tenant> {
  const response = await api<{ tenant_id: string; api_key: string }>(system.gatewayUrl, "POST", "/api/v1/admin/tenants", {
    token: system.adminToken,
    body: { name },
  });
  if (response.status !== 201) throw new Error(`creating a tenant answered ${response.status}: ${JSON.stringify(response.body)}`);
  return { tenantId: response.body.tenant_id, apiKey: response.body.api_key };
}

/** A user token signed as the gateway's POST /api/v1/sessions does (same SESSION_SECRET). */
export function userToken(system: System, tenant: Tenant, userId: string): string {
  return signUserToken({ tenantId: tenant.tenantId, userId, exp: Math.floor(Date.now() / 1000) + 3600 }, system.sessionSecret);
}

/**
 * A real connection flow against the emulator, as the end-to-end test does: initiate, open the hosted link (the
 * emulator's consent step redirects to our callback), follow it, wait until the connection is ACTIVE.
 */
export async function connectAccount(
  system: System,
  tenant: Tenant,
  userId: string,
  toolkit = "github",
): Promise<{ connectionId: string; composioAccountId: string }> {
  const initiated = await api<{ connection_id: string; redirect_url?: string | null }>(
    system.gatewayUrl,
    "POST",
    "/api/v1/composio/connections/initiate-enhanced",
    { token: tenant.apiKey, body: { user_id: userId, app_name: toolkit } },
  );
  if (initiated.status !== 201 && initiated.status !== 202) {
    throw new Error(`initiate answered ${initiated.status}: ${JSON.stringify(initiated.body)}`);
  }
  const connectionId = initiated.body.connection_id;
  const view = (id: string) =>
    api<{ status: string; redirect_url: string | null; connected_account_id: string | null }>(
      system.gatewayUrl,
      "GET",
      `/api/v1/composio/connections/${id}`,
      { token: tenant.apiKey },
    );
  let redirectUrl = initiated.body.redirect_url ?? null;
  for (let i = 0; !redirectUrl && i < 200; i++) {
    await sleep(100);
    redirectUrl = (await view(connectionId)).body.redirect_url;
  }
  if (!redirectUrl) throw new Error("the connection never got a hosted link");
  const atComposio = await fetch(redirectUrl, { redirect: "manual" });
  const callback = atComposio.headers.get("location");
  if (atComposio.status !== 302 || !callback) throw new Error(`the hosted link answered ${atComposio.status}`);
  await fetch(callback, { redirect: "manual" });
  for (let i = 0; i < 300; i++) {
    const current = (await view(connectionId)).body;
    if (current.status === "ACTIVE" && current.connected_account_id)
      return { connectionId, composioAccountId: current.connected_account_id };
    await sleep(100);
  }
  throw new Error("the connection did not become ACTIVE");
}
