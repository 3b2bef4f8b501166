import { createPrismaClient } from "@kronos/db";
import { stopOnSignals } from "@kronos/service-kit";
import { createLogger, createRedis, loadConfigOrExit } from "@kronos/shared";
import { buildGatewayApp } from "./app.js";

const config = loadConfigOrExit("gateway");
const logger = createLogger("gateway", config.LOG_LEVEL, { format: config.LOG_FORMAT });
const prisma = createPrismaClient(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
// No auto-pipelining: measured, it cost the accept path a quarter of its throughput (docs/development.md).
const redis = createRedis(config.REDIS_URL);
redis.on("error", (error) => logger.error({ err: error }, "redis error"));

const app = await buildGatewayApp({ config, prisma, redis, logger });

stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Stops accepting connections and waits for in-flight requests; its onClose hook closes the queues, the
  // queue-event readers and the flow producer. Then the connections the app borrowed.
  stop: async () => {
    await app.close();
    await prisma.$disconnect();
    await redis.quit();
  },
});

try {
  await app.listen({ host: config.HOST, port: config.GATEWAY_PORT });
} catch (error) {
  logger.fatal({ err: error }, "cannot listen");
  await prisma.$disconnect();
  redis.disconnect();
  process.exit(1);
}
