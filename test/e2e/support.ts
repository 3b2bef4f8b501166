import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@kronos/testing";

import WebSocket from "ws";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface RunningSystem {
  gatewayUrl: string;
  webhooksUrl: string;
  workerUrl: string;
  emulatorUrl: string;
  adminToken: string;
  env: Record<string, string>;
  output: () => string;
  /** The process ids of start-all and of every service it started (read from /proc). */
  processIds(): number[];
  stop(): Promise<void>;
}

/** The ids of the live processes whose parent is `parentPid` (Linux /proc). */
function childProcessIds(parentPid: number): number[] {
  const ids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parentPid) ids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return ids;
}

/** Whether a process id is still alive (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Starts the system as the README's run command does after its set-up step (`node scripts/start-all.mjs`, which
 * needs the build): emulator, worker, gateway and webhooks as separate processes on free ports.
 */
export async function startSystem(extraEnv: Record<string, string> = {}): Promise<RunningSystem> {
  // A free port is only free until someone takes it: another process on a busy machine can bind one of ours between
  // our check and the service's listen. That start fails with EADDRINUSE; a start on other ports is tried then.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startSystemOnce(extraEnv);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
}

async function startSystemOnce(extraEnv: Record<string, string>): Promise<RunningSystem> {
  // Four distinct ports: freePort can hand the same one out twice, and a gateway that lost its port to the emulator
  // looked healthy (the emulator answers /health too) while every API call got the emulator's 404.
  // A port the caller chose (in extraEnv) is kept, and none of the others may take it.
  const chosen = (name: string) => (extraEnv[name] ? Number(extraEnv[name]) : undefined);
  const reserved = new Set(["GATEWAY_PORT", "WEBHOOKS_PORT", "WORKER_PORT", "EMULATOR_PORT"].flatMap((name) => chosen(name) ?? []));
  const ports = new Set<number>();
  while (ports.size < 4) {
    const port = await freePort();
    if (!reserved.has(port)) ports.add(port);
  }
  const [freeGateway, freeWebhooks, freeWorker, freeEmulator] = [...ports] as [number, number, number, number];
  const gateway = chosen("GATEWAY_PORT") ?? freeGateway;
  const webhooks = chosen("WEBHOOKS_PORT") ?? freeWebhooks;
  const worker = chosen("WORKER_PORT") ?? freeWorker;
  const emulator = chosen("EMULATOR_PORT") ?? freeEmulator;
  const adminToken = randomBytes(18).toString("base64url");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    DATABASE_URL: process.env.DATABASE_URL ?? "",
    REDIS_URL: process.env.REDIS_URL ?? "",
    REDIS_KEY_PREFIX: `e2e${randomBytes(4).toString("hex")}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ADMIN_TOKEN: adminToken,
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    GATEWAY_PORT: String(gateway),
    WEBHOOKS_PORT: String(webhooks),
    WORKER_PORT: String(worker),
    EMULATOR_PORT: String(emulator),
    PUBLIC_GATEWAY_URL: `http://127.0.0.1:${gateway}`,
    STATUS_POLL_INITIAL_DELAY_MS: "200",
    STATUS_POLL_MAX_DELAY_MS: "1000",
    // Test files share one database: a reconciliation run would read every file's connections at this emulator.
    RECONCILE_INTERVAL_SECONDS: "0",
    TRIGGER_RECONCILE_INTERVAL_SECONDS: "0",
    // The same for the sweeper (test/e2e/redis-data-loss.e2e.test.ts turns it on).
    SWEEP_INTERVAL_SECONDS: "0",
    ...extraEnv,
  };
  let output = "";
  const child: ChildProcess = spawn(process.execPath, ["scripts/start-all.mjs"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const system: RunningSystem = {
    gatewayUrl: `http://127.0.0.1:${gateway}`,
    webhooksUrl: `http://127.0.0.1:${webhooks}`,
    workerUrl: `http://127.0.0.1:${worker}`,
    emulatorUrl: `http://127.0.0.1:${emulator}`,
    adminToken,
    env,
    output: () => output,
    processIds: () => (child.pid === undefined ? [] : [child.pid, ...childProcessIds(child.pid)]),
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
  try {
    await waitFor(() => output.includes("Kronos Connect is running") || (child.exitCode !== null && Promise.reject(new Error("exited"))), {
      timeoutMs: 60_000,
      what: "the system to start",
    });
  } catch (error) {
    await system.stop();
    throw new Error(`The system did not start: ${String(error)}\n--- output ---\n${output.slice(-4000)}`);
  }
  return system;
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.rawBody !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

export interface FeedMessage {
  type: string;
  id?: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface FeedClient {
  messages: FeedMessage[];
  /** Resolves with the close code the client saw (1006 when the socket dropped without a close frame). */
  closed: Promise<number>;
  close(): void;
}

/** Opens a WebSocket on the feed and records every message; `since` resumes after that event id. */
export async function openFeed(webhooksUrl: string, auth: { token?: string; apiKey?: string; since?: string }): Promise<FeedClient> {
  const url = new URL("/ws", webhooksUrl.replace(/^http/, "ws"));
  if (auth.token) url.searchParams.set("token", auth.token);
  if (auth.since) url.searchParams.set("since", auth.since);
  const socket = new WebSocket(url, auth.apiKey ? { headers: { authorization: `Bearer ${auth.apiKey}` } } : {});
  const messages: FeedMessage[] = [];
  socket.on("message", (raw) => {
    messages.push(JSON.parse(String(raw)));
  });
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`WebSocket refused: HTTP ${response.statusCode}`)));
  });
  return { messages, closed, close: () => socket.close() };
}

export function statusEvents(feed: FeedClient, connectionId: string): string[] {
  return feed.messages
    .filter((m) => m.type === "connection.status" && m.data?.connection_id === connectionId)
    .map((m) => String(m.data?.status));
}

/** The feed's events (messages with an id) of a type, optionally matching a predicate on their data. */
export function eventsOf(feed: FeedClient, type: string, match: (data: Record<string, unknown>) => boolean = () => true): FeedMessage[] {
  return feed.messages.filter((m) => m.type === type && m.id !== undefined && match(m.data ?? {}));
}

/** Waits until the feed holds an event of that type matching the predicate, and returns it. */
export function waitForEvent(
  feed: FeedClient,
  type: string,
  match: (data: Record<string, unknown>) => boolean = () => true,
  what = `a ${type} event`,
): Promise<FeedMessage> {
  return waitFor(() => eventsOf(feed, type, match)[0], { what });
}
