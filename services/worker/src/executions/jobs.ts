import type { JobHandler } from "../jobs/registry.js";
import { describeExecuteRefusal, executeTool, markExecutionFailed } from "./execute-tool.js";

/** Runs one tool at Composio; an execution that fails for good ends FAILED with the reason and one event. */
export const executeToolJob: JobHandler<"toolExecution"> = {
  callsComposio: true,
  // A crashed worker's executions resume within seconds: a short lock, renewed while the Composio call runs.
  workerOptions: (config) => ({
    lockDuration: config.EXECUTION_LOCK_MS,
    stalledInterval: config.EXECUTION_STALLED_CHECK_MS,
    maxStalledCount: 1,
  }),
  run: (data, { log }, ctx) => executeTool({ ...ctx, logger: log }, data),
  describe4xx: (error, data) => describeExecuteRefusal(error, data.toolSlug),
  async endRecord(data, failure, ctx, log, recordCode) {
    await markExecutionFailed({ ...ctx, logger: log }, data, { code: recordCode ?? failure.code, message: failure.message });
  },
};
