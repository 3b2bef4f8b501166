import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection suitable for BullMQ (which requires `maxRetriesPerRequest: null`) and for pub/sub.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

export type { Redis };

/**
 * A Lua script run with EVALSHA (its hash travels, not its text); a Redis that has not seen it yet (restarted,
 * flushed) gets the text once, through EVAL.
 */
export function luaScript(source: string): (redis: Redis, keys: string[], args: Array<string | number>) => Promise<unknown> {
  const sha = createHash("sha1").update(source).digest("hex");
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
