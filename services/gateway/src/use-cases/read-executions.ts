import { decodeJobFailure, type ExecuteToolJob, type ExecutionView, notFound, type Principal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { pendingExecutionView, toExecutionView } from "../lib/execution-view.js";

export const executionPath = (executionId: string) => `/api/v1/composio/executions/${executionId}`;

/** An execution of the caller (of its user, for a user token): its row, or its job while no row exists yet. */
export async function getExecution(ctx: GatewayContext, principal: Principal, executionId: string): Promise<ExecutionView> {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (row) return toExecutionView(row);
  const job = await ctx.queues.toolExecution.getJob(executionId);
  const data = job?.data as ExecuteToolJob | undefined;
  if (!job || !data || data.tenantId !== principal.tenantId || (principal.kind === "user" && data.userId !== principal.userId))
    throw notFound("Execution");
  const state = await job.getState();
  if (state === "failed") return pendingExecutionView(job, "FAILED", decodeJobFailure(job.failedReason));
  return pendingExecutionView(job, state === "active" ? "RUNNING" : "QUEUED", null);
}
