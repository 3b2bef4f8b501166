import { type Prisma, recordAudit, type Trigger } from "@kronos/db";
import { ComposioError, type ComposioPort, type TriggerOpJob, type TriggerOpResult, type TriggerStatus } from "@kronos/shared";
import { describeError, Refusal } from "../jobs/failure-policy.js";
import { changeTriggerStatus, deleteTriggerRow, type TriggerStatusDeps } from "./trigger-status.js";

/** The status_reason of a trigger deleted through the API. */
export const TRIGGER_DELETED_REASON = "Deleted";

export interface TriggerOpDeps extends TriggerStatusDeps {
  composio: Pick<ComposioPort, "upsertTriggerInstance" | "setTriggerInstanceEnabled" | "deleteTriggerInstance">;
}

/** A status change that may lose a race (a webhook disabling it meanwhile): re-read and try again a few times. */
const RACE_RETRIES = 3;

const isUniqueViolation = (error: unknown) => (error as { code?: unknown } | null)?.code === "P2002";

/**
 * A trigger operation: create (at Composio, on the trigger's connection), enable, disable, update (config and/or
 * labels), delete. The trigger must belong to the job's tenant. Safe to retry: each op checks where the trigger is
 * before acting. Errors are thrown as they are (the failure policy decides); a create that fails for good ends FAILED
 * through the job's endRecord (jobs.ts).
 */
export async function runTriggerOp(deps: TriggerOpDeps, job: TriggerOpJob): Promise<TriggerOpResult> {
  switch (job.op) {
    case "create":
      return create(deps, job);
    case "enable":
      return setEnabled(deps, job, true);
    case "disable":
      return setEnabled(deps, job, false);
    case "update":
      return update(deps, job);
    case "delete":
      return remove(deps, job);
  }
}

async function load(deps: TriggerOpDeps, job: TriggerOpJob): Promise<Trigger> {
  const row = await deps.prisma.trigger.findUnique({ where: { id: job.triggerId } });
  if (!row || row.tenantId !== job.tenantId) throw Refusal.notFound(`Trigger "${job.triggerId}"`);
  return row;
}

const result = (row: Pick<Trigger, "id" | "status">): TriggerOpResult => ({ trigger_id: row.id, status: row.status });

/** The Composio account to create the trigger on: the trigger's connection, which must still be ACTIVE. */
async function accountOf(deps: TriggerOpDeps, row: Trigger): Promise<string> {
  const connection = row.connectionId ? await deps.prisma.connection.findUnique({ where: { id: row.connectionId } }) : null;
  if (!connection) throw new Refusal({ code: "CONFLICT", message: "The trigger's connection no longer exists" });
  if (connection.status !== "ACTIVE" || !connection.composioAccountId) {
    throw new Refusal({ code: "CONFLICT", message: `The trigger's connection is ${connection.status}, not ACTIVE` });
  }
  return connection.composioAccountId;
}

/** create: upserts the instance at Composio, then PENDING -> ACTIVE with its id (one trigger.status event). */
async function create(deps: TriggerOpDeps, job: TriggerOpJob): Promise<TriggerOpResult> {
  const row = await load(deps, job);
  if (row.status !== "PENDING") return result(row); // done by an earlier attempt
  const accountId = await accountOf(deps, row);
  const { triggerId: composioTriggerId } = await deps.composio.upsertTriggerInstance(row.triggerSlug, {
    connectedAccountId: accountId,
    config: row.config as Record<string, unknown>,
  });
  deps.logger.info({ composioTriggerId, slug: row.triggerSlug }, "trigger instance upserted at Composio");
  let created: Trigger | null;
  try {
    created = await changeTriggerStatus(deps, row.id, { from: "PENDING", to: "ACTIVE", actor: job.actor, fields: { composioTriggerId } });
  } catch (error) {
    if (isUniqueViolation(error)) throw new Refusal({ code: "CONFLICT", message: "Another trigger already is this Composio trigger" });
    throw error;
  }
  if (created) return result(created);
  const current = await deps.prisma.trigger.findUnique({ where: { id: row.id } });
  if (!current) {
    // Deleted while it was being created: the instance must not outlive its row. Should this delete fail, the
    // trigger reconciliation reports the instance as an orphan (docs/triggers.md#reconciliation).
    await deps.composio
      .deleteTriggerInstance(composioTriggerId)
      .catch((error: unknown) =>
        deps.logger.warn({ err: describeError(error), composioTriggerId }, "could not delete the instance of a trigger deleted meanwhile"),
      );
    throw new Refusal({ code: "NOT_FOUND", message: `Trigger "${row.id}" was deleted meanwhile` });
  }
  return result(current);
}

/** A create that failed for good: PENDING -> FAILED with why (nothing to do to a trigger past PENDING). */
export async function markTriggerCreateFailed(
  deps: TriggerStatusDeps,
  job: Pick<TriggerOpJob, "tenantId" | "triggerId" | "actor">,
  reason: string,
): Promise<void> {
  await changeTriggerStatus(deps, job.triggerId, { from: "PENDING", to: "FAILED", reason, actor: job.actor, tenantId: job.tenantId }).catch(
    (error: unknown) => deps.logger.error({ err: describeError(error) }, "could not mark the trigger FAILED"),
  );
}

function requireInstance(row: Trigger): string {
  if (!row.composioTriggerId) {
    throw new Refusal({ code: "CONFLICT", message: `Trigger "${row.id}" is ${row.status}: it does not exist at Composio` });
  }
  return row.composioTriggerId;
}

