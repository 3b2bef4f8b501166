import type { Prisma } from "@kronos/db";
import {
  type ConnectionStatus,
  type ConnectionView,
  decodeJobFailure,
  type InitiateConnectionJob,
  isUuid,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { findAcceptedJob, jobOrNothing } from "../lib/accepted-jobs.js";
import { connectionRefWhere } from "../lib/connection-ref.js";
import { pendingConnectionView, toConnectionView } from "../lib/connection-view.js";
import { afterCursor, NEWEST_FIRST, pageOfRows } from "../lib/cursor.js";
import { scopedUserId } from "../lib/principal.js";

export interface ListConnectionsQuery {
  user_id?: string | undefined;
  status?: ConnectionStatus | undefined;
  label?: string | undefined;
  toolkit?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A tenant's connections (a user principal's own only), newest first, a page at a time. */
export async function listConnections(ctx: GatewayContext, principal: Principal, query: ListConnectionsQuery) {
  const userId = scopedUserId(principal, query.user_id);
  const filters: Prisma.ConnectionWhereInput[] = [{ tenantId: principal.tenantId }];
  if (userId !== undefined) filters.push({ userId });
  if (query.status) filters.push({ status: query.status });
  if (query.label) filters.push({ labels: { has: query.label } });
  if (query.toolkit) filters.push({ toolkitSlug: query.toolkit });
  if (query.cursor) filters.push(afterCursor(query.cursor));
  const rows = await ctx.prisma.connection.findMany({
    where: { AND: filters },
    orderBy: NEWEST_FIRST,
    take: query.limit + 1,
  });
  return pageOfRows(rows, query.limit, toConnectionView);
}

/**
 * One connection of the tenant (of the user, for a user principal). Before the worker writes the row, the queued
 * job stands for it (kept for a day after it ends); anyone else's connection does not exist.
 */
export async function getConnection(ctx: GatewayContext, principal: Principal, connectionId: string): Promise<ConnectionView> {
  const userId = scopedUserId(principal, undefined);
  const row = await ctx.prisma.connection.findFirst({
    where: { ...connectionRefWhere(connectionId), tenantId: principal.tenantId, ...(userId === undefined ? {} : { userId }) },
  });
  if (row) return toConnectionView(row);
  // Only our own id can name a connection whose row is not written yet.
  if (!isUuid(connectionId)) throw notFound("Connection");

  const job = await jobOrNothing(ctx.queues.connection, connectionId);
  const mine = (data: InitiateConnectionJob | undefined) =>
    data !== undefined && data.tenantId === principal.tenantId && (userId === undefined || data.userId === userId);
  if (!job) {
    // Accepted, but no job in Redis (lost, or Redis is away): still INITIALIZING; the sweeper adds it again.
    const accepted = await findAcceptedJob(ctx, ctx.queues.connection.name, connectionId);
    const data = accepted?.data as InitiateConnectionJob | undefined;
    if (!accepted || accepted.finishedAt || !mine(data)) throw notFound("Connection");
    return pendingConnectionView({ data: data as InitiateConnectionJob, timestamp: accepted.createdAt.getTime() }, null);
  }
  const data = job.data as InitiateConnectionJob | undefined;
  if (!data || !mine(data)) throw notFound("Connection");
  const state = await job.getState();
  // A completed initiate job means the worker wrote the row: no row now means the connection was deleted.
  if (state === "completed") throw notFound("Connection");
  const failed = state === "failed";
  return pendingConnectionView(
    { data, timestamp: job.timestamp, processedOn: job.processedOn },
    failed ? { reason: decodeJobFailure(job.failedReason).message } : null,
  );
}
