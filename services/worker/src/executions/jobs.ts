import { executionFairShare } from "@kronos/shared";
import type { JobHandler } from "../jobs/registry.js";
import { executeTool, markExecutionFailed } from "./execute-tool.js";

/**
 * Runs one tool at Composio; an execution that fails for good ends FAILED with the reason and one event. Either way
 * the tenant's fair share is released (the gateway admitted it when queueing, see FairShare).
 */
export const executeToolJob: JobHandler<"toolExecution"> = {
  callsComposio: true,
  async run(data, { log, attempt }, ctx) {
    const result = await executeTool({ ...ctx, logger: log }, data, attempt);
    await executionFairShare(ctx.redis, ctx.config.REDIS_KEY_PREFIX).release(data.tenantId);
    return result;
  },
  async endRecord(data, failure, ctx, log) {
    await markExecutionFailed({ ...ctx, logger: log }, data, failure);
    await executionFairShare(ctx.redis, ctx.config.REDIS_KEY_PREFIX).release(data.tenantId);
  },
};