/** enable: DISABLED -> ACTIVE; disable: ACTIVE -> DISABLED, at Composio then here. Already there: nothing to do. */
async function setEnabled(deps: TriggerOpDeps, job: TriggerOpJob, enabled: boolean): Promise<TriggerOpResult> {
  const to: TriggerStatus = enabled ? "ACTIVE" : "DISABLED";
  const from: TriggerStatus = enabled ? "DISABLED" : "ACTIVE";
  const row = await load(deps, job);
  if (row.status === to) return result(row);
  const instance = requireInstance(row);
  if (row.status !== from) throw new Refusal({ code: "CONFLICT", message: `Trigger "${row.id}" is ${row.status}` });
  await deps.composio.setTriggerInstanceEnabled(instance, enabled);
  for (let i = 0; i < RACE_RETRIES; i++) {
    const current = i === 0 ? row : await load(deps, job);
    if (current.status === to) return result(current);
    const changed = await changeTriggerStatus(deps, current.id, { from: current.status, to, actor: job.actor });
    if (changed) return result(changed);
  }
  return result(await load(deps, job));
}

/** update: a new config goes to Composio first (the upsert of the same account and slug), then both are stored. */
async function update(deps: TriggerOpDeps, job: Extract<TriggerOpJob, { op: "update" }>): Promise<TriggerOpResult> {
  const row = await load(deps, job);
  const data: Prisma.TriggerUpdateInput = {};
  if (job.config !== undefined) {
    if (row.status === "PENDING") throw new Refusal({ code: "CONFLICT", message: `Trigger "${row.id}" is still being created` });
    if (row.composioTriggerId) {
      const { triggerId } = await deps.composio.upsertTriggerInstance(row.triggerSlug, {
        connectedAccountId: await accountOf(deps, row),
        config: job.config,
      });
      if (triggerId !== row.composioTriggerId) data.composioTriggerId = triggerId;
    }
    data.config = job.config as Prisma.InputJsonObject;
  }
  if (job.labels !== undefined) data.labels = job.labels;
  const updated = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.trigger.updateMany({
      where: { id: row.id, tenantId: job.tenantId },
      data: data as Prisma.TriggerUpdateManyMutationInput,
    });
    if (count === 0) return null;
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: "trigger.updated",
      resourceId: row.id,
      data: { config_changed: job.config !== undefined, labels: job.labels ? { from: row.labels, to: job.labels } : null },
    });
    return tx.trigger.findUniqueOrThrow({ where: { id: row.id } });
  });
  if (!updated) throw Refusal.notFound(`Trigger "${row.id}"`);
  return result(updated);
}

/** delete: at Composio (one it no longer knows counts as deleted), then the row (one DELETED event). */
async function remove(deps: TriggerOpDeps, job: TriggerOpJob): Promise<TriggerOpResult> {
  const row = await deps.prisma.trigger.findUnique({ where: { id: job.triggerId } });
  if (!row || row.tenantId !== job.tenantId) return { trigger_id: job.triggerId, status: null }; // done by an earlier attempt
  await deleteTriggerEverywhere(deps, row, job.actor, TRIGGER_DELETED_REASON);
  return { trigger_id: row.id, status: null };
}

/** Deletes a trigger's instance at Composio (already gone is fine), then its row. Also used when a connection goes. */
export async function deleteTriggerEverywhere(deps: TriggerOpDeps, row: Trigger, actor: string, reason: string): Promise<void> {
  if (row.composioTriggerId) {
    try {
      await deps.composio.deleteTriggerInstance(row.composioTriggerId);
    } catch (error) {
      if (!(error instanceof ComposioError && (error.kind === "not_found" || error.details.status === 404))) throw error;
      deps.logger.info({ composioTriggerId: row.composioTriggerId }, "trigger instance already gone at Composio");
    }
  }
  await deleteTriggerRow(deps, row, actor, reason);
}

/** The status_reason of triggers removed because their connection was deleted. */
export const CONNECTION_DELETED_REASON = "Connection deleted";

/** Before a connection is deleted: its triggers are deleted at Composio (so they stop firing) and here. */
export async function removeConnectionTriggers(deps: TriggerOpDeps, connectionId: string, actor: string): Promise<number> {
  const rows = await deps.prisma.trigger.findMany({ where: { connectionId } });
  for (const row of rows) await deleteTriggerEverywhere(deps, row, actor, CONNECTION_DELETED_REASON);
  if (rows.length > 0) deps.logger.info({ connectionId, triggers: rows.length }, "removed the connection's triggers");
  return rows.length;
}

/**
 * Composio disabled a trigger (its `composio.trigger.disabled` webhook): our row becomes DISABLED with Composio's
 * reason (one trigger.status event). False when the trigger is not one of ours.
 */
export async function applyTriggerDisabledAtComposio(
  deps: TriggerStatusDeps,
  composioTriggerId: string,
  reason: string | null,
  actor: string,
): Promise<boolean> {
  for (let i = 0; i < RACE_RETRIES; i++) {
    const row = await deps.prisma.trigger.findUnique({ where: { composioTriggerId } });
    if (!row) return false;
    if (row.status === "DISABLED") return true;
    if (await changeTriggerStatus(deps, row.id, { from: row.status, to: "DISABLED", reason: reason ?? "Disabled by Composio", actor }))
      return true;
  }
  return true;
}
