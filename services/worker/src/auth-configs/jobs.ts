import type { Logger } from "@kronos/shared";
import { type Job, UnrecoverableError } from "bullmq";
import { describeError, isLastAttempt, isRateLimited } from "../jobs/failure-policy.js";
import type { JobHandler } from "../jobs/registry.js";
import { runAuthConfigOp } from "./auth-config-ops.js";

/** create, update, delete, set_enabled on a tenant's custom auth config. */
export const authConfigOpJob: JobHandler<"authConfig"> = {
  callsComposio: true,
  async run(data, { job, log, attempt }, ctx) {
    let over = false;
    try {
      const result = await runAuthConfigOp({ ...ctx, logger: log }, data, attempt);
      over = true;
      return result;
    } catch (error) {
      over = error instanceof UnrecoverableError || (!isRateLimited(error) && isLastAttempt(attempt));
      throw error;
    } finally {
      // The sealed secret has no use once the job is over (done or given up): it does not stay in Redis.
      if (over) await forgetSealedCredentials(job, log);
    }
  },
};

/** Drops the sealed credentials from a finished auth-config job's data (kept while a retry may need them). */
async function forgetSealedCredentials(job: Job, log: Logger): Promise<void> {
  const data = job.data as { sealedCredentials?: unknown } | undefined;
  if (!data || data.sealedCredentials === undefined) return;
  const { sealedCredentials: _dropped, ...rest } = data;
  await job.updateData(rest).catch((error: unknown) => log.warn({ err: describeError(error) }, "could not drop the sealed credentials"));
}
