import { type Connection, type Prisma, type PrismaClient, recordAudit } from "@kronos/db";
import {
  type ConnectionStatus,
  type ConnectionStatusEventData,
  type ConnectionVerification,
  EVENT_TYPES,
  type EventBus,
  isSettled,
  type Logger,
} from "@kronos/shared";
import { type WakeDeps, wakeParkedOn } from "../executions/wake-parked.js";

export interface StatusChangeDeps extends WakeDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
}

export interface StatusChange {
  connectionId: string;
  /** The status the caller read: the update only happens if the row still has it. */
  from: ConnectionStatus;
  to: ConnectionStatus;
  /** Why (Composio's status_reason, our failure reason); cleared when null or absent. */
  reason?: string | null;
  /** Who made or observed the change, for the audit log: "worker", "api_key:<id>", ... */
  actor: string;
  /**
   * Fields written in the same conditional update as the status. `verification` starts a sign-in's confirmation
   * afresh (a new link): given, it replaces the row's, and the user verifier's gate below does not apply.
   */
  fields?: {
    composioAccountId?: string;
    redirectUrl?: string | null;
    expiresAt?: Date | null;
    verification?: ConnectionVerification | null;
    /** SHA-256 of the new link's callback secret. */
    callbackSecretHash?: string;
  };
}

/**
 * The user verifier's gate: a connection becomes ACTIVE only when its sign-in needs no confirmation (null) or the
 * tenant's backend gave it (CONFIRMED). Part of the conditional update, so no path (poll, callback check,
 * reconciliation, webhook, operation) can make an unconfirmed connection ACTIVE, whatever Composio says.
 */
const MAY_BECOME_ACTIVE = { OR: [{ verification: null }, { verification: "CONFIRMED" as const }] };

/** The audit action of every status change. */

/**
 * The one way a connection's status changes: a conditional update (only if the row still has `from`) and its
 * audit row in one transaction, then, only when this call made the change, the `connection.status` event. Two
 * concurrent pollers that observe the same change therefore publish it once. Returns the updated row, or null when
 * the row was not in `from` any more (someone else changed it first) or does not exist. Log lines rely on the
 * caller's logger carrying the connection id (the worker's job loggers do).
 */
export async function changeConnectionStatus(deps: StatusChangeDeps, change: StatusChange): Promise<Connection | null> {
  if (change.from === change.to) throw new Error(`changeConnectionStatus: ${change.from} -> ${change.to} is not a change`);
  const reason = change.reason ?? null;
  const gated = change.to === "ACTIVE" && change.fields?.verification === undefined;
  const updated = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.connection.updateMany({
      where: { id: change.connectionId, status: change.from, ...(gated ? MAY_BECOME_ACTIVE : {}) },
      data: { ...change.fields, status: change.to, statusReason: reason },
    });
    if (count === 0) {
      if (gated) await holdForConfirmation(tx, change, deps.logger);
      return null;
    }
    const row = await tx.connection.findUniqueOrThrow({ where: { id: change.connectionId } });
    await recordAudit(tx, {
      tenantId: row.tenantId,
      actor: change.actor,
      action: "connection.status_changed",
      resourceId: row.id,
      data: {
        from: change.from,
        to: change.to,
        reason,
        ...(change.fields?.composioAccountId ? { composio_account_id: change.fields.composioAccountId } : {}),
      },
    });
    return row;
  });
  if (!updated) {
    deps.logger.debug({ from: change.from, to: change.to }, "status already changed by someone else");
    return null;
  }
  deps.logger.info({ from: change.from, to: change.to, reason }, "connection status changed");
  const data: ConnectionStatusEventData = {
    connection_id: updated.id,
    user_id: updated.userId,
    toolkit: updated.toolkitSlug,
    status: change.to,
    previous_status: change.from,
    status_reason: reason,
    labels: updated.labels,
  };
  try {
    await deps.bus.publish({ type: EVENT_TYPES.connectionStatus, tenantId: updated.tenantId, userId: updated.userId, data });
  } catch (error) {
    // The change is committed and audited; a retry would not publish it again, so do not fail the job over it.
    deps.logger.error(
      { err: error instanceof Error ? { name: error.name, message: error.message } : String(error), status: change.to },
      "could not publish the connection.status event",
    );
  }
  // Sign-in on demand: executions parked on this connection wake now (ACTIVE) or end (anything else settled).
  await wakeParkedOn(deps, updated);
  return updated;
}

/**
 * Where a new sign-in's confirmation starts: AWAITING_SIGN_IN when the tenant has a user verifier and someone must
 * follow a link (a pending status with a redirect URL), else null (nothing to confirm: credentials the tenant's
 * backend gave itself, or a tenant without a verifier, today's weaker option). Fixed when the link is made.
 */
export async function signInVerification(
  prisma: PrismaClient,
  tenantId: string,
  started: { status: ConnectionStatus; redirectUrl: string | null },
): Promise<ConnectionVerification | null> {
  if (isSettled(started.status) || !started.redirectUrl) return null;
  const tenant = await prisma.tenant.findUnique({ where: { id: tenantId }, select: { verificationUrl: true } });
  return tenant?.verificationUrl ? "AWAITING_SIGN_IN" : null;
}

/**
 * Composio says ACTIVE but the tenant has not confirmed the user: the connection stays where it is, and a sign-in
 * still awaited at the provider becomes AWAITING_CONFIRMATION (once: the update is conditional), audited.
 */
async function holdForConfirmation(tx: Prisma.TransactionClient, change: StatusChange, logger: Logger): Promise<void> {
  const { count } = await tx.connection.updateMany({
    where: { id: change.connectionId, status: change.from, verification: "AWAITING_SIGN_IN" },
    data: { verification: "AWAITING_CONFIRMATION" },
  });
  if (count === 0) return;
  const row = await tx.connection.findUniqueOrThrow({ where: { id: change.connectionId }, select: { tenantId: true, userId: true } });
  await recordAudit(tx, {
    tenantId: row.tenantId,
    actor: change.actor,
    action: "connection.verification_pending",
    resourceId: change.connectionId,
    data: { status: change.from, user_id: row.userId },
  });
  logger.info({ status: change.from }, "signed in at Composio; awaiting the tenant's confirmation before ACTIVE");
}

/**
 * Marks a connection FAILED unless it is already settled, retrying when a concurrent change wins the race.
 * Returns the row as it ends up (null when there is no such row).
 */
export async function markConnectionFailed(
  deps: StatusChangeDeps,
  input: { connectionId: string; tenantId: string; reason: string; actor: string },
  isSettled: (status: ConnectionStatus) => boolean,
): Promise<Connection | null> {
  for (let i = 0; i < 3; i++) {
    const row = await deps.prisma.connection.findUnique({ where: { id: input.connectionId } });
    if (!row || row.tenantId !== input.tenantId || isSettled(row.status)) return row;
    const changed = await changeConnectionStatus(deps, {
      connectionId: row.id,
      from: row.status,
      to: "FAILED",
      reason: input.reason,
      actor: input.actor,
    });
    if (changed) return changed;
  }
  return deps.prisma.connection.findUnique({ where: { id: input.connectionId } });
}
