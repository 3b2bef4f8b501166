import { createHmac } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { PrismaClient } from "@kronos/db";
import {
  type Config,
  type ConnectionStatus,
  type ConnectionStatusEventData,
  EVENT_TYPES,
  type EventBus,
  type EventDraft,
  type Redis,
} from "@kronos/shared";
import type { FastifyInstance } from "fastify";
import WebSocket from "ws";
import { buildWebhooksApp, type FeedOptions } from "../src/app.js";

export interface Running {
  app: FastifyInstance;
  /** ws://127.0.0.1:<port> */
  wsBase: string;
  httpBase: string;
}

/** Builds the app and listens on a free port. */
export async function startApp(deps: {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  feed?: Partial<FeedOptions>;
  subscriber?: Redis;
  bus?: Pick<EventBus, "publish">;
  logStream?: { write(line: string): void };
}): Promise<Running> {
  const app = await buildWebhooksApp(deps);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, wsBase: `ws://127.0.0.1:${port}`, httpBase: `http://127.0.0.1:${port}` };
}

export interface Feed {
  socket: WebSocket;
  messages: Array<{ type: string; id?: string; data?: Record<string, unknown>; [key: string]: unknown }>;
  /** Events only (messages with an id). */
  events(): Array<{ type: string; id: string; data: Record<string, unknown> }>;
  closed: Promise<{ code: number; reason: string }>;
}

export interface FeedAuth {
  token?: string;
  apiKey?: string;
  since?: string;
  autoPong?: boolean;
  /** WebSocket subprotocols to offer (the console sends its credential this way). */
  protocols?: string[];
}

function feedUrl(wsBase: string, auth: FeedAuth): URL {
  const url = new URL("/ws", wsBase);
  if (auth.token) url.searchParams.set("token", auth.token);
  if (auth.since) url.searchParams.set("since", auth.since);
  return url;
}

function socketOptions(auth: FeedAuth): WebSocket.ClientOptions {
  return { headers: auth.apiKey ? { authorization: `Bearer ${auth.apiKey}` } : {}, autoPong: auth.autoPong ?? true };
}

/** Opens a feed socket and records every message; resolves once the first message (the snapshot) arrived. */
export async function openFeed(wsBase: string, auth: FeedAuth): Promise<Feed> {
  const socket = new WebSocket(feedUrl(wsBase, auth), auth.protocols ?? [], socketOptions(auth));
  const messages: Feed["messages"] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  const first = new Promise<void>((resolve, reject) => {
    socket.on("message", (raw) => {
      messages.push(JSON.parse(String(raw)));
      resolve();
    });
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`WebSocket refused: HTTP ${response.statusCode}`)));
    // Closed before its first message (a socket that never answers pings, on a busy machine, can be terminated
    // before its snapshot arrives): the caller reads `closed`, instead of waiting here for ever.
    socket.once("close", () => resolve());
  });
  await first;
  return {
    socket,
    messages,
    closed,
    events: () => messages.filter((m): m is { type: string; id: string; data: Record<string, unknown> } => typeof m.id === "string"),
  };
}

/** Tries to open a feed socket that must be refused: returns the HTTP status and JSON body of the refusal. */
export function refusedFeed(
  wsBase: string,
  auth: FeedAuth & { rawQuery?: string },
): Promise<{ status: number; body: unknown; upgraded: boolean; headers: Record<string, string | string[] | undefined> }> {
  const url = feedUrl(wsBase, auth);
  if (auth.rawQuery) url.search = auth.rawQuery;
  const socket = new WebSocket(url, auth.protocols ?? [], socketOptions(auth));
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      socket.terminate();
      resolve({ status: 101, body: null, upgraded: true, headers: {} });
    });
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text), upgraded: false, headers: response.headers }),
      );
      response.on("error", reject);
    });
  });
}

export function statusDraft(
  tenantId: string,
  userId: string | null,
  connectionId: string,
  status: ConnectionStatus = "ACTIVE",
  extra: Partial<ConnectionStatusEventData> = {},
): EventDraft<typeof EVENT_TYPES.connectionStatus, ConnectionStatusEventData> {
  return {
    type: EVENT_TYPES.connectionStatus,
    tenantId,
    userId,
    data: { connection_id: connectionId, user_id: userId ?? "", toolkit: "github", status, previous_status: null, labels: [], ...extra },
  };
}

/** Publishes `count` events for one user and returns their ids in order. */
export async function publishMany(bus: EventBus, tenantId: string, userId: string | null, count: number, tag = "c"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await bus.publish(statusDraft(tenantId, userId, `${tag}-${i}`))).id);
  return ids;
}

/**
 * Signs like Composio (COMPOSIO.md), computed here independently of the service's verifier:
 * `v1,` + base64(HMAC-SHA256(key = the secret's UTF-8 bytes, "<id>.<timestamp>.<raw body>")).
 */
export function composioSign(secret: string, id: string, timestamp: number | string, body: string | Buffer): string {
  const mac = createHmac("sha256", Buffer.from(secret, "utf8"));
  mac.update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`, "utf8"), Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8")]));
  return `v1,${mac.digest("base64")}`;
}

export interface Delivery {
  id: string;
  /** The raw body, sent byte for byte. */
  body: string | Buffer;
  /** Signs with this secret (ignored when `signature` is given). */
  secret?: string;
  /** Unix seconds (default: now). */
  timestamp?: number;
  /** The whole webhook-signature header, as is. */
  signature?: string;
  contentType?: string;
}

/** POSTs a delivery to /webhooks/composio as Composio does; returns the status and the JSON body. */
export async function deliver(httpBase: string, delivery: Delivery): Promise<{ status: number; body: Record<string, unknown> }> {
  const timestamp = delivery.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = delivery.signature ?? composioSign(delivery.secret ?? "", delivery.id, timestamp, delivery.body);
  const response = await fetch(`${httpBase}/webhooks/composio`, {
    method: "POST",
    headers: {
      "content-type": delivery.contentType ?? "application/json",
      "webhook-id": delivery.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
      "x-composio-webhook-version": "V3",
    },
    body: delivery.body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A V3 envelope (COMPOSIO.md): a trigger message for `composioUserId` unless overridden. */
export function envelope(id: string, overrides: Record<string, unknown> = {}, composioUserId = "nobody"): Record<string, unknown> {
  return {
    id,
    timestamp: new Date().toISOString(),
    type: "composio.trigger.message",
    metadata: {
      log_id: "log_1",
      trigger_slug: "GITHUB_COMMIT_EVENT",
      trigger_id: "ti_1",
      connected_account_id: "ca_1",
      auth_config_id: "ac_1",
      user_id: composioUserId,
    },
    data: { commit: "abc123" },
    ...overrides,
  };
}
