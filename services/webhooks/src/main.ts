import { createDatabase } from "@kronos/db";
import { stopOnSignals } from "@kronos/service-kit";
import { createLogger, createRedis, loadConfigOrExit } from "@kronos/shared";
import { buildWebhooksApp } from "./app.js";

const config = loadConfigOrExit("webhooks");
const logger = createLogger("webhooks", config.LOG_LEVEL, { format: config.LOG_FORMAT });
const database = createDatabase(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
const { prisma, sql } = database;
const redis = createRedis(config.REDIS_URL);
const subscriber = createRedis(config.REDIS_URL);
const app = await buildWebhooksApp({ config, prisma, sql, redis, subscriber, logger });

stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Stops accepting, closes every socket with 1001, unsubscribes; then the connections.
  stop: async () => {
    await app.close();
    await Promise.allSettled([subscriber.quit(), redis.quit(), database.close()]);
  },
});

// A deep accept queue (Node's default is 511): a burst of new connections waits to be accepted instead of being
// dropped or reset by the kernel while the event loop is busy (the kernel caps it at net.core.somaxconn).
await app.listen({ host: config.HOST, port: config.WEBHOOKS_PORT, backlog: 4096 });
