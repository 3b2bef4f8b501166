import websocket from "@fastify/websocket";
import { type PrismaClient, prismaSql, type Sql } from "@kronos/db";
import { API_SECURITY_HEADERS, createServiceApp, opsRoutes } from "@kronos/service-kit";
import {
  AppError,
  type Config,
  createQueue,
  EventBus,
  FEED_PROTOCOL,
  instrumentHttp,
  type Logger,
  onApiKeyRevoked,
  type Principal,
  type Redis,
  type TypedQueue,
  UnknownKeyGuard,
  WebhookOutbox,
} from "@kronos/shared";
import type { FastifyInstance } from "fastify";
import { authenticateFeed } from "./auth.js";
import { composioWebhookRoutes } from "./composio-webhook.js";
import { FeedClient } from "./feed/client.js";
import { FeedHub } from "./feed/hub.js";
import { CLOSE_CODES, EVENT_ID_PATTERN } from "./feed/protocol.js";
import { SocketCaps } from "./feed/socket-caps.js";
import { replayAndGoLive, startClient } from "./feed/start.js";
import { createWebhooksMetrics, type WebhooksMetrics } from "./metrics.js";

/** Tunables of the feed. They come from the config (`feedOptionsFromConfig`); tests override some. */
export interface FeedOptions {
  /** A ping every this many ms; a socket that has not answered the previous one is terminated. */
  heartbeatIntervalMs: number;
  /** Bytes waiting to be sent to one socket above which it is closed as a slow consumer (4008). */
  maxBufferedBytes: number;
  /** Live events held per socket while its snapshot and replay are sent. */
  maxPendingEvents: number;
  /** Largest message a client may send (clients send nothing meaningful); larger closes with 1009. */
  maxInboundBytes: number;
  /** Most connections in the `snapshot` message. */
  snapshotLimit: number;
  /** Most sockets per user and per API key, across instances; one more is refused with 429 before the upgrade. */
  maxSocketsPerUser: number;
  maxSocketsPerApiKey: number;
  /** How long a crashed instance's sockets keep counting in those caps (its lease; renewed every third of it). */
  socketLeaseMs: number;
}

/** Live events held per socket during its start: not configurable (a memory bound, not a deployment choice). */
export const MAX_PENDING_EVENTS = 10_000;

/** The feed's tunables from the WS_* variables. */
export function feedOptionsFromConfig(config: Config): FeedOptions {
  return {
    heartbeatIntervalMs: config.WS_HEARTBEAT_INTERVAL_MS,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    maxPendingEvents: MAX_PENDING_EVENTS,
    maxInboundBytes: config.WS_MAX_MESSAGE_BYTES,
    snapshotLimit: config.WS_SNAPSHOT_LIMIT,
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
    maxSocketsPerApiKey: config.WS_MAX_SOCKETS_PER_API_KEY,
    socketLeaseMs: config.WS_SOCKET_LEASE_MS,
  };
}

export interface WebhooksDeps {
  config: Config;
  prisma: PrismaClient;
  /** The pg pool behind `prisma`, for the hot statements (`createDatabase`); by default they go through `prisma`. */
  sql?: Sql;
  /** For commands (XRANGE, XINFO). Owned by the caller. */
  redis: Redis;
  /** The process's subscriber connection; owned by the caller when given, else a duplicate of `redis` owned by the app. */
  subscriber?: Redis;
  feed?: Partial<FeedOptions>;
  /** Where trigger messages are published (default: the event bus on `redis`); tests make it fail. */
  bus?: Pick<EventBus, "publish">;
  /** The process's logger (default: one from LOG_LEVEL and LOG_FORMAT). */
  logger?: Logger;
  /** Where the default logger's lines go (default stdout); tests capture them. */
  logStream?: { write(line: string): void };
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    feedHub: FeedHub;
    /** Open sockets per user and per API key, counted across instances. */
    feedCaps: SocketCaps;
    /** The queue of Composio webhook jobs (owned by the app: closed with it). */
    webhookQueue: TypedQueue<"webhookEvent">;
    metrics: WebhooksMetrics;
  }
}

