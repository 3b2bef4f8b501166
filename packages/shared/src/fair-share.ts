import type { Redis } from "ioredis";
import { isInfrastructureError } from "./infrastructure-errors.js";
import { luaScript } from "./redis.js";

/** BullMQ's largest priority. */
export const MAX_PRIORITY = 2_097_151;
/** A tenant's count is forgotten after this long without a new job (a safety net should a release be missed). */
const COUNT_TTL_SECONDS = 3_600;

const admitScript = luaScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n`);

const releaseScript = luaScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0`);

/**
 * A fair share of a queue (and so of the Composio budget it spends) per tenant: round robin between tenants, by
 * BullMQ priorities. A job's priority is its tenant's number of jobs outstanding when it is queued (1 for the first,
 * 2 for the second, ...), and lower priorities run first (FIFO within one priority). A tenant that queues a thousand
 * jobs gives them priorities 1 to 1,000; another tenant's job then gets 1 and runs next, not after the thousand.
 *
 * Every add of a job `admit`s first (every job of the queue must have a priority: BullMQ runs jobs without one
 * first): the gateway's accept, an execution queued again after an approval or a sign-in (`queueExecution`), the
 * sweeper's re-drive of a job Redis lost. The worker `release`s when the job is finished for good (done, parked, or
 * failed after its last attempt).
 */
export class FairShare {
  constructor(
    private readonly redis: Redis,
    prefix: string,
    name: string,
    private readonly keyPrefix = `${prefix}:fair-share:${name}:`,
  ) {}

  /** The priority of a new job of this tenant. */
  async admit(tenantId: string): Promise<number> {
    const outstanding = Number(await admitScript(this.redis, [this.keyPrefix + tenantId], [COUNT_TTL_SECONDS]));
    return Math.min(Math.max(outstanding, 1), MAX_PRIORITY);
  }

  /**
   * `admit`, or, with Redis unreachable, the last priority, uncounted (the job is still queued, durably, from its
   * record): the release at its end then gives back one share too many, which the count's floor (0) and its expiry
   * bound.
   */
  async admitOrLast(tenantId: string): Promise<{ priority: number; counted: boolean }> {
    try {
      return { priority: await this.admit(tenantId), counted: true };
    } catch (error) {
      if (isInfrastructureError(error)) return { priority: MAX_PRIORITY, counted: false };
      throw error;
    }
  }

  /** One of the tenant's jobs is finished (or was never queued). */
  async release(tenantId: string): Promise<void> {
    await releaseScript(this.redis, [this.keyPrefix + tenantId], []);
  }
}

/** The fair share of tool executions (one name for the gateway that admits and the worker that releases). */
export const executionFairShare = (redis: Redis, prefix: string) => new FairShare(redis, prefix, "executions");
