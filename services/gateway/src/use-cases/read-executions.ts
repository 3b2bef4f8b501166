import {
  decodeJobFailure,
  type ExecuteToolJob,
  type ExecutionAuthorization,
  type ExecutionView,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { pendingExecutionView, toExecutionView } from "../lib/execution-view.js";

export const executionPath = (executionId: string) => `/api/v1/composio/executions/${executionId}`;

/** An execution of the caller (of its user, for a user token): its row, or its job while no row exists yet. */
export async function getExecution(ctx: GatewayContext, principal: Principal, executionId: string): Promise<ExecutionView> {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (row) return toExecutionView(row, await authorizationOf(ctx, row));
  const job = await ctx.queues.toolExecution.getJob(executionId);
  const data = job?.data as ExecuteToolJob | undefined;
  if (!job || !data || data.tenantId !== principal.tenantId || (principal.kind === "user" && data.userId !== principal.userId))
    throw notFound("Execution");
  const state = await job.getState();
  if (state === "failed") return pendingExecutionView(job, "FAILED", decodeJobFailure(job.failedReason));
  return pendingExecutionView(job, state === "active" ? "RUNNING" : "QUEUED", null);
}

/** The sign-in an AWAITING_AUTH execution waits for (its connection's link); undefined for any other. */
export async function authorizationOf(
  ctx: GatewayContext,
  row: { status: string; connectionId: string | null; parkedUntil: Date | null },
): Promise<ExecutionAuthorization | undefined> {
  if (row.status !== "AWAITING_AUTH" || !row.connectionId) return undefined;
  const connection = await ctx.prisma.connection.findUnique({
    where: { id: row.connectionId },
    select: { redirectUrl: true, expiresAt: true },
  });
  const expiresAt = connection?.expiresAt ?? row.parkedUntil;
  return { connection_id: row.connectionId, redirect_url: connection?.redirectUrl ?? null, expires_at: expiresAt?.toISOString() ?? null };
}
