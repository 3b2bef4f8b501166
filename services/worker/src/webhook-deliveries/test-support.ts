import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createDatabase, type Database, type WebhookDelivery } from "@kronos/db";
import {
  type Config,
  createQueue,
  EventBus,
  type EventType,
  generateEndpointSecret,
  type Logger,
  type Redis,
  SEAL_PURPOSES,
  sealJobSecret,
  type TypedEventDraft,
  type TypedQueue,
  WebhookOutbox,
} from "@kronos/shared";
import { createTestTenant, deleteRedisPrefix, testConfig, testRedis } from "@kronos/testing";
import { Webhook } from "standardwebhooks";
import type { JobContext } from "../jobs/context.js";
import { startJobWorker } from "../jobs/run-job.js";
import type { AttemptDeps } from "./attempt-delivery.js";
import { webhookDeliveryHandler } from "./jobs.js";
import type { RunningLane } from "./lane.js";
import { startWebhookSweeper } from "./sweeper.js";

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Behaviour = (request: ReceivedWebhook, response: ServerResponse) => void;

/** A real HTTP server that receives webhooks: every request is kept; each path answers as its behaviour says (204 by default). */
export class Receiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private server!: Server;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const hit: ReceivedWebhook = {
          path: request.url ?? "/",
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.received.push(hit);
        const behave = this.behaviours.get(hit.path);
        if (behave) behave(hit, response);
        else response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  on(path: string, behave: Behaviour): void {
    this.behaviours.set(path, behave);
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((hit) => hit.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Verifies a received webhook with the official Standard Webhooks library: the parsed body, or it throws. */
export function verified(secret: string, hit: ReceivedWebhook): { type: string; id: string; ts: string; data: unknown } {
  const headers = {
    "webhook-id": String(hit.headers["webhook-id"]),
    "webhook-timestamp": String(hit.headers["webhook-timestamp"]),
    "webhook-signature": String(hit.headers["webhook-signature"]),
  };
  return new Webhook(secret).verify(hit.body, headers) as { type: string; id: string; ts: string; data: unknown };
}

/** A delivery worker of the harness: the queue's BullMQ worker and the lane. */
export interface RunningDeliveries {
  close(abandon?: boolean): Promise<void>;
}

/** The webhook-deliveries capability over the real Postgres and Redis: its job worker, the sweeper, the bus wired to the outbox. */
export class DeliveriesHarness {
  config!: Config;
  database!: Database;
  redis!: Redis;
  bus!: EventBus;
  queue!: TypedQueue<"webhookDelivery">;
  worker!: RunningDeliveries;
  tenantId!: string;
  private sweeper!: { stop(): void };
  private readonly connections: Redis[] = [];
  /** Every worker started, closed at the end (closing twice is harmless). */
  private readonly running: RunningDeliveries[] = [];

  async start(overrides: Record<string, string> = {}): Promise<this> {
    this.config = testConfig({
      OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true",
      WEBHOOK_RETRY_SCHEDULE: "0,100,200,300",
      // Long enough that a busy machine does not time out the hanging endpoint of the isolation test.
      WEBHOOK_TIMEOUT_MS: "10000",
      WEBHOOK_SWEEP_INTERVAL_MS: "200",
      WEBHOOK_DELIVERY_CONCURRENCY: "20",
      WEBHOOK_ENDPOINT_CONCURRENCY: "4",
      ...overrides,
    });
    this.database = createDatabase(this.config.DATABASE_URL, { poolSize: 5 });
    this.redis = testRedis(this.config);
    this.bus = new EventBus(this.redis, this.config.REDIS_KEY_PREFIX, 1_000);
    this.tenantId = (await createTestTenant(this.database.prisma, "webhooks out")).tenantId;
    // The publishers' side (as in the worker's and the webhooks service's main): the outbox on the bus.
    this.queue = createQueue("webhookDelivery", { connection: this.redis, prefix: this.config.REDIS_KEY_PREFIX });
    const outbox = new WebhookOutbox(this.database.sql, { redis: this.redis, prefix: this.config.REDIS_KEY_PREFIX });
    this.bus.afterPublish((event, draft) => outbox.record(event, draft.tenantId));
    this.sweeper = startWebhookSweeper({
      sql: this.database.sql,
      queue: this.queue,
      intervalMs: this.config.WEBHOOK_SWEEP_INTERVAL_MS,
      logger: silent,
      tenantIds: [this.tenantId],
    });
    this.startWorker();
    return this;
  }

  /**
   * (Re)starts a delivery worker as startWorkers would (the queue's BullMQ worker and the lane beside it), with a
   * short lock (a dead worker's job is taken over soon). `close(true)` abandons both, as a killed process would.
   */
  startWorker(options: { post?: AttemptDeps["post"] } = {}): RunningDeliveries {
    const [connection, laneConnection] = [testRedis(this.config), testRedis(this.config)];
    this.connections.push(connection, laneConnection);
    const ctx = {
      config: this.config,
      prisma: this.database.prisma,
      sql: this.database.sql,
      bus: this.bus,
      logger: silent,
      redis: this.redis,
      queues: { webhookDelivery: this.queue },
    } as unknown as JobContext;
    const handler = webhookDeliveryHandler(options);
    const worker = startJobWorker("webhookDelivery", handler, ctx, {
      connection,
      metrics: null,
      workerOptions: { lockDuration: 1_000, stalledInterval: 300 },
    });
    const lane = handler.alongside?.(ctx, laneConnection) as RunningLane;
    this.worker = {
      async close(abandon = false) {
        await Promise.all([worker.close(abandon), lane.close(abandon)]);
      },
    };
    this.running.push(this.worker);
    return this.worker;
  }

  /** An endpoint row as the API writes it; answers its id and secret. */
  async endpoint(url: string, input: { events?: EventType[]; previousSecret?: string } = {}): Promise<{ id: string; secret: string }> {
    const secret = generateEndpointSecret();
    const key = this.config.WEBHOOK_SECRETS_KEY ?? this.config.SESSION_SECRET;
    const id = randomUUID();
    await this.database.prisma.webhookEndpoint.create({
      data: {
        id,
        tenantId: this.tenantId,
        url,
        events: input.events ?? [],
        sealedSecret: sealJobSecret(secret, key, SEAL_PURPOSES.webhookEndpointSecrets),
        ...(input.previousSecret
          ? {
              previousSealedSecret: sealJobSecret(input.previousSecret, key, SEAL_PURPOSES.webhookEndpointSecrets),
              previousSecretExpiresAt: new Date(Date.now() + 3_600_000),
            }
          : {}),
      },
    });
    return { id, secret };
  }

  /** Publishes an event of `type` with made-up data: delivery forwards the data as it is, so its shape does not matter here. */
  publish(type: EventType, data: Record<string, unknown> = {}) {
    return this.bus.publish({ type, tenantId: this.tenantId, userId: null, data } as TypedEventDraft);
  }

  deliveriesOf(endpointId: string): Promise<WebhookDelivery[]> {
    return this.database.prisma.webhookDelivery.findMany({ where: { endpointId }, orderBy: { createdAt: "asc" } });
  }

  async stop(): Promise<void> {
    this.sweeper?.stop();
    for (const worker of this.running) await worker.close();
    await this.queue?.close();
    for (const connection of this.connections) await connection.quit().catch(() => connection.disconnect());
    await deleteRedisPrefix(this.redis, this.config.REDIS_KEY_PREFIX);
    await this.database.prisma.tenant.delete({ where: { id: this.tenantId } }).catch(() => undefined);
    await this.redis.quit();
    await this.database.close();
  }
}

const silent = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent, isLevelEnabled: () => false } as unknown as Logger;
