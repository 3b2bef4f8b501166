import type { PrismaClient, Trigger } from "@kronos/db";
import type { ComposioPort, ComposioTriggerInstance, EventBus, Logger, ReconcileTriggersResult, TriggerStatus } from "@kronos/shared";
import { describeError, isRateLimited } from "../jobs/failure-policy.js";
import type { RunCursor } from "../jobs/redis-cursor.js";
import { changeTriggerStatus } from "./trigger-status.js";

/** The status_reason of a trigger whose instance Composio no longer has (FAILED: delete it, or create another). */
export const TRIGGER_GONE_AT_COMPOSIO_REASON = "Deleted at Composio";
export const TRIGGER_DISABLED_AT_COMPOSIO_REASON = "Disabled at Composio";
export const TRIGGER_ENABLED_AT_COMPOSIO_REASON = "Enabled at Composio";
/** Connections whose instances one run compares: a run stays short; the next continues where it stopped. */
export const TRIGGER_RECONCILE_BATCH_SIZE = 100;
/** Instances read per call (Composio's maximum page). */
const PAGE_SIZE = 1_000;
/**
 * A trigger or an instance changed this recently may be in the middle of an operation of ours (a create between
 * its upsert at Composio and its row, a config update): left to the next run.
 */
export const SETTLE_MS = 60_000;
/** Orphans named in the run's log line, at most. */
const ORPHANS_LOGGED = 20;
const ACTOR = "worker:reconcile";

export interface TriggerReconcileDeps {
  prisma: PrismaClient;
  composio: Pick<ComposioPort, "listTriggerInstances">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  cursor: RunCursor;
  batchSize?: number;
  /** Reconcile this tenant's triggers only (the scheduled run reconciles every tenant). */
  tenantId?: string;
  now?: () => Date;
}

/**
 * What a trigger should become given its instance at Composio (undefined: gone there), or null when nothing changes.
 * Composio's state wins, as for connections: an instance deleted there is FAILED here (it cannot be enabled again),
 * one disabled or enabled there (a missed webhook, a change made at Composio) is DISABLED or ACTIVE here.
 */
export function triggerDecision(
  row: Pick<Trigger, "status">,
  instance: Pick<ComposioTriggerInstance, "disabled"> | undefined,
): { to: TriggerStatus; reason: string } | null {
  if (row.status !== "ACTIVE" && row.status !== "DISABLED") return null;
  if (!instance) return { to: "FAILED", reason: TRIGGER_GONE_AT_COMPOSIO_REASON };
  if (instance.disabled && row.status === "ACTIVE") return { to: "DISABLED", reason: TRIGGER_DISABLED_AT_COMPOSIO_REASON };
  if (!instance.disabled && row.status === "DISABLED") return { to: "ACTIVE", reason: TRIGGER_ENABLED_AT_COMPOSIO_REASON };
  return null;
}

/**
 * One run: takes a bounded batch of our connections that have a Composio account (after the previous run's last
 * one), lists every trigger instance on their accounts, disabled ones too, and compares both ways:
 * - a trigger of ours (ACTIVE or DISABLED) whose instance is gone, disabled or enabled at Composio is corrected
 *   through changeTriggerStatus (a conditional update, its audit row, one `trigger.status` event);
 * - an instance on one of those accounts that is no trigger of ours is an orphan: counted and logged, left alone
 *   (triggers made at Composio outside our API are legitimate; see docs/triggers.md).
 * The instances are listed before the rows are read, and anything changed in the last SETTLE_MS is left to the next
 * run, so an operation under way is not mistaken for drift. A 429 stops the run (the cursor keeps the batch) and is
 * rethrown so that the queue pauses; another error skips the batch until the next pass.
 */
