import { randomUUID } from "node:crypto";
import {
  AppError,
  actorOf,
  type CONNECTION_OPS,
  type ConnectionOpJob,
  type ConnectionView,
  connectionOpResultSchema,
  connectionStatusSchema,
  JOBS,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { connectionRefWhere } from "../lib/connection-ref.js";
import { toConnectionView } from "../lib/connection-view.js";
import { addAndWait } from "../lib/job-wait.js";
import { scopedUserId } from "../lib/principal.js";
import { connectionPath } from "./initiate-connection.js";

export type ConnectionOp = (typeof CONNECTION_OPS)[number];

export type ConnectionOpOutcome =
  | { kind: "done"; body: ConnectionView }
  | { kind: "deleted" }
  | { kind: "accepted"; body: { connection_id: string; op: ConnectionOp; status: "PENDING"; poll_url: string } };

/**
 * Enable, disable, refresh, delete or relabel a connection of the caller: the worker does it (at Composio and in
 * our table); the answer is the row read back, or 202 when the job takes longer than CONNECT_WAIT_MS.
 */
export async function changeConnection(
  ctx: GatewayContext,
  principal: Principal,
  connectionRef: string,
  op: ConnectionOp,
  labels?: string[],
): Promise<ConnectionOpOutcome> {
  const userId = scopedUserId(principal, undefined);
  const own = await ctx.prisma.connection.findFirst({
    where: { ...connectionRefWhere(connectionRef), tenantId: principal.tenantId, ...(userId === undefined ? {} : { userId }) },
    select: { id: true },
  });
  if (!own) throw notFound("Connection");
  const connectionId = own.id;

  const base = { tenantId: principal.tenantId, connectionId, actor: actorOf(principal) };
  const data: ConnectionOpJob = op === "update_labels" ? { ...base, op, labels: labels ?? [] } : { ...base, op };
  const jobId = randomUUID();
  const { connectionOps: queue, connectionOpsEvents: events } = ctx.queues;
  const outcome = await addAndWait({ queue, events, jobId }, ctx.config.CONNECT_WAIT_MS, () =>
    queue.add(JOBS.connectionOp, data, { jobId, attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS }),
  );
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  if (outcome.state === "pending") {
    return { kind: "accepted", body: { connection_id: connectionId, op, status: "PENDING", poll_url: connectionPath(connectionId) } };
  }
  const result = connectionOpResultSchema.safeParse(outcome.value);
  if (!result.success) throw new AppError("UPSTREAM_ERROR", "The connection job returned an unexpected result");
  if (op === "delete") return { kind: "deleted" };

  const row = await ctx.prisma.connection.findFirst({ where: { id: connectionId, tenantId: principal.tenantId } });
  if (!row) throw notFound("Connection");
  const view = toConnectionView(row);
  // Refresh: the job's answer carries the new link even if the row was read a moment early.
  if (op === "refresh" && result.data.redirect_url) {
    view.redirect_url = result.data.redirect_url;
    const status = connectionStatusSchema.safeParse(result.data.status);
    if (status.success) view.status = status.data;
  }
  return { kind: "done", body: view };
}
