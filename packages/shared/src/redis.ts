import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection suitable for BullMQ (which requires `maxRetriesPerRequest: null`) and for pub/sub.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

export type { Redis };
