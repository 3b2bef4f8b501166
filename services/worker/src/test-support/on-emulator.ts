// The set-up the worker's emulator-backed integration tests share: one Composio emulator per test file, the real
// Composio adapter pointed at it, and a WorkerHarness started with that adapter. The emulator is not a dependency of
// the worker's build (test-support is left out of it): its build is used directly.
import { controlEmulator, type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import type { Connection } from "@kronos/db";
import { type ComposioPort, composioUserId, createComposioClient, type ExecuteToolJob } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, expect } from "vitest";
import { WorkerHarness } from "./harness.js";

export interface WorkerOnEmulatorOptions {
  /** The adapter's per-call timeout: a file whose calls must hang, or must give up fast, sets its own. */
  timeoutMs?: number;
  /** Config for the worker, over testConfig's; a function when it needs the running emulator (its URL or key). */
  config?: Record<string, string> | ((emulator: RunningEmulator) => Record<string, string>);
  /** Runs first in afterAll, while the workers still run (e.g. to release calls the emulator is holding). */
  beforeStop?: () => Promise<unknown>;
}

export type ControlMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface ConnectedUserOptions {
  /** An existing tenant; a new test tenant when absent. */
  tenantId?: string;
  userId?: string;
  /** The account's status, set through the control API, and the row's (ignored when signing in by the hosted link). */
  status?: "ACTIVE" | "EXPIRED";
  /** "hosted-link": the user opens the link's page, as a browser would, and the account becomes ACTIVE there. */
  signIn?: "control-api" | "hosted-link";
}

export interface ConnectedUser {
  tenantId: string;
  /** Composio's connected account id, at the emulator. */
  accountId: string;
  /** The auth config the account was made under, for more links on it. */
  authConfigId: string;
  /** Our row for the connection. */
  connection: Connection;
}

export interface WorkerOnEmulator {
  /** Created at once; started in beforeAll. */
  harness: WorkerHarness;
  /** The running emulator (from beforeAll on). */
  readonly emulator: RunningEmulator;
  /** The adapter the worker was started with (from beforeAll on). */
  readonly composio: ComposioPort;
  /** A call to the emulator's control API (faults, request log, account status...): throws on an answer that is not 2xx. */
  control<T = unknown>(method: ControlMethod, path: string, body?: unknown): Promise<T>;
  /** A user with a github connection at the emulator and in our table, ACTIVE unless told otherwise. */
  connectedUser(options?: ConnectedUserOptions): Promise<ConnectedUser>;
}

/** Registers the file's beforeAll and afterAll: call it at the top level of a test file. */
export function workerOnEmulator(options: WorkerOnEmulatorOptions = {}): WorkerOnEmulator {
  const harness = new WorkerHarness();
  let emulator: RunningEmulator | undefined;
  let composio: ComposioPort | undefined;

  beforeAll(async () => {
    emulator = await startEmulator();
    composio = createComposioClient({ apiKey: emulator.apiKey, baseUrl: emulator.url, timeoutMs: options.timeoutMs ?? 5_000 });
    const config = typeof options.config === "function" ? options.config(emulator) : options.config;
    await harness.start(composio, config ? { config } : {});
  });
  afterAll(async () => {
    try {
      await options.beforeStop?.();
    } finally {
      await harness.stop();
      await emulator?.close();
    }
  });

  const suite: WorkerOnEmulator = {
    harness,
    get emulator() {
      if (!emulator) throw new Error("the emulator starts in beforeAll: use it inside hooks and tests");
      return emulator;
    },
    get composio() {
      if (!composio) throw new Error("the Composio adapter is made in beforeAll: use it inside hooks and tests");
      return composio;
    },
    control: (method, path, body) => controlEmulator(suite.emulator.url, method, path, body),
    connectedUser: (options) => connectedUser(suite, options),
  };
  return suite;
}

async function connectedUser(suite: WorkerOnEmulator, options: ConnectedUserOptions = {}): Promise<ConnectedUser> {
  const h = suite.harness;
  const tenantId = options.tenantId ?? (await createTestTenant(h.prisma)).tenantId;
  const userId = options.userId ?? "alice";
  const status = options.signIn === "hosted-link" ? "ACTIVE" : (options.status ?? "ACTIVE");
  const authConfig = await suite.composio.createAuthConfig({ toolkitSlug: "github", managed: true });
  const link = await suite.composio.createConnectLink({ authConfigId: authConfig.id, userId: composioUserId(tenantId, userId) });
  if (options.signIn === "hosted-link") {
    expect((await fetch(link.redirectUrl)).status).toBe(200);
  } else {
    await suite.control("PUT", `/connected_accounts/${link.connectedAccountId}/status`, { status });
  }
  const connection = await h.connection({ tenantId, userId, status, composioAccountId: link.connectedAccountId });
  return { tenantId, accountId: link.connectedAccountId, authConfigId: authConfig.id, connection };
}

/** An execute-tool job for "alice": creating an issue on acme/app, unless the overrides say otherwise. */
export function executionJob(tenantId: string, overrides: Partial<ExecuteToolJob> = {}): ExecuteToolJob {
  return {
    executionId: crypto.randomUUID(),
    tenantId,
    userId: "alice",
    toolSlug: "GITHUB_CREATE_AN_ISSUE",
    arguments: { owner: "acme", repo: "app", title: "Bug" },
    actor: "api_key:test",
    ...overrides,
  };
}
