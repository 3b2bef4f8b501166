import { createDatabase, databaseOptions } from "@kronos/db";
import { stopOnSignals } from "@kronos/service-kit";
import { createLogger, createRedis, enableLatencyMarks, loadConfigOrExit, requestPathRedisOptions } from "@kronos/shared";
import { buildGatewayApp } from "./app.js";

const config = loadConfigOrExit("gateway");
enableLatencyMarks(config.LATENCY_MARKS_FILE);
const logger = createLogger("gateway", config.LOG_LEVEL, { format: config.LOG_FORMAT });
const database = createDatabase(config.DATABASE_URL, databaseOptions(config));
const { prisma, sql } = database;
// No auto-pipelining: measured, it cost the accept path a quarter of its throughput (docs/development.md).
// Bounded: a Redis that is down or partitioned gives a request a 503 (or, for accepted work, a 202) within seconds.
const redis = createRedis(config.REDIS_URL, requestPathRedisOptions(config));
redis.on("error", (error) => logger.error({ err: error }, "redis error"));

const app = await buildGatewayApp({ config, prisma, sql, redis, logger });

stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Stops accepting connections and waits for in-flight requests; its onClose hook closes the queues, the
  // queue-event readers and the flow producer. Then the connections the app borrowed.
  stop: async () => {
    await app.close();
    await database.close();
    await redis.quit();
  },
});

try {
  await app.listen({ host: config.HOST, port: config.GATEWAY_PORT });
} catch (error) {
  logger.fatal({ err: error }, "cannot listen");
  await database.close();
  redis.disconnect();
  process.exit(1);
}
