import { decodeJobFailure, type ExecuteToolJob, type ExecutionView, notFound, type Principal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { findAcceptedJob, jobOrNothing } from "../lib/accepted-jobs.js";
import { pendingExecutionView, toExecutionView } from "../lib/execution-view.js";

export const executionPath = (executionId: string) => `/api/v1/composio/executions/${executionId}`;

/** An execution of the caller (of its user, for a user token): its row, or its job while no row exists yet. */
export async function getExecution(ctx: GatewayContext, principal: Principal, executionId: string): Promise<ExecutionView> {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (row) return toExecutionView(row);
  const job = await jobOrNothing(ctx.queues.toolExecution, executionId);
  const mine = (data: ExecuteToolJob | undefined) =>
    data !== undefined && data.tenantId === principal.tenantId && (principal.kind !== "user" || data.userId === principal.userId);
  if (!job) {
    // Accepted, but no job in Redis (lost, or Redis is away): still QUEUED; the sweeper adds it again.
    const accepted = await findAcceptedJob(ctx, ctx.queues.toolExecution.name, executionId);
    const data = accepted?.data as ExecuteToolJob | undefined;
    if (!accepted || accepted.finishedAt || !mine(data)) throw notFound("Execution");
    return pendingExecutionView({ data: data as ExecuteToolJob, timestamp: accepted.createdAt.getTime(), attemptsMade: 0 }, "QUEUED", null);
  }
  const data = job.data as ExecuteToolJob | undefined;
  if (!data || !mine(data)) throw notFound("Execution");
  const state = await job.getState();
  if (state === "failed") return pendingExecutionView(job, "FAILED", decodeJobFailure(job.failedReason));
  return pendingExecutionView(job, state === "active" ? "RUNNING" : "QUEUED", null);
}
