import { DEFAULT_JOB_OPTIONS, QUEUES, type Redis } from "@kronos/shared";
import { Queue, QueueEvents } from "bullmq";
import type { GatewayQueues } from "./context.js";

/** The queues the gateway adds jobs to, sharing the app's Redis connection (QueueEvents duplicates it). */
export function createGatewayQueues(redis: Redis, prefix: string): GatewayQueues & { close(): Promise<void> } {
  const defaultJobOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } };
  const connection = new Queue(QUEUES.connection, { connection: redis, prefix, defaultJobOptions });
  const statusPoll = new Queue(QUEUES.statusPoll, { connection: redis, prefix, defaultJobOptions });
  const connectionEvents = new QueueEvents(QUEUES.connection, { connection: redis, prefix });
  return {
    connection,
    statusPoll,
    connectionEvents,
    async close() {
      await Promise.allSettled([connectionEvents.close(), connection.close(), statusPoll.close()]);
    },
  };
}
