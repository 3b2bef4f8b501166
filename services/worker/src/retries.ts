import type { Config } from "@kronos/shared";
import type { Attempt } from "./failures.js";

/**
 * Which attempt this is. The last one is the earlier of the job's own `attempts` and COMPOSIO_MAX_ATTEMPTS, so a job
 * added with more attempts than Composio may take still gives up in time, with its reason.
 */
export function attemptOf(
  job: { attemptsMade: number; opts: { attempts?: number } },
  config: Pick<Config, "COMPOSIO_MAX_ATTEMPTS">,
): Attempt {
  return { attemptsMade: job.attemptsMade, maxAttempts: Math.max(1, Math.min(job.opts.attempts ?? 1, config.COMPOSIO_MAX_ATTEMPTS)) };
}
