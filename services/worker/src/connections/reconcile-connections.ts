import type { Connection, PrismaClient } from "@kronos/db";
import {
  ComposioError,
  type ComposioPort,
  type ConnectionStatus,
  type EventBus,
  type Logger,
  type ReconcileConnectionsResult,
} from "@kronos/shared";
import { describeError, isRateLimited } from "../jobs/failure-policy.js";
import type { RunCursor } from "../jobs/redis-cursor.js";
import { changeConnectionStatus } from "./connection-status.js";
import { expiryReasonOf, REFUSED_REASON } from "./poll-connection-status.js";

/** The status_reason of a connection whose account Composio no longer knows. */
export const DELETED_AT_COMPOSIO_REASON = "deleted at Composio";
export const EXPIRED_AT_COMPOSIO_REASON = "expired at Composio";
export const DISABLED_AT_COMPOSIO_REASON = "disabled at Composio";
/** Connections read per run: a run stays short and bounded; the next run continues where this one stopped. */
export const RECONCILE_BATCH_SIZE = 200;
/** Reads in flight at once (the shared rate budget paces them further). */
const RECONCILE_READ_CONCURRENCY = 4;
const WORKER_ACTOR = "worker:reconcile";

/** Where the previous run stopped (the last connection id it read), shared by every worker process. */
export type ReconcileCursor = RunCursor;

export interface ReconcileDeps {
  prisma: PrismaClient;
  composio: Pick<ComposioPort, "getConnectedAccount">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  cursor: ReconcileCursor;
  batchSize?: number;
  /** Reconcile this tenant's connections only (the scheduled run reconciles every tenant). */
  tenantId?: string;
  now?: () => Date;
}

/** What one run did (the reconcile queue's result contract). */
export type ReconcileSummary = ReconcileConnectionsResult;

/** What a connection should become given what Composio says, or null when nothing changes. */
export function reconcileDecision(
  row: Pick<Connection, "status" | "expiresAt"> & Partial<Pick<Connection, "verification">>,
  account: { status: ConnectionStatus; isDisabled: boolean; statusReason: string | null } | "gone",
  now: Date,
): { to: ConnectionStatus; reason: string | null } | null {
  if (account === "gone") return row.status === "REVOKED" ? null : { to: "REVOKED", reason: DELETED_AT_COMPOSIO_REASON };
  const pendingHere = row.status === "INITIATED" || row.status === "INITIALIZING";
  // The tenant named another user for this sign-in: it fails, whatever Composio says.
  if (row.verification === "REFUSED" && pendingHere) return { to: "FAILED", reason: REFUSED_REASON };
  let remote: ConnectionStatus = account.status;
  if (account.isDisabled && (remote === "ACTIVE" || remote === "INACTIVE")) remote = "INACTIVE";
  if (remote !== row.status) {
    const pending = remote === "INITIATED" || remote === "INITIALIZING";
    // Composio still waits for the user while we do too: the link expiry below decides.
    if (!(pending && (row.status === "INITIATED" || row.status === "INITIALIZING"))) {
      const reason =
        account.statusReason ??
        (remote === "EXPIRED" ? EXPIRED_AT_COMPOSIO_REASON : remote === "INACTIVE" ? DISABLED_AT_COMPOSIO_REASON : null);
      return { to: remote, reason };
    }
  }
  if (pendingHere && row.expiresAt && row.expiresAt.getTime() < now.getTime()) {
    return { to: "FAILED", reason: expiryReasonOf(row) };
  }
  return null;
}

/**
 * One reconciliation run: reads a bounded batch of local connections that have a Composio account and are not
 * FAILED or REVOKED (continuing after the previous run's last id), and corrects what changed at Composio: EXPIRED,
 * disabled (INACTIVE), deleted (404: REVOKED, "deleted at Composio"), and pending connections past their link expiry
 * (FAILED). Every correction goes through changeConnectionStatus, whose conditional update makes concurrent runs and
 * pollers publish each change once. A 429 stops the run (the cursor keeps what was done) and is rethrown so that the
 * queue pauses; other read errors skip the connection until the next run.
 */
export async function reconcileConnections(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const batchSize = deps.batchSize ?? RECONCILE_BATCH_SIZE;
  const after = await deps.cursor.get();
  const rows = await deps.prisma.connection.findMany({
    where: {
      composioAccountId: { not: null },
      status: { notIn: ["FAILED", "REVOKED"] },
      ...(deps.tenantId ? { tenantId: deps.tenantId } : {}),
      ...(after ? { id: { gt: after } } : {}),
    },
    orderBy: { id: "asc" },
    take: batchSize,
  });
  const summary: ReconcileSummary = { checked: 0, corrected: 0, errors: 0, wrapped: rows.length < batchSize };
  let lastDone: string | null = after;
  let rateLimited: ComposioError | null = null;

  for (let i = 0; i < rows.length && !rateLimited; i += RECONCILE_READ_CONCURRENCY) {
    const slice = rows.slice(i, i + RECONCILE_READ_CONCURRENCY);
    const outcomes = await Promise.all(slice.map((row) => reconcileOne(deps, row)));
    for (const [j, outcome] of outcomes.entries()) {
      if (outcome instanceof ComposioError) {
        rateLimited ??= outcome;
        continue;
      }
      if (rateLimited) continue;
      lastDone = slice[j]?.id ?? lastDone;
      summary.checked += 1;
      if (outcome === "corrected") summary.corrected += 1;
      if (outcome === "error") summary.errors += 1;
    }
  }

  if (rateLimited) {
    await deps.cursor.set(lastDone);
    deps.logger.warn({ ...summary }, "reconciliation paused by a Composio rate limit");
    throw rateLimited;
  }
  await deps.cursor.set(summary.wrapped ? null : lastDone);
  deps.logger.info({ ...summary }, "reconciliation run done");
  return summary;
}

/** The outcome for one connection; a 429 is returned (not thrown) so that the batch's other reads settle first. */
async function reconcileOne(deps: ReconcileDeps, row: Connection): Promise<"unchanged" | "corrected" | "error" | ComposioError> {
  const log = deps.logger.child({ connectionId: row.id });
  let account: Parameters<typeof reconcileDecision>[1];
  try {
    account = await deps.composio.getConnectedAccount(row.composioAccountId as string);
  } catch (error) {
    if (error instanceof ComposioError && (error.kind === "not_found" || error.details.status === 404)) account = "gone";
    else if (isRateLimited(error)) return error;
    else {
      log.warn({ err: describeError(error) }, "could not read the connected account; next run will");
      return "error";
    }
  }
  const decision = reconcileDecision(row, account, deps.now?.() ?? new Date());
  if (!decision) return "unchanged";
  const changed = await changeConnectionStatus(
    { ...deps, logger: log },
    { connectionId: row.id, from: row.status, to: decision.to, reason: decision.reason, actor: WORKER_ACTOR },
  );
  // Null: someone (a poller, another run) changed it first; their change stands and was published by them.
  return changed ? "corrected" : "unchanged";
}
