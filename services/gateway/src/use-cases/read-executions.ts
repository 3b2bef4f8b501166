import type { Prisma } from "@kronos/db";
import { toExecutionView } from "@kronos/db";
import {
  decodeJobFailure,
  type ExecuteToolJob,
  type ExecutionAuthorization,
  type ExecutionView,
  type ListExecutionsQuery,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { findAcceptedJob, jobOrNothing } from "../lib/accepted-jobs.js";
import { decodeCursor, encodeCursor } from "../lib/cursor.js";
import { pendingExecutionView } from "../lib/execution-view.js";
import { scopedUserId } from "../lib/principal.js";

export const executionPath = (executionId: string) => `/api/v1/composio/executions/${executionId}`;

/** An execution of the caller (of its user, for a user token): its row, or its job while no row exists yet. */
export async function getExecution(ctx: GatewayContext, principal: Principal, executionId: string): Promise<ExecutionView> {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (row) return toExecutionView(row, await authorizationOf(ctx, row));
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

/**
 * The caller's executions that have a row (a user token: its own user's only), newest first, a page at a time.
 * Executions still only a queued job are not listed: what this list is for (the parked ones, the finished ones) has a row.
 */
export async function listExecutions(ctx: GatewayContext, principal: Principal, query: ListExecutionsQuery) {
  const userId = scopedUserId(principal, query.user_id);
  const filters: Prisma.ExecutionWhereInput[] = [{ tenantId: principal.tenantId }];
  if (userId !== undefined) filters.push({ userId });
  if (query.status) filters.push({ status: query.status });
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    filters.push({ OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] });
  }
  const rows = await ctx.prisma.execution.findMany({
    where: { AND: filters },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const items = await Promise.all(page.map(async (row) => toExecutionView(row, await authorizationOf(ctx, row))));
  return { items, next_cursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}
