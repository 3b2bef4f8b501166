import { randomBytes } from "node:crypto";
import { waitFor } from "@kronos/testing";
import { expect } from "vitest";
import { api, type FeedClient, type RunningSystem, statusEvents } from "./support.js";

// What a tenant's server, a user's browser and an operator do, over HTTP, against a running system.

export interface Tenant {
  tenantId: string;
  apiKey: string;
}

export interface Connected {
  connectionId: string;
  /** Composio's (the emulator's) connected account id, ca_... */
  accountId: string;
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

export async function createTenant(system: RunningSystem, name = uniqueName("tenant")): Promise<Tenant> {
  const response = await api<{ tenant_id: string; api_key: string }>(system.gatewayUrl, "POST", "/api/v1/admin/tenants", {
    token: system.adminToken,
    body: { name },
  });
  expect(response.status).toBe(201);
  return { tenantId: response.body.tenant_id, apiKey: response.body.api_key };
}

export async function userToken(system: RunningSystem, tenant: Tenant, userId: string): Promise<string> {
  const response = await api<{ token: string }>(system.gatewayUrl, "POST", "/api/v1/sessions", {
    token: tenant.apiKey,
    body: { user_id: userId },
  });
  expect(response.status).toBe(201);
  return response.body.token;
}

interface ConnectionView {
  connection_id: string;
  status: string;
  redirect_url: string | null;
  connected_account_id: string | null;
  labels: string[];
}

export function getConnection(system: RunningSystem, token: string, connectionId: string) {
  return api<ConnectionView>(system.gatewayUrl, "GET", `/api/v1/composio/connections/${connectionId}`, { token });
}

/** Initiates a connection and returns its id and hosted link, following the 202 path when the job is slow. */
export async function initiate(
  system: RunningSystem,
  token: string,
  body: Record<string, unknown>,
): Promise<{ connectionId: string; redirectUrl: string }> {
  const response = await api<{ connection_id: string; redirect_url?: string | null }>(
    system.gatewayUrl,
    "POST",
    "/api/v1/composio/connections/initiate-enhanced",
    { token, body },
  );
  expect([201, 202]).toContain(response.status);
  const connectionId = response.body.connection_id;
  const redirectUrl = response.body.redirect_url ?? (await hostedLink(system, token, connectionId));
  return { connectionId, redirectUrl };
}

/** The connection's current hosted link, once the worker has set it. */
function hostedLink(system: RunningSystem, token: string, connectionId: string): Promise<string> {
  return waitFor(async () => (await getConnection(system, token, connectionId)).body.redirect_url ?? undefined, {
    what: "the hosted link",
  });
}

/**
 * Does what a user's browser does: open Composio's hosted link, then follow its redirect to our callback. Returns
 * where the callback sends the browser (null: no client redirect_url was given, a "close this window" page).
 */
export async function completeInBrowser(system: RunningSystem, redirectUrl: string, options: { deny?: boolean } = {}): Promise<URL | null> {
  const link = new URL(redirectUrl);
  if (options.deny) link.searchParams.set("deny", "1");
  const atComposio = await fetch(link, { redirect: "manual" });
  expect(atComposio.status).toBe(302);
  const callback = atComposio.headers.get("location")!;
  expect(callback.startsWith(`${system.env.PUBLIC_GATEWAY_URL}/api/v1/composio/connections/`)).toBe(true);
  const atGateway = await fetch(callback, { redirect: "manual" });
  expect([200, 302]).toContain(atGateway.status);
  return atGateway.status === 302 ? new URL(atGateway.headers.get("location")!) : null;
}

/**
 * Connects a user fully: initiate, the browser's consent step, then ACTIVE (seen on `feed` when given, else by
 * reading the connection). Returns our connection id and the emulator's ca_ id.
 */
export async function connectUser(
  system: RunningSystem,
  token: string,
  body: { user_id: string; app_name: string; labels?: string[] },
  feed?: FeedClient,
): Promise<Connected> {
  const { connectionId, redirectUrl } = await initiate(system, token, body);
  await completeInBrowser(system, redirectUrl);
  if (feed) await waitFor(() => statusEvents(feed, connectionId).includes("ACTIVE"), { what: `${body.user_id}'s ${body.app_name} ACTIVE` });
  const view = await waitFor(
    async () => {
      const current = (await getConnection(system, token, connectionId)).body;
      return current.status === "ACTIVE" && current.connected_account_id ? current : undefined;
    },
    { what: "the connection to be ACTIVE" },
  );
  return { connectionId, accountId: view.connected_account_id! };
}

/** A call to the emulator's control API (/_emulator/...). */
export async function emulator<T = Record<string, unknown>>(system: RunningSystem, method: string, path: string, body?: unknown) {
  const response = await api<T>(system.emulatorUrl, method, `/_emulator${path}`, body === undefined ? {} : { body });
  expect(response.status, `${method} /_emulator${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response.body;
}

/** `Authorization: Basic` as a browser sends it. */
export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

export interface ExecutionView {
  execution_id: string;
  status: "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED";
  successful: boolean | null;
  data: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
}

/** Polls an execution until it is SUCCEEDED or FAILED. */
export function settledExecution(system: RunningSystem, token: string, executionId: string, timeoutMs = 15_000): Promise<ExecutionView> {
  return waitFor(
    async () => {
      const response = await api<ExecutionView>(system.gatewayUrl, "GET", `/api/v1/composio/executions/${executionId}`, { token });
      expect(response.status).toBe(200);
      return response.body.status === "SUCCEEDED" || response.body.status === "FAILED" ? response.body : undefined;
    },
    { timeoutMs, what: `execution ${executionId} to finish` },
  );
}

/** The emulator's record of tool runs that reached a tool, filtered by an argument value. */
export async function toolRuns(system: RunningSystem, toolSlug: string, match: Record<string, unknown>): Promise<unknown[]> {
  const { items } = await emulator<{ items: Array<{ arguments: Record<string, unknown> }> }>(
    system,
    "GET",
    `/executions?tool_slug=${toolSlug}`,
  );
  return items.filter((run) => Object.entries(match).every(([key, value]) => run.arguments[key] === value));
}
