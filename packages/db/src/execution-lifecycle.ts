import {
  EVENT_TYPES,
  type EventBus,
  type ExecuteToolJob,
  type ExecutionAuthorization,
  type ExecutionCompletedEventData,
  type ExecutionStatus,
  type ExecutionStatusEventData,
  executionAuditAction,
  isFinalExecutionStatus,
} from "@kronos/shared";
import { executionJobRecord, recordAcceptedJob } from "./accepted-jobs.js";
import { recordAudit } from "./audit.js";
import { markCompletionPublished } from "./execution-completion.js";
import type { Execution, Prisma, PrismaClient } from "./generated/prisma/client.js";

// The execution lifecycle's transitions, the same for the gateway (parking for approval, decisions, cancel, expiry)
// and the worker (parking for sign-in, resuming): stored, audited and published one way.

export interface LifecycleDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
}

export interface ExecutionReason {
  code: string;
  message: string;
}

export interface Transition {
  to: ExecutionStatus;
  actor: string;
  reason: ExecutionReason | null;
  /** Extra columns written with the status. */
  data?: Prisma.ExecutionUpdateManyMutationInput;
  /** Published with an AWAITING_AUTH status. */
  authorization?: ExecutionAuthorization | null;
  /** A change to QUEUED promises a run: the durable record of its job, written in the same transaction. */
  requeue?: Requeue;
}

/** Where the record of an execution queued again goes (the deployment's REDIS_KEY_PREFIX), and its job's attempts. */
export interface Requeue {
  keyPrefix: string;
  attempts?: number;
}

/**
 * Moves an execution from one of `from` to `transition.to`, in one conditional UPDATE with its audit row (so two
 * concurrent decisions cannot both win), then publishes it. Answers the row after the change, or null when the
 * execution was not in one of `from` (someone else moved it first).
 */
export async function transitionExecution(
  deps: LifecycleDeps,
  execution: { id: string; tenantId: string },
  from: readonly ExecutionStatus[],
  transition: Transition,
  extraWhere: Prisma.ExecutionWhereInput = {},
): Promise<{ row: Execution; previous: ExecutionStatus } | null> {
  const final = isFinalExecutionStatus(transition.to);
  const now = new Date();
  const result = await deps.prisma.$transaction(async (tx) => {
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
    if (transition.requeue) {
      const { keyPrefix, attempts } = transition.requeue;
      await recordAcceptedJob(tx, keyPrefix, executionJobRecord(executionJobOf(row), attempts), { again: true });
    }
    await recordAudit(tx, {
      tenantId: execution.tenantId,
      actor: transition.actor,
      action: executionAuditAction(transition.to),
      resourceId: execution.id,
      data: {
        previous_status: before.status,
        reason: transition.reason ? { code: transition.reason.code, message: transition.reason.message } : null,
        user_id: row.userId,
        tool: row.toolSlug,
        ...(row.connectionId && transition.to === "AWAITING_AUTH" ? { connection_id: row.connectionId } : {}),
      },
    });
    return { row, previous: before.status };
  });
  if (result) {
    await publishTransition(deps, result.row, result.previous, transition.actor, transition.reason, transition.authorization ?? null);
    if (final) void markCompletionPublished(deps.prisma, execution.id).catch(() => undefined); // see markCompletionPublished
  }
  return result;
}

/** Publishes `execution.status`, and for a final status also `execution.completed` (once: the transition that won). */
export async function publishTransition(
  deps: Pick<LifecycleDeps, "bus">,
  row: Execution,
  previous: ExecutionStatus | null,
  actor: string,
  reason: ExecutionReason | null,
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
  await deps.bus.publish({ ...base, type: EVENT_TYPES.executionStatus, data: status });
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
    await deps.bus.publish({ ...base, type: EVENT_TYPES.executionCompleted, data: completed });
  }
}

/** The job that runs a stored execution (its arguments as stored: what was approved, what was parked). */
export function executionJobOf(row: Execution): ExecuteToolJob {
  return {
    executionId: row.id,
    tenantId: row.tenantId,
    userId: row.userId,
    toolSlug: row.toolSlug,
    arguments: row.arguments as Record<string, unknown>,
    actor: row.requestedBy ?? row.decidedBy ?? "system",
    ...(row.connectedAccountId ? { connectedAccountId: row.connectedAccountId } : {}),
    ...(row.idempotencyKey ? { idempotencyKey: row.idempotencyKey } : {}),
  };
}

/**
 * Wakes the executions parked AWAITING_AUTH on a connection that became ACTIVE: each goes back to QUEUED (one
 * conditional UPDATE, so two wake-ups never queue it twice) with the durable record of its job, and is handed to
 * `enqueue`. Answers how many.
 */
export async function resumeAuthParked(
  deps: LifecycleDeps,
  connectionId: string,
  actor: string,
  requeue: Requeue,
  enqueue: (job: ExecuteToolJob) => Promise<void>,
): Promise<number> {
  const parked = await deps.prisma.execution.findMany({
    where: { connectionId, status: "AWAITING_AUTH" },
    select: { id: true, tenantId: true },
  });
  let resumed = 0;
  for (const execution of parked) {
    const moved = await transitionExecution(deps, execution, ["AWAITING_AUTH"], {
      to: "QUEUED",
      actor,
      reason: null,
      data: { parkedUntil: null },
      requeue,
    });
    if (!moved) continue;
    await enqueue(executionJobOf(moved.row));
    resumed += 1;
  }
  return resumed;
}

/** Ends the executions parked on a connection that will not become ACTIVE (EXPIRED for an expired link, else FAILED). */
export async function endAuthParked(
  deps: LifecycleDeps,
  connectionId: string,
  connectionStatus: string,
  connectionReason: string | null,
  actor: string,
): Promise<number> {
  const parked = await deps.prisma.execution.findMany({
    where: { connectionId, status: "AWAITING_AUTH" },
    select: { id: true, tenantId: true },
  });
  const to: ExecutionStatus = connectionStatus === "EXPIRED" ? "EXPIRED" : "FAILED";
  const reason = {
    code: to === "EXPIRED" ? "EXPIRED" : "AUTH_FAILED",
    message: `The connection the user was asked to make is ${connectionStatus}${connectionReason ? `: ${connectionReason}` : ""}`,
  };
  let ended = 0;
  for (const execution of parked) {
    if (await transitionExecution(deps, execution, ["AWAITING_AUTH"], { to, actor, reason })) ended += 1;
  }
  return ended;
}
