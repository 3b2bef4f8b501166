import { createDatabase, databaseOptions } from "@kronos/db";
import { createRedis, loadConfigOrExit } from "@kronos/shared";
import { buildWebhooksApp } from "./app.js";

const config = loadConfigOrExit("webhooks");
const database = createDatabase(config.DATABASE_URL, databaseOptions(config));
const { prisma, sql } = database;
const redis = createRedis(config.REDIS_URL);
const subscriber = createRedis(config.REDIS_URL);
const app = await buildWebhooksApp({ config, prisma, sql, redis, subscriber });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, "shutting down");
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  try {
    // Stops accepting, closes every socket with 1001, unsubscribes.
    await app.close();
    await Promise.allSettled([subscriber.quit(), redis.quit(), database.close()]);
    process.exit(0);
  } catch (error) {
    app.log.error({ err: error }, "shutdown failed");
    process.exit(1);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

// A deep accept queue (Node's default is 511): a burst of new connections waits to be accepted instead of being
// dropped or reset by the kernel while the event loop is busy (the kernel caps it at net.core.somaxconn).
await app.listen({ host: config.HOST, port: config.WEBHOOKS_PORT, backlog: 4096 });
