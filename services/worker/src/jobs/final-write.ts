import type { Config, Logger } from "@kronos/shared";
import { describeError } from "./failure-policy.js";

/**
 * Writes a final state, retrying with a capped backoff while Postgres or Redis is unreachable: a record left
 * RUNNING or INITIALIZING forever is worse than a late one. Gives up (logged) after INFRA_RETRY_MAX_MS.
 */
export async function retryFinalWrite(
  write: () => Promise<unknown>,
  config: Pick<Config, "INFRA_RETRY_MAX_DELAY_MS" | "INFRA_RETRY_MAX_MS">,
  log: Logger,
): Promise<boolean> {
  const deadline = Date.now() + config.INFRA_RETRY_MAX_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await write();
      return true;
    } catch (error) {
      const delayMs = Math.min(config.INFRA_RETRY_MAX_DELAY_MS, 200 * 2 ** Math.min(attempt, 20));
      if (Date.now() + delayMs > deadline) {
        log.error({ err: describeError(error) }, "could not write the final state of a failed job; giving up");
        return false;
      }
      log.warn({ err: describeError(error), delayMs }, "could not write the final state of a failed job; retrying");
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
