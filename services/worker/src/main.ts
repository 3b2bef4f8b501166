import { createDatabase, databaseOptions } from "@kronos/db";
import { stopOnSignals } from "@kronos/service-kit";
import {
  composioBudgetKey,
  createComposioClient,
  createLogger,
  createMetricsRegistry,
  createRedis,
  EventBus,
  enableLatencyMarks,
  loadConfigOrExit,
  RateBudget,
  WebhookOutbox,
  withDeadline,
  withRateBudget,
} from "@kronos/shared";
import { buildHealthServer } from "./health.js";
import { startWebhookSweeper } from "./webhook-deliveries/sweeper.js";
import { startWorkers } from "./workers.js";

const config = loadConfigOrExit("worker");
enableLatencyMarks(config.LATENCY_MARKS_FILE);
const logger = createLogger("worker", config.LOG_LEVEL, { format: config.LOG_FORMAT });
const database = createDatabase(config.DATABASE_URL, databaseOptions(config));
const { prisma, sql } = database;
const redis = createRedis(config.REDIS_URL);
const bus = new EventBus(redis, config.REDIS_KEY_PREFIX, config.EVENT_RETENTION_COUNT);
// Every event published here (connection, execution, bulk, trigger events) also gets its outbox rows: wired before
// any job runs, so no event misses its webhook deliveries.
const outbox = new WebhookOutbox(sql, {
  redis,
  prefix: config.REDIS_KEY_PREFIX,
  onLaneError: (error) => logger.warn({ err: error }, "could not push webhook deliveries on the lane; the sweeper will deliver them"),
});
bus.afterPublish((event, draft) => outbox.record(event, draft.tenantId));
// Every Composio call of every process (the gateway's too) counts against one budget in Redis: however many
// workers run, the organisation's limit is not exceeded.
const composio = withRateBudget(
  createComposioClient({ apiKey: config.COMPOSIO_API_KEY, baseUrl: config.COMPOSIO_BASE_URL, timeoutMs: config.COMPOSIO_TIMEOUT_MS }),
  new RateBudget(redis, composioBudgetKey(config.REDIS_KEY_PREFIX), config.COMPOSIO_REQUESTS_PER_MINUTE),
);
const registry = createMetricsRegistry("worker");

const workers = await startWorkers({
  config,
  prisma,
  sql,
  composio,
  bus,
  logger,
  connection: () => createRedis(config.REDIS_URL),
  metrics: registry,
});
// Deliveries whose job was lost (a killed worker, a Redis restart) are re-enqueued from their outbox rows.
const sweeper = startWebhookSweeper({
  sql,
  queue: workers.queues.webhookDelivery,
  intervalMs: config.WEBHOOK_SWEEP_INTERVAL_MS,
  logger,
});
const health = buildHealthServer({ metrics: { registry, adminToken: config.ADMIN_TOKEN }, logger });
await health.listen({ host: config.HOST, port: config.WORKER_PORT });
logger.info({ host: config.HOST, port: config.WORKER_PORT }, "worker listening");

/** Resolves true once Redis fails to answer a PING within a second (checked every second). */
function redisUnreachable(): Promise<true> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      withDeadline(redis.ping(), 1_000, "Redis").catch(() => {
        clearInterval(check);
        resolve(true);
      });
    }, 1_000);
    check.unref();
  });
}

stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Every worker stops taking jobs and waits for its active ones; then the connections close. Jobs still active at
  // the timeout are handed back by BullMQ's stalled-job check to the next worker: nothing is lost.
  stop: async () => {
    sweeper.stop();
    // Redis unreachable: active jobs can neither finish nor be handed back, so waiting for them only delays the stop
    // (SHUTDOWN_TIMEOUT_MS, then exit 1). Their records stay pending: the stalled-job check and the sweepers pick them
    // up again when a worker runs with Redis back. Nothing is lost.
    const away = await Promise.race([workers.close().then(() => false), redisUnreachable()]);
    if (away) logger.warn("Redis is unreachable while stopping: not waiting for active jobs");
    await health.close();
    await database.close();
    if (away) redis.disconnect();
    else await redis.quit();
  },
});
