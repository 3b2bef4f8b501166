import type { Redis } from "@kronos/shared";

/** Where a repeatable batch job's previous run stopped (the last id it read), shared by every worker process. */
export interface RunCursor {
  get(): Promise<string | null>;
  set(lastId: string | null): Promise<void>;
}

/** A RunCursor in one Redis key (kept a week: a cursor older than that starts the walk again, which is harmless). */
export function redisCursor(redis: Redis, key: string): RunCursor {
  return {
    get: () => redis.get(key),
    async set(lastId) {
      if (lastId) await redis.set(key, lastId, "EX", 7 * 24 * 3600);
      else await redis.del(key);
    },
  };
}
