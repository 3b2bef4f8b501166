import { type PrismaClient, recordAudit, type Trigger } from "@kronos/db";
import { EVENT_TYPES, type EventBus, type Logger, type TriggerStatus, type TriggerStatusEventData } from "@kronos/shared";

export interface TriggerStatusDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
}

/** The audit action of every trigger status change, deletion included. */

export interface TriggerStatusChange {
  /** The status the caller read: the update only happens if the row still has it. */
  from: TriggerStatus;
  to: TriggerStatus;
  reason?: string | null;
  actor: string;
  /** When set, the row must also belong to this tenant (a job acts for its tenant only). */
  tenantId?: string;
  /** Written in the same conditional update. */
  fields?: { composioTriggerId?: string };
}

/** Publishes `trigger.status` for a row (DELETED: the row is gone). */
export async function publishTriggerStatus(
  deps: Pick<TriggerStatusDeps, "bus">,
  row: Trigger,
  status: TriggerStatusEventData["status"],
  previous: TriggerStatus | null,
  reason: string | null,
): Promise<void> {
  const data: TriggerStatusEventData = {
    trigger_id: row.id,
    trigger_slug: row.triggerSlug,
    toolkit: row.toolkitSlug,
    user_id: row.userId,
    connection_id: row.connectionId,
    composio_trigger_id: row.composioTriggerId,
    status,
    previous_status: previous,
    status_reason: reason,
    labels: row.labels,
  };
  await deps.bus.publish({ type: EVENT_TYPES.triggerStatus, tenantId: row.tenantId, userId: row.userId, data });
}

/**
 * The one way a trigger's status changes: a conditional update (only if the row is still `from`) with its audit row,
 * then, only when this call made the change, one `trigger.status` event. Null when someone else changed it first.
 */
export async function changeTriggerStatus(
  deps: TriggerStatusDeps,
  triggerId: string,
  change: TriggerStatusChange,
): Promise<Trigger | null> {
  const reason = change.reason ?? null;
  const updated = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.trigger.updateMany({
      where: { id: triggerId, status: change.from, ...(change.tenantId ? { tenantId: change.tenantId } : {}) },
      data: { ...change.fields, status: change.to, statusReason: reason },
    });
    if (count === 0) return null;
    const row = await tx.trigger.findUniqueOrThrow({ where: { id: triggerId } });
    await recordAudit(tx, {
      tenantId: row.tenantId,
      actor: change.actor,
      action: "trigger.status_changed",
      resourceId: row.id,
      data: { from: change.from, to: change.to, reason, composio_trigger_id: row.composioTriggerId },
    });
    return row;
  });
  if (!updated) return null;
  deps.logger.info({ triggerId, from: change.from, to: change.to }, "trigger status changed");
  await publishTriggerStatus(deps, updated, change.to, change.from, reason);
  return updated;
}

/** Deletes the row with its audit row, then publishes DELETED (once: only the call that deleted it). */
export async function deleteTriggerRow(deps: TriggerStatusDeps, row: Trigger, actor: string, reason: string): Promise<void> {
  const deleted = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.trigger.deleteMany({ where: { id: row.id } });
    if (count === 0) return false;
    await recordAudit(tx, {
      tenantId: row.tenantId,
      actor,
      action: "trigger.status_changed",
      resourceId: row.id,
      data: { from: row.status, to: "DELETED", reason, composio_trigger_id: row.composioTriggerId, labels: row.labels },
    });
    return true;
  });
  if (deleted) await publishTriggerStatus(deps, row, "DELETED", row.status, reason);
}