export async function reconcileTriggers(deps: TriggerReconcileDeps): Promise<ReconcileTriggersResult> {
  const batchSize = deps.batchSize ?? TRIGGER_RECONCILE_BATCH_SIZE;
  const now = (deps.now?.() ?? new Date()).getTime();
  const after = await deps.cursor.get();
  const connections = await deps.prisma.connection.findMany({
    where: {
      composioAccountId: { not: null },
      ...(deps.tenantId ? { tenantId: deps.tenantId } : {}),
      ...(after ? { id: { gt: after } } : {}),
    },
    select: { id: true, composioAccountId: true },
    orderBy: { id: "asc" },
    take: batchSize,
  });
  const summary: ReconcileTriggersResult = { connections: 0, corrected: 0, orphans: 0, errors: 0, wrapped: connections.length < batchSize };
  const next = summary.wrapped ? null : (connections.at(-1)?.id ?? null);
  if (connections.length === 0) {
    await deps.cursor.set(null);
    return summary;
  }

  let instances: ComposioTriggerInstance[];
  try {
    instances = await listAll(
      deps,
      connections.map((c) => c.composioAccountId as string),
    );
  } catch (error) {
    if (isRateLimited(error)) {
      deps.logger.warn("trigger reconciliation paused by a Composio rate limit");
      throw error;
    }
    deps.logger.warn({ err: describeError(error) }, "could not list trigger instances; the next pass will");
    await deps.cursor.set(next);
    return { ...summary, errors: 1 };
  }
  const rows = await deps.prisma.trigger.findMany({ where: { connectionId: { in: connections.map((c) => c.id) } } });
  summary.connections = connections.length;

  const byId = new Map(instances.map((instance) => [instance.id, instance]));
  const settled = (at: Date | string | null) => at === null || now - new Date(at).getTime() >= SETTLE_MS;
  for (const row of rows) {
    if (!row.composioTriggerId || !settled(row.updatedAt)) continue;
    const decision = triggerDecision(row, byId.get(row.composioTriggerId));
    if (!decision) continue;
    try {
      const changed = await changeTriggerStatus(deps, row.id, { from: row.status, ...decision, actor: ACTOR });
      // Null: changed meanwhile by someone else (an operation, a webhook), whose change stands.
      if (changed) summary.corrected += 1;
    } catch (error) {
      summary.errors += 1;
      deps.logger.warn({ err: describeError(error), triggerId: row.id }, "could not correct a trigger; the next pass will");
    }
  }

  const ours = new Set(rows.map((row) => row.composioTriggerId));
  // A create under way: its instance exists at Composio before its row has the id.
  const creating = new Set(rows.filter((row) => row.status === "PENDING").map((row) => `${row.connectionId} ${row.triggerSlug}`));
  const accountToConnection = new Map(connections.map((c) => [c.composioAccountId, c.id]));
  const orphans = instances.filter(
    (instance) =>
      !ours.has(instance.id) &&
      settled(instance.updatedAt) &&
      !creating.has(`${accountToConnection.get(instance.connectedAccountId)} ${instance.slug}`),
  );
  summary.orphans = orphans.length;
  if (orphans.length > 0) {
    deps.logger.warn(
      {
        orphans: orphans.slice(0, ORPHANS_LOGGED).map((o) => ({ id: o.id, slug: o.slug, account: o.connectedAccountId, user: o.userId })),
        count: orphans.length,
      },
      "trigger instances at Composio on our connections that are no trigger of ours (left alone)",
    );
  }
  await deps.cursor.set(next);
  deps.logger.info({ ...summary }, "trigger reconciliation run done");
  return summary;
}

/** Every instance on these accounts, disabled ones too, page after page. */
async function listAll(deps: TriggerReconcileDeps, accountIds: string[]): Promise<ComposioTriggerInstance[]> {
  const all: ComposioTriggerInstance[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.composio.listTriggerInstances({
      connectedAccountIds: accountIds,
      showDisabled: true,
      limit: PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    if (page.items.length === 0) break;
  } while (cursor);
  return all;
}
