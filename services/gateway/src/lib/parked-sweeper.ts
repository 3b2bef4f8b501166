import { endAuthParked, resumeAuthParked } from "@kronos/db";
import { isSettled, PARKED_EXECUTION_STATUSES, queueExecution, SYSTEM_ACTOR } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { expireExecution, requeueOf } from "../use-cases/execution-decisions.js";

const BATCH = 100;

/**
 * Every `intervalMs`, on every gateway: ends parked executions whose time is up (EXPIRED), so that an approval nobody
 * answers or a sign-in nobody finishes expires without anyone asking; and wakes what a missed wake-up left parked on
 * a connection that has settled (ACTIVE: queued again; anything else: ended). Each change is a conditional UPDATE,
 * so two sweeps (or a sweep and the worker's own wake-up) never both make it.
 */
export interface ParkedSweepOptions {
  /** 0: no sweep. */
  intervalMs: number;
  /**
   * Only these tenants' executions. Tests: files share one database but each has its own Redis prefix, and a sweep
   * that ended another file's execution would publish its events to the wrong stream (and queue a woken one on the
   * wrong queues). A deployment sweeps every tenant.
   */
  tenantIds?: () => readonly string[];
}

export function startParkedSweeper(ctx: GatewayContext, options: ParkedSweepOptions, onError: (error: unknown) => void): () => void {
  if (options.intervalMs <= 0) return () => {};
  const scope = () => (options.tenantIds ? { tenantId: { in: [...options.tenantIds()] } } : {});
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const due = await ctx.prisma.execution.findMany({
        where: { status: { in: [...PARKED_EXECUTION_STATUSES] }, parkedUntil: { lte: new Date() }, ...scope() },
        select: { id: true, tenantId: true, status: true },
        take: BATCH,
      });
      for (const row of due) await expireExecution(ctx, row);
      await wakeMissed(ctx, scope());
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function wakeMissed(ctx: GatewayContext, scope: { tenantId?: { in: string[] } }): Promise<void> {
  const parked = await ctx.prisma.execution.findMany({
    where: { status: "AWAITING_AUTH", connectionId: { not: null }, ...scope },
    select: { connectionId: true },
    distinct: ["connectionId"],
    take: BATCH,
  });
  const ids = parked.map((p) => p.connectionId).filter((id): id is string => id !== null);
  if (ids.length === 0) return;
  const connections = await ctx.prisma.connection.findMany({
    where: { id: { in: ids } },
    select: { id: true, status: true, statusReason: true },
  });
  for (const connection of connections) {
    if (!isSettled(connection.status)) continue;
    if (connection.status === "ACTIVE") {
      await resumeAuthParked(ctx, connection.id, SYSTEM_ACTOR, requeueOf(ctx), (job) =>
        queueExecution(ctx.queues.toolExecution, job, ctx.config.COMPOSIO_MAX_ATTEMPTS),
      );
    } else {
      await endAuthParked(ctx, connection.id, connection.status, connection.statusReason, SYSTEM_ACTOR);
    }
  }
}
