import { describeError } from "../jobs/failure-policy.js";
import type { JobHandler } from "../jobs/registry.js";
import { runAuthConfigOp } from "./auth-config-ops.js";

/** create, update, delete, set_enabled on a tenant's custom auth config. */
export const authConfigOpJob: JobHandler<"authConfig"> = {
  callsComposio: true,
  run: (data, { log }, ctx) => runAuthConfigOp({ ...ctx, logger: log }, data),
  // The sealed secret has no use once the job is over (done or given up): it does not stay in Redis.
  async whenOver({ job, log }) {
    const data = job.data as { sealedCredentials?: unknown } | undefined;
    if (!data || data.sealedCredentials === undefined) return;
    const { sealedCredentials: _dropped, ...rest } = data;
    await job.updateData(rest).catch((error: unknown) => log.warn({ err: describeError(error) }, "could not drop the sealed credentials"));
  },
};
