// Starts the whole system from the built services: gateway, webhooks service and workers, plus the Composio
// emulator when no COMPOSIO_API_KEY is set (the offline default). Stops them all on SIGINT/SIGTERM, and all of
// them when one dies, so a half-running system never hides a crash.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

const env = { ...process.env };
env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/kronos";
env.REDIS_URL ??= "redis://127.0.0.1:6379";
const say = (line) => process.stderr.write(`[start] ${line}\n`);
const banner = (lines) => process.stderr.write(`\n${"=".repeat(78)}\n${lines.map((l) => `  ${l}`).join("\n")}\n${"=".repeat(78)}\n\n`);

const children = new Map();
let stopping = false;

function start(name, entry, extraEnv = {}) {
  const child = spawn(process.execPath, [entry], { env: { ...env, ...extraEnv }, stdio: ["ignore", "inherit", "inherit"] });
  children.set(name, child);
  child.on("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      stop(1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  // The services first, so that their in-flight jobs can still reach Composio; the emulator once they are gone.
  for (const [name, child] of children) if (name !== "emulator") child.kill("SIGTERM");
  const stopEmulatorWhenAlone = setInterval(() => {
    if (children.size === 1 && children.has("emulator")) {
      clearInterval(stopEmulatorWhenAlone);
      children.get("emulator")?.kill("SIGTERM");
    }
  }, 50);
  stopEmulatorWhenAlone.unref();
  if (children.size === 0) process.exit(code);
  // Each service stops within SHUTDOWN_TIMEOUT_MS on its own (it exits 1 past it); this is the last resort.
  const graceMs = Number(env.SHUTDOWN_TIMEOUT_MS || 45_000) + 5_000;
  setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
    process.exit(code);
  }, graceMs).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

async function waitForHealth(name, url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  say(`${name} did not become healthy at ${url} within ${timeoutMs} ms`);
  stop(1);
}

const notices = [];
if (!env.ADMIN_TOKEN) {
  env.ADMIN_TOKEN = randomBytes(24).toString("base64url");
  notices.push(`ADMIN_TOKEN was not set; generated one for this run (shown once): ${env.ADMIN_TOKEN}`);
}
if (!env.SESSION_SECRET) {
  env.SESSION_SECRET = randomBytes(32).toString("base64url");
  notices.push("SESSION_SECRET was not set; generated one for this run: user tokens stop working when it restarts.");
}

if (!env.COMPOSIO_API_KEY) {
  const port = env.EMULATOR_PORT ?? "8010";
  env.COMPOSIO_API_KEY = `emu_${randomBytes(16).toString("hex")}`;
  env.COMPOSIO_BASE_URL = `http://127.0.0.1:${port}`;
  // The emulator signs its webhooks (expired accounts, triggers) like Composio and delivers them to our webhooks service.
  env.COMPOSIO_WEBHOOK_SECRET ??= randomBytes(24).toString("base64url");
  env.EMULATOR_WEBHOOK_URL ??= `http://127.0.0.1:${env.WEBHOOKS_PORT ?? "8001"}/webhooks/composio`;
  banner([
    "OFFLINE MODE: COMPOSIO_API_KEY is not set.",
    `Starting the Composio EMULATOR on :${port} and pointing every service at it.`,
    "No real Composio account is used; connections and tool runs are simulated.",
    "Set COMPOSIO_API_KEY (and optionally COMPOSIO_BASE_URL) to talk to the real Composio.",
  ]);
  start("emulator", "packages/composio-emulator/dist/main.js");
  await waitForHealth("emulator", `http://127.0.0.1:${port}/_emulator/health`);
}

start("worker", "services/worker/dist/main.js");
start("gateway", "services/gateway/dist/main.js");
start("webhooks", "services/webhooks/dist/main.js");
const gatewayPort = env.GATEWAY_PORT ?? "8000";
const webhooksPort = env.WEBHOOKS_PORT ?? "8001";
await Promise.all([
  waitForHealth("gateway", `http://127.0.0.1:${gatewayPort}/health`),
  waitForHealth("webhooks", `http://127.0.0.1:${webhooksPort}/health`),
  waitForHealth("worker", `http://127.0.0.1:${env.WORKER_PORT ?? "8002"}/health`),
]);
if (!stopping) {
  banner([
    "Kronos Connect is running.",
    `Gateway   http://localhost:${gatewayPort}   (API docs: /docs, queues: /admin/queues)`,
    `Webhooks  http://localhost:${webhooksPort}   (WebSocket feed: ws://localhost:${webhooksPort}/ws)`,
    ...notices,
  ]);
}
