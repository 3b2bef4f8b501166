import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTenant, type Tenant, userToken } from "./flows.js";
import { type FeedClient, openFeed, type RunningSystem, startSystem } from "./support.js";

// The per-user socket cap holds across webhooks instances that are real processes, and a process killed with
// SIGKILL (no clean-up of any kind) stops holding places once its lease (WS_SOCKET_LEASE_MS) runs out.

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const LEASE_MS = 2_000;

let system: RunningSystem;
let tenant: Tenant;
let extra: { url: string; child: ChildProcess; exited: Promise<void>; output: () => string } | undefined;
const feeds: FeedClient[] = [];

/** A second webhooks process on the system's Redis and database. */
async function startWebhooksProcess(): Promise<NonNullable<typeof extra>> {
  const port = await freePort();
  const child = spawn(process.execPath, ["services/webhooks/dist/main.js"], {
    cwd: repoRoot,
    // The feed never calls Composio; the config still wants its settings.
    env: { ...system.env, WEBHOOKS_PORT: String(port), COMPOSIO_API_KEY: "emu_unused", COMPOSIO_BASE_URL: system.emulatorUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the webhooks process exited:\n${output.slice(-2000)}`);
      return (await fetch(`${url}/health`).catch(() => null))?.status === 200;
    },
    { timeoutMs: 30_000, what: "the second webhooks process" },
  );
  return { url, child, exited, output: () => output };
}

/** The HTTP status a feed upgrade is refused with (101: it was accepted, and is closed again). */
function upgradeStatus(webhooksUrl: string, token: string): Promise<number> {
  const url = new URL("/ws", webhooksUrl.replace(/^http/, "ws"));
  url.searchParams.set("token", token);
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once("error", reject);
  });
}

beforeAll(async () => {
  system = await startSystem({ WS_MAX_SOCKETS_PER_USER: "2", WS_SOCKET_LEASE_MS: String(LEASE_MS) });
  tenant = await createTenant(system);
  extra = await startWebhooksProcess();
}, 90_000);

afterAll(async () => {
  for (const client of feeds) client.close();
  if (extra && extra.child.exitCode === null) {
    extra.child.kill("SIGKILL");
    await extra.exited;
  }
  await system?.stop();
});

describe("feed socket caps across webhooks processes", () => {
  it("refuses a user's third socket on either process, and frees the places of a SIGKILLed process after its lease", async () => {
    const token = await userToken(system, tenant, "alice");
    feeds.push(await openFeed(system.webhooksUrl, { token }));
    feeds.push(await openFeed(extra!.url, { token }));
    expect(await upgradeStatus(system.webhooksUrl, token)).toBe(429);
    expect(await upgradeStatus(extra!.url, token)).toBe(429);

    extra!.child.kill("SIGKILL");
    await extra!.exited;
    // The killed process released nothing; its place comes back when its lease runs out (a few renewals missed).
    const reopened = await waitFor(() => openFeed(system.webhooksUrl, { token }).catch(() => undefined), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: "the killed process's socket to stop counting",
    });
    feeds.push(reopened);
    // The surviving process holds both places now: the next is refused.
    expect(await upgradeStatus(system.webhooksUrl, token)).toBe(429);
  });
});
