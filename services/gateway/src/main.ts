import { createPrismaClient, databaseOptions } from "@kronos/db";
import { createLogger, createRedis, loadConfigOrExit, requestPathRedisOptions } from "@kronos/shared";
import { buildGatewayApp } from "./app.js";

const config = loadConfigOrExit("gateway");
const logger = createLogger("gateway", config.LOG_LEVEL);
const prisma = createPrismaClient(config.DATABASE_URL, databaseOptions(config));
// No auto-pipelining: measured, it cost the accept path a quarter of its throughput (docs/development.md).
// Bounded: a Redis that is down or partitioned gives a request a 503 (or, for accepted work, a 202) within seconds.
const redis = createRedis(config.REDIS_URL, requestPathRedisOptions(config));
redis.on("error", (error) => logger.error({ err: error }, "redis error"));

const app = await buildGatewayApp({ config, prisma, redis, logger });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  try {
    // Stops accepting connections and waits for in-flight requests; its onClose hook closes the queues, the
    // queue-event readers and the flow producer. Then the connections the app borrowed.
    await app.close();
    await prisma.$disconnect();
    await redis.quit();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, "shutdown failed");
    process.exit(1);
  }
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

try {
  await app.listen({ host: config.HOST, port: config.GATEWAY_PORT });
} catch (error) {
  logger.fatal({ err: error }, "cannot listen");
  await prisma.$disconnect();
  redis.disconnect();
  process.exit(1);
}
