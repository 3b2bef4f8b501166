import { describeComposioRefusal } from "../jobs/failure-policy.js";
import { redisCursor } from "../jobs/redis-cursor.js";
import type { JobHandler } from "../jobs/registry.js";
import { reconcileTriggers } from "./reconcile-triggers.js";
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

/** The repeatable comparison of our triggers with Composio's trigger instances (TRIGGER_RECONCILE_INTERVAL_SECONDS). */
export const reconcileTriggersJob: JobHandler<"triggerReconcile"> = {
  callsComposio: true,
  // One run at a time per process; runs in several processes are safe (conditional status changes).
  concurrency: () => 1,
  waitsOnInfrastructure: false,
  run(data, { log }, ctx) {
    const tenantId = data.tenantId;
    const key = `${ctx.config.REDIS_KEY_PREFIX}:trigger-reconcile:cursor${tenantId ? `:${tenantId}` : ""}`;
    return reconcileTriggers({
      prisma: ctx.prisma,
      composio: ctx.composio,
      bus: ctx.bus,
      logger: log,
      cursor: redisCursor(ctx.redis, key),
      ...(tenantId ? { tenantId } : {}),
    });
  },
};
