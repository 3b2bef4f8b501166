import type { Execution, Prisma } from "@kronos/db";
import {
  EVENT_TYPES,
  type ExecutionAuthorization,
  type ExecutionCompletedEventData,
  type ExecutionStatus,
  type ExecutionStatusEventData,
  isFinalExecutionStatus,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";

/** Audit actions of the lifecycle: "execution.<status in lower case>" (execution.awaiting_approval, execution.denied...). */
export const auditActionOf = (status: ExecutionStatus) => `execution.${status.toLowerCase()}`;

export interface Transition {
  to: ExecutionStatus;
  actor: string;
  reason: { code: string; message: string } | null;
  /** Extra columns written with the status. */
  data?: Prisma.ExecutionUpdateManyMutationInput;
}

/**
 * Moves an execution from one of `from` to `transition.to`, in one conditional UPDATE with its audit row (so two
 * concurrent decisions cannot both win), then publishes it. Answers the row after the change, or null when the
 * execution was not in one of `from` (someone else moved it first).
 */
export async function transitionExecution(
  ctx: GatewayContext,
  execution: { id: string; tenantId: string },
  from: readonly ExecutionStatus[],
  transition: Transition,
  extraWhere: Prisma.ExecutionWhereInput = {},
): Promise<{ row: Execution; previous: ExecutionStatus } | null> {
  const final = isFinalExecutionStatus(transition.to);
  const now = new Date();
  const result = await ctx.prisma.$transaction(async (tx) => {
    const before = await tx.execution.findFirst({ where: { id: execution.id, tenantId: execution.tenantId }, select: { status: true } });
    if (!before || !from.includes(before.status)) return null;
    const { count } = await tx.execution.updateMany({
      where: { id: execution.id, tenantId: execution.tenantId, status: before.status, ...extraWhere },
      data: {
        status: transition.to,
        ...(final ? { completedAt: now, parkedUntil: null } : {}),
        ...(transition.reason ? { errorCode: transition.reason.code, errorMessage: transition.reason.message } : {}),
        ...transition.data,
      },
    });
    if (count === 0) return null;
    const row = await tx.execution.findUniqueOrThrow({ where: { id: execution.id } });
    await tx.auditLog.create({
      data: {
        tenantId: execution.tenantId,
        actor: transition.actor,
        action: auditActionOf(transition.to),
        targetType: "execution",
        targetId: execution.id,
        data: { previous_status: before.status, reason: transition.reason, user_id: row.userId, tool: row.toolSlug },
      },
    });
    return { row, previous: before.status };
  });
  if (result) await publishTransition(ctx, result.row, result.previous, transition.actor, transition.reason, null);
  return result;
}

/** Publishes `execution.status`, and for a final status also `execution.completed` (once: the transition that won). */
export async function publishTransition(
  ctx: GatewayContext,
  row: Execution,
  previous: ExecutionStatus | null,
  actor: string,
  reason: { code: string; message: string } | null,
  authorization: ExecutionAuthorization | null,
): Promise<void> {
  const base = { tenantId: row.tenantId, userId: row.userId };
  const status: ExecutionStatusEventData = {
    execution_id: row.id,
    user_id: row.userId,
    tool: row.toolSlug,
    status: row.status,
    previous_status: previous,
    reason,
    actor,
    authorization,
  };
  await ctx.bus.publish({ ...base, type: EVENT_TYPES.executionStatus, data: status });
  if (isFinalExecutionStatus(row.status)) {
    const completed: ExecutionCompletedEventData = {
      execution_id: row.id,
      user_id: row.userId,
      tool: row.toolSlug,
      status: row.status,
      error: reason,
      duration_ms: row.durationMs,
      log_id: row.logId,
    };
    await ctx.bus.publish({ ...base, type: EVENT_TYPES.executionCompleted, data: completed });
  }
}
