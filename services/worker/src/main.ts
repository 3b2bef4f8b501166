import { createPrismaClient } from "@kronos/db";
import { createComposioClient, createLogger, createRedis, EventBus, loadConfigOrExit } from "@kronos/shared";
import { buildHealthServer } from "./health.js";
import { startWorkers } from "./workers.js";

const config = loadConfigOrExit("worker");
const logger = createLogger("worker", config.LOG_LEVEL);
const prisma = createPrismaClient(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE });
const redis = createRedis(config.REDIS_URL);
const bus = new EventBus(redis, config.REDIS_KEY_PREFIX, config.EVENT_RETENTION_COUNT);
const composio = createComposioClient({
  apiKey: config.COMPOSIO_API_KEY,
  baseUrl: config.COMPOSIO_BASE_URL,
  timeoutMs: config.COMPOSIO_TIMEOUT_MS,
});

const workers = await startWorkers({ config, prisma, composio, bus, logger, connection: () => createRedis(config.REDIS_URL) });
const health = buildHealthServer();
await health.listen({ host: config.HOST, port: config.WORKER_PORT });
logger.info({ host: config.HOST, port: config.WORKER_PORT }, "worker listening");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down: letting active jobs finish");
  const timer = setTimeout(() => {
    logger.error("shutdown took too long; exiting");
    process.exit(1);
  }, 60_000);
  timer.unref();
  try {
    await workers.close();
    await health.close();
    await prisma.$disconnect();
    await redis.quit();
    logger.info("stopped");
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, "error while shutting down");
    process.exit(1);
  }
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
