import type { JobHandler } from "../jobs/registry.js";
import { executeTool, markExecutionFailed } from "./execute-tool.js";

/** Runs one tool at Composio; an execution that fails for good ends FAILED with the reason and one event. */
export const executeToolJob: JobHandler<"toolExecution"> = {
  callsComposio: true,
  run: (data, { log, attempt }, ctx) => executeTool({ ...ctx, logger: log }, data, attempt),
  async endRecord(data, failure, ctx, log) {
    await markExecutionFailed({ ...ctx, logger: log }, data, failure);
  },
};
