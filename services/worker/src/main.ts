import { createDatabase } from "@kronos/db";
import { stopOnSignals } from "@kronos/service-kit";
import {
  composioBudgetKey,
  createComposioClient,
  createLogger,
  createMetricsRegistry,
  createQueue,
  createRedis,
  EventBus,
  loadConfigOrExit,
  RateBudget,
  WebhookOutbox,
  withRateBudget,
} from "@kronos/shared";
import { buildHealthServer } from "./health.js";
import { startWebhookSweeper } from "./webhook-deliveries/sweeper.js";
import { startWorkers } from "./workers.js";

const config = loadConfigOrExit("worker");
const logger = createLogger("worker", config.LOG_LEVEL, { format: config.LOG_FORMAT });
const database = createDatabase(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
const { prisma, sql } = database;
const redis = createRedis(config.REDIS_URL);
const bus = new EventBus(redis, config.REDIS_KEY_PREFIX, config.EVENT_RETENTION_COUNT);
// Every event published here (connection, execution, bulk, trigger events) also gets its outbox rows: wired before
// any job runs, so no event misses its webhook deliveries.
const deliveryQueue = createQueue("webhookDelivery", { connection: redis, prefix: config.REDIS_KEY_PREFIX });
const outbox = new WebhookOutbox(sql, deliveryQueue);
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
const sweeper = startWebhookSweeper({ sql, queue: deliveryQueue, intervalMs: config.WEBHOOK_SWEEP_INTERVAL_MS, logger });
const health = buildHealthServer({ metrics: { registry, adminToken: config.ADMIN_TOKEN }, logger });
await health.listen({ host: config.HOST, port: config.WORKER_PORT });
logger.info({ host: config.HOST, port: config.WORKER_PORT }, "worker listening");

stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Every worker stops taking jobs and waits for its active ones; then the connections close. Jobs still active at
  // the timeout are handed back by BullMQ's stalled-job check to the next worker: nothing is lost.
  stop: async () => {
    sweeper.stop();
    await workers.close();
    await deliveryQueue.close();
    await health.close();
    await database.close();
    await redis.quit();
  },
});
