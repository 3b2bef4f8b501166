import type { Connection, PrismaClient } from "@kronos/db";
import {
  type ComposioPort,
  type Config,
  type ConnectionStatus,
  createLogger,
  decodeBusMessage,
  EventBus,
  type EventType,
  eventKeys,
  type Logger,
  type Redis,
  type Registry,
} from "@kronos/shared";
import { deleteRedisPrefix, testConfig, testPrisma, testRedis, waitFor } from "@kronos/testing";
import { Job, type JobsOptions, type Queue } from "bullmq";
import { type RunningWorkers, startWorkers } from "../workers.js";

export interface PublishedEvent<D = Record<string, unknown>> {
  tenantId: string;
  userId: string | null;
  type: EventType;
  data: D;
}

/** Retries come back within tens of milliseconds in tests. */
export const FAST_RETRIES: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 20, jitter: 0.5 },
  removeOnComplete: false,
  removeOnFail: false,
};

/**
 * One test file's worker: its own Redis prefix, the real Postgres, the given Composio port, and every event
 * published on the bus collected in `events`.
 */
export class WorkerHarness {
  config!: Config;
  prisma!: PrismaClient;
  redis!: Redis;
  bus!: EventBus;
  workers!: RunningWorkers;
  readonly events: PublishedEvent[] = [];
  private subscriber!: Redis;
  logger: Logger = createLogger("worker-test", process.env.TEST_LOG_LEVEL ?? "silent");

  async start(
    composio: ComposioPort,
    options: { config?: Record<string, string>; metrics?: Registry; logger?: Logger } = {},
  ): Promise<this> {
    if (options.logger) this.logger = options.logger;
    this.config = testConfig(options.config);
    this.prisma = testPrisma(this.config);
    this.redis = testRedis(this.config);
    this.subscriber = testRedis(this.config);
    this.bus = new EventBus(this.redis, this.config.REDIS_KEY_PREFIX, 1_000);
    await this.subscriber.subscribe(eventKeys(this.config.REDIS_KEY_PREFIX).channel);
    this.subscriber.on("message", (_channel: string, message: string) => {
      const decoded = decodeBusMessage(message);
      if (decoded) {
        this.events.push({
          tenantId: decoded.tenantId,
          userId: decoded.userId,
          type: decoded.event.type,
          data: decoded.event.data as Record<string, unknown>,
        });
      }
    });
    this.workers = await startWorkers({
      config: this.config,
      prisma: this.prisma,
      composio,
      bus: this.bus,
      logger: this.logger,
      connection: () => testRedis(this.config),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.workers?.close();
    if (this.redis) await deleteRedisPrefix(this.redis, this.config.REDIS_KEY_PREFIX);
    await this.subscriber?.quit();
    await this.redis?.quit();
    await this.prisma?.$disconnect();
  }

  /** Adds a job and waits until it has finished (completed or failed for good). */
  async run(queue: Queue, name: string, data: unknown, options: JobsOptions & { jobId?: string } = {}, timeoutMs = 15_000): Promise<Job> {
    const jobId = options.jobId ?? crypto.randomUUID();
    await queue.add(name, data, { ...FAST_RETRIES, ...options, jobId });
    return this.finished(queue, jobId, timeoutMs);
  }

  finished(queue: Queue, jobId: string, timeoutMs = 15_000): Promise<Job> {
    return waitFor(
      async () => {
        const job = await Job.fromId(queue, jobId);
        return job?.finishedOn ? job : undefined;
      },
      { what: `job ${jobId} of ${queue.name}`, timeoutMs },
    );
  }

  eventsOf<D = Record<string, unknown>>(type: EventType, match: (data: D) => boolean = () => true): Array<PublishedEvent<D>> {
    return (this.events as Array<PublishedEvent<D>>).filter((e) => e.type === type && match(e.data));
  }

  waitForEvent<D = Record<string, unknown>>(type: EventType, match: (data: D) => boolean, what = type): Promise<PublishedEvent<D>> {
    return waitFor(() => this.eventsOf<D>(type, match)[0], { what });
  }

  /** A connection row as the connection job leaves it (tests put the account at the fake or the emulator). */
  async connection(input: {
    tenantId: string;
    userId?: string;
    toolkit?: string;
    status: ConnectionStatus;
    composioAccountId: string | null;
    labels?: string[];
    expiresAt?: Date | null;
  }): Promise<Connection> {
    return this.prisma.connection.create({
      data: {
        id: crypto.randomUUID(),
        tenantId: input.tenantId,
        userId: input.userId ?? "alice",
        toolkitSlug: input.toolkit ?? "github",
        status: input.status,
        composioAccountId: input.composioAccountId,
        labels: input.labels ?? [],
        expiresAt: input.expiresAt ?? null,
      },
    });
  }
}

/** A logger that keeps every line (as JSON text) in `lines`, to check what reaches the logs. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push(JSON.stringify({ level, args }, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v)));
    };
  const logger: Record<string, unknown> = { level: "trace" };
  for (const level of ["fatal", "error", "warn", "info", "debug", "trace"]) logger[level] = record(level);
  logger.child = (bindings: unknown) => {
    lines.push(JSON.stringify({ child: bindings }));
    return logger;
  };
  logger.isLevelEnabled = () => true;
  return { logger: logger as unknown as Logger, lines };
}
