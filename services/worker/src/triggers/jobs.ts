import { describeComposioRefusal } from "../jobs/failure-policy.js";
import type { JobHandler } from "../jobs/registry.js";
import { markTriggerCreateFailed, runTriggerOp } from "./trigger-ops.js";

/** create, enable, disable, update, delete a trigger (at Composio and in our table). */
export const triggerOpJob: JobHandler<"triggerOps"> = {
  callsComposio: true,
  async run(data, { log }, ctx) {
    const result = await runTriggerOp({ ...ctx, logger: log }, data);
    log.info({ op: data.op, status: result.status }, "trigger op done");
    return result;
  },
  describe4xx: (error) => describeComposioRefusal(error, "The trigger"),
  // A create that failed for good by any path (stalled too often included) does not stay PENDING.
  async endRecord(data, failure, ctx, log) {
    if (data.op === "create") await markTriggerCreateFailed({ ...ctx, logger: log }, data, failure.message);
  },
};