interface FeedQuery {
  token?: string;
  since?: string;
}

export async function buildWebhooksApp(deps: WebhooksDeps): Promise<FastifyInstance> {
  const { config, prisma, redis } = deps;
  const feed: FeedOptions = { ...feedOptionsFromConfig(config), ...deps.feed };
  const app = createServiceApp({
    service: "webhooks",
    config,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.logStream ? { logStream: deps.logStream } : {}),
  });
  // Everything this service answers is JSON (or a WebSocket upgrade): the API's headers on every answer.
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(API_SECURITY_HEADERS);
    done();
  });

  const ownsSubscriber = deps.subscriber === undefined;
  const subscriber = deps.subscriber ?? redis.duplicate();
  const startDeps = { prisma, redis, prefix: config.REDIS_KEY_PREFIX, snapshotLimit: feed.snapshotLimit };
  // The open-socket gauge reads the hub when scraped (created just below).
  const metrics = createWebhooksMetrics(() => hub.stats().sockets);
  const hub = new FeedHub(
    subscriber,
    config.REDIS_KEY_PREFIX,
    app.log,
    feed.heartbeatIntervalMs,
    (client) => replayAndGoLive(startDeps, client),
    (delivered) => metrics.eventsDelivered.inc(delivered),
  );
  // Shares the caller's Redis connection (BullMQ does not close a connection it was given).
  const webhookQueue = createQueue("webhookEvent", { connection: redis, prefix: config.REDIS_KEY_PREFIX });
  app.decorate("feedHub", hub);
  app.decorate("webhookQueue", webhookQueue);
  app.decorate("metrics", metrics);
  app.decorateRequest("principal", null);
  instrumentHttp(app, metrics.registry);

  // Counters (unknown keys per IP): a connection that fails at once while Redis is away (no offline queue), so a
  // limit is skipped then rather than waited on, as the gateway's rate limits do.
  const limitsRedis = redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  limitsRedis.on("error", (error) => app.log.warn({ err: error }, "limits Redis connection error"));
  const unknownKeys = new UnknownKeyGuard(limitsRedis, config.REDIS_KEY_PREFIX, config.RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE);
  const caps = new SocketCaps({ redis: limitsRedis, prefix: config.REDIS_KEY_PREFIX, leaseMs: feed.socketLeaseMs, log: app.log });
  app.decorate("feedCaps", caps);

  // Runs before @fastify/websocket's own preClose (which closes sockets with no code): ours say 1001.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
    hub.closeAll();
  });
  // Requests in flight when the app starts closing (a webhook being stored) are answered; their keep-alive
  // connection is then closed, or it would hold the server open until its keep-alive timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  // Subscribed once the app is ready (before it listens): no socket can exist before the subscription does.
  let unsubscribeRevocations: (() => Promise<void>) | undefined;
  app.addHook("onReady", async () => {
    await hub.start();
    caps.start();
    // A revoked API key's sockets are closed on every instance (the gateway publishes the revocation).
    unsubscribeRevocations = await onApiKeyRevoked(subscriber, config.REDIS_KEY_PREFIX, ({ tenantId, apiKeyId }) => {
      const closed = hub.closeApiKey(tenantId, apiKeyId);
      if (closed > 0) app.log.info({ apiKeyId, closed }, "closed the sockets of a revoked API key");
    });
  });
  // onClose hooks run once the HTTP server has closed, i.e. after in-flight requests (a webhook being stored and
  // enqueued) have been answered: only then is the queue closed.
  app.addHook("onClose", async () => {
    await hub.stop();
    await unsubscribeRevocations?.();
    await webhookQueue.close().catch((error: unknown) => app.log.error({ err: error }, "closing the webhook queue failed"));
    if (ownsSubscriber) await subscriber.quit().catch(() => subscriber.disconnect());
    // After the sockets closed (preClose): this instance's sockets stop counting at once.
    await caps.stop();
    await limitsRedis.quit().catch(() => limitsRedis.disconnect());
  });

  // A client that offers subprotocols (the console: FEED_PROTOCOL and its credential) gets FEED_PROTOCOL back;
  // echoing the credential would put it in a response header.
  await app.register(websocket, {
    options: { maxPayload: feed.maxInboundBytes, handleProtocols: (offered) => (offered.has(FEED_PROTOCOL) ? FEED_PROTOCOL : false) },
  });

  await app.register(opsRoutes, { service: "webhooks", registry: metrics.registry, adminToken: config.ADMIN_TOKEN });

  const sql = deps.sql ?? prismaSql(prisma);
  const bus = deps.bus ?? new EventBus(redis, config.REDIS_KEY_PREFIX, config.EVENT_RETENTION_COUNT);
  if (!deps.bus) {
    // Trigger messages published here reach the tenant's webhook endpoints too: their outbox rows are written here.
    const outbox = new WebhookOutbox(sql, {
      redis,
      prefix: config.REDIS_KEY_PREFIX,
      onLaneError: (error) => app.log.warn({ err: error }, "could not push webhook deliveries on the lane; the sweeper will deliver them"),
    });
    (bus as EventBus).afterPublish((event, draft) => outbox.record(event, draft.tenantId));
  }
  await app.register(composioWebhookRoutes, { config, prisma, sql, queue: webhookQueue, bus, metrics });

  app.route<{ Querystring: FeedQuery }>({
    method: "GET",
    url: "/ws",
    schema: {
      querystring: {
        type: "object",
        properties: { token: { type: "string", maxLength: 4096 }, since: { type: "string", pattern: EVENT_ID_PATTERN.source } },
      },
    },
    // Authentication happens before the upgrade: a refused client gets an HTTP 401 and never a socket.
    preValidation: async (request) => {
      // Before the schema check (this hook runs first): a parameter given twice arrives as an array.
      const { token, since } = request.query as { token?: unknown; since?: unknown };
      if ((token !== undefined && typeof token !== "string") || (since !== undefined && typeof since !== "string")) {
        throw new AppError("BAD_REQUEST", "Give each query parameter (token, since) at most once");
      }
      const principal = await authenticateFeed(
        {
          token: request.query.token,
          authorization: request.headers.authorization,
          protocols: request.headers["sec-websocket-protocol"],
          ip: request.ip,
        },
        { prisma, sessionSecret: config.SESSION_SECRET, unknownKeys },
      );
      const [cap, whose] = principal.kind === "user" ? [feed.maxSocketsPerUser, "user"] : [feed.maxSocketsPerApiKey, "API key"];
      const decision = await caps.admit(principal, cap);
      if (!decision.admitted)
        throw new AppError("RATE_LIMITED", `This ${whose} already has ${cap} feed sockets open: close one first`, { limit: cap });
      // Counted until the connection closes: the socket's close, or the end of a connection whose upgrade failed.
      request.raw.socket.once("close", decision.release);
      request.principal = principal;
    },
    handler: async () => {
      throw new AppError("BAD_REQUEST", "GET /ws is a WebSocket endpoint: send an upgrade request");
    },
    wsHandler: (socket, request) => {
      const principal = request.principal!;
      const since = request.query.since ?? null;
      const client = new FeedClient(
        socket,
        principal,
        feed,
        (code) => hub.countServerClose(code),
        (delivered) => metrics.eventsDelivered.inc(delivered),
      );
      hub.add(client);
      socket.on("close", (code) => {
        metrics.socketsClosed.inc({ code: String(code) });
        client.markClosed();
        hub.remove(client);
      });
      socket.on("message", () => {
        // Clients have nothing to say yet; oversized messages are refused by ws (1009).
      });
      startClient(startDeps, client, since).catch((error: unknown) => {
        request.log.error({ err: error }, "feed start failed");
        client.close(CLOSE_CODES.internalError, "internal error");
      });
    },
  });

  return app;
}
