import { PARKED_EXECUTION_STATUSES } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { expireExecution } from "../use-cases/execution-decisions.js";

const BATCH = 100;

/**
 * Ends parked executions whose time is up (EXPIRED), every `intervalMs`, so that an approval nobody answers expires
 * without anyone asking. Every gateway runs it: each expiry is a conditional UPDATE, so two sweeps never both end one.
 */
export function startParkedSweeper(ctx: GatewayContext, intervalMs: number, onError: (error: unknown) => void): () => void {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const due = await ctx.prisma.execution.findMany({
        where: { status: { in: [...PARKED_EXECUTION_STATUSES] }, parkedUntil: { lte: new Date() } },
        select: { id: true, tenantId: true, status: true },
        take: BATCH,
      });
      for (const row of due) await expireExecution(ctx, row);
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
