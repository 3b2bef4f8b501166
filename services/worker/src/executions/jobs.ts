import { executionFairShare } from "@kronos/shared";
import type { JobContext } from "../jobs/context.js";
import type { JobHandler } from "../jobs/registry.js";
import { describeExecuteRefusal, executeTool, markExecutionFailed } from "./execute-tool.js";
import { abandonSignIn } from "./sign-in-on-demand.js";

/**
 * Runs one tool at Composio; an execution that fails for good ends FAILED with the reason and one event. Either way
 * the tenant's fair share is given back (the gateway took it when queueing, see FairShare in packages/shared).
 */
export const executeToolJob: JobHandler<"toolExecution"> = {
  callsComposio: true,
  concurrency: (config) => config.EXECUTION_CONCURRENCY,
  async run(data, { log }, ctx) {
    const result = await executeTool({ ...ctx, logger: log, signIn: ctx }, data);
    await releaseShare(ctx, data.tenantId);
    return result;
  },
  describe4xx: (error, data) => describeExecuteRefusal(error, data.toolSlug),
  async endRecord(data, failure, ctx, log, recordCode) {
    const error = await abandonSignIn({ ...ctx, logger: log }, data, { code: recordCode ?? failure.code, message: failure.message });
    await markExecutionFailed({ ...ctx, logger: log }, data, error);
    await releaseShare(ctx, data.tenantId);
  },
};

/** Best effort: the execution is done whatever happens here (a missed release is forgotten with the count's TTL). */
async function releaseShare(ctx: JobContext, tenantId: string): Promise<void> {
  await executionFairShare(ctx.redis, ctx.config.REDIS_KEY_PREFIX)
    .release(tenantId)
    .catch((error: unknown) => ctx.logger.warn({ err: error, tenantId }, "releasing the fair share failed"));
}
