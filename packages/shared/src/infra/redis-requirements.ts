import type { Redis } from "ioredis";

/**
 * What the queues need of Redis (docs/operations.md): persistence (AOF or RDB snapshots), so that a restart keeps the
 * jobs; and `maxmemory-policy noeviction`, so that a full Redis refuses writes instead of silently evicting jobs.
 * Returns one sentence per unmet requirement (empty: all met). A Redis that refuses CONFIG (some managed services)
 * gives one sentence saying the settings could not be checked.
 */
export async function checkRedisRequirements(redis: Redis): Promise<string[]> {
  let settings: Record<string, string>;
  try {
    const pairs = (await redis.call("CONFIG", "GET", "*")) as string[];
    settings = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) settings[String(pairs[i])] = String(pairs[i + 1]);
  } catch (error) {
    return [`could not read the Redis configuration (${(error as Error).message}): check persistence and maxmemory-policy by hand`];
  }
  const problems: string[] = [];
  const aof = settings.appendonly === "yes";
  const rdb = (settings.save ?? "").trim().length > 0;
  if (!aof && !rdb) {
    problems.push('Redis has no persistence (appendonly no, save ""): a restart loses every queued job; set appendonly yes');
  }
  const policy = settings["maxmemory-policy"];
  if (policy !== undefined && policy !== "noeviction") {
    problems.push(`Redis maxmemory-policy is "${policy}": it may evict queued jobs when full; set maxmemory-policy noeviction`);
  }
  return problems;
}

/** Logs each unmet requirement as a warning, once, at start-up (never fatal: the sweeper still re-drives lost jobs). */
export async function warnAboutRedisRequirements(redis: Redis, logger: { warn(object: object, message: string): void }): Promise<string[]> {
  const problems = await checkRedisRequirements(redis);
  for (const problem of problems) logger.warn({ requirement: problem }, `Redis is not set up as the queues need: ${problem}`);
  return problems;
}
