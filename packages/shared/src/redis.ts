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
 * For a connection that serves requests (the gateway's): a command fails at once while Redis is disconnected (no
 * offline queue that would run it later, after the caller was answered) and after REDIS_COMMAND_TIMEOUT_MS when Redis
 * does not answer (a partition), so that a request gets a clear 503 rather than a hang. Blocking readers made from
 * it (queue events) must not inherit the timeout: see `blockingOptionsOf`.
 */
export function requestPathRedisOptions(config: { REDIS_COMMAND_TIMEOUT_MS: number }): RedisOptions {
  return { enableOfflineQueue: false, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS };
}

/** The options of `redis` for a blocking reader of its own (BullMQ makes the client): no command timeout, an offline queue. */
export function blockingOptionsOf(redis: Redis): RedisOptions {
  const { commandTimeout: _timeout, ...options } = redis.options;
  return { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null };
}

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
