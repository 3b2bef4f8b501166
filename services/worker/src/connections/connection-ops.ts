import { type Connection, type PrismaClient, recordAudit } from "@kronos/db";
import {
  ComposioError,
  type ComposioPort,
  type Config,
  type ConnectionOpJob,
  type ConnectionOpResult,
  type ConnectionStatus,
  connectionCallbackUrl,
  type EventBus,
  generateCallbackSecret,
  isSettled,
  type Logger,
} from "@kronos/shared";
import { Refusal } from "../jobs/failure-policy.js";
import { removeConnectionTriggers } from "../triggers/trigger-ops.js";
import { changeConnectionStatus, signInVerification } from "./connection-status.js";

/** The status_reason of the REVOKED event published when a connection is deleted. */
export const DELETED_REASON = "Deleted";

export interface ConnectionOpDeps {
  config: Pick<Config, "PUBLIC_GATEWAY_URL" | "CONNECT_LINK_TTL_SECONDS">;
  prisma: PrismaClient;
  composio: Pick<
    ComposioPort,
    | "setConnectedAccountEnabled"
    | "refreshConnectedAccount"
    | "revokeConnectedAccount"
    | "deleteConnectedAccount"
    | "upsertTriggerInstance"
    | "setTriggerInstanceEnabled"
    | "deleteTriggerInstance"
  >;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  /** Adds the connection's status-poll job (idempotent: one per connection). */
  enqueueStatusPoll(input: { connectionId: string; tenantId: string }): Promise<void>;
  now?: () => Date;
}

/** A status change that may lose a race with a poller: re-read and try again a few times. */
const RACE_RETRIES = 3;

/**
 * A change to an existing connection: enable, disable, refresh (a new hosted link), delete, update_labels. The
 * connection must belong to the job's tenant. Every status change goes through changeConnectionStatus (audit row and
 * one connection.status event). Safe to retry: each op checks where the connection is before acting. Errors are
 * thrown for the failure policy to decide.
 */
export async function runConnectionOp(deps: ConnectionOpDeps, job: ConnectionOpJob): Promise<ConnectionOpResult> {
  switch (job.op) {
    case "enable":
      return setEnabled(deps, job, true);
    case "disable":
      return setEnabled(deps, job, false);
    case "refresh":
      return refresh(deps, job);
    case "delete":
      return remove(deps, job);
    case "update_labels":
      return updateLabels(deps, job);
  }
}

async function load(deps: ConnectionOpDeps, job: ConnectionOpJob): Promise<Connection> {
  const row = await deps.prisma.connection.findUnique({ where: { id: job.connectionId } });
  if (!row || row.tenantId !== job.tenantId) throw Refusal.notFound(`Connection "${job.connectionId}"`);
  return row;
}

function requireAccount(row: Connection): string {
  if (!row.composioAccountId) {
    throw new Refusal({ code: "CONFLICT", message: `Connection "${row.id}" has not been started at Composio yet (${row.status})` });
  }
  return row.composioAccountId;
}

const result = (row: Pick<Connection, "id" | "status" | "redirectUrl">, redirectUrl: string | null = null): ConnectionOpResult => ({
  connection_id: row.id,
  status: row.status,
  redirect_url: redirectUrl,
});

/** Moves the connection to `to` unless it is there already, re-reading when a concurrent change wins the race. */
async function moveTo(
  deps: ConnectionOpDeps,
  job: ConnectionOpJob,
  to: ConnectionStatus,
  allowedFrom: (status: ConnectionStatus) => boolean,
  reason: string | null = null,
): Promise<Connection> {
  for (let i = 0; i < RACE_RETRIES; i++) {
    const row = await load(deps, job);
    if (row.status === to) return row;
    if (!allowedFrom(row.status)) {
      throw new Refusal({ code: "CONFLICT", message: `Connection "${row.id}" is ${row.status}` });
    }
    const changed = await changeConnectionStatus(deps, { connectionId: row.id, from: row.status, to, reason, actor: job.actor });
    if (changed) return changed;
  }
  return load(deps, job);
}

/** enable: INACTIVE -> ACTIVE; disable: ACTIVE (or EXPIRED) -> INACTIVE. Already there: nothing to do. */
async function setEnabled(deps: ConnectionOpDeps, job: ConnectionOpJob, enabled: boolean): Promise<ConnectionOpResult> {
  const row = await load(deps, job);
  const to: ConnectionStatus = enabled ? "ACTIVE" : "INACTIVE";
  const allowedFrom = (status: ConnectionStatus) => (enabled ? status === "INACTIVE" : status === "ACTIVE" || status === "EXPIRED");
  if (row.status === to) return result(row);
  if (!allowedFrom(row.status)) {
    const wanted = enabled ? "an INACTIVE" : "an ACTIVE or EXPIRED";
    throw new Refusal({
      code: "CONFLICT",
      message: `Connection "${row.id}" is ${row.status}; only ${wanted} connection can be ${job.op}d`,
    });
  }
  const accountId = requireAccount(row);
  await deps.composio.setConnectedAccountEnabled(accountId, enabled);
  deps.logger.info({ composioAccountId: accountId, enabled }, "connected account enabled state set at Composio");
  return result(await moveTo(deps, job, to, allowedFrom));
}

/**
 * refresh: asks Composio for a new authorisation flow (callback: the gateway's callback URL, as for a new
 * connection), stores the new hosted link and its expiry, and (re)starts the status poll.
 */
async function refresh(deps: ConnectionOpDeps, job: ConnectionOpJob): Promise<ConnectionOpResult> {
  const row = await load(deps, job);
  if (row.status === "REVOKED") throw new Refusal({ code: "CONFLICT", message: `Connection "${row.id}" is REVOKED` });
  const accountId = requireAccount(row);
  // A new link, a new callback secret: the previous link's callback no longer gets a verification code.
  const callbackSecret = generateCallbackSecret();
  const refreshed = await deps.composio.refreshConnectedAccount(accountId, {
    callbackUrl: connectionCallbackUrl(deps.config.PUBLIC_GATEWAY_URL, row.id, callbackSecret.secret),
  });
  const now = deps.now?.() ?? new Date();
  const pending = !isSettled(refreshed.status);
  const fields = {
    redirectUrl: refreshed.redirectUrl,
    expiresAt: pending ? new Date(now.getTime() + deps.config.CONNECT_LINK_TTL_SECONDS * 1000) : null,
    // A new link is a new sign-in: with a user verifier, confirmed afresh.
    verification: await signInVerification(deps.prisma, row.tenantId, refreshed),
    callbackSecretHash: callbackSecret.hash,
  };
  deps.logger.info({ composioAccountId: accountId, status: refreshed.status }, "connected account refreshed at Composio");

  let updated: Connection | null = null;
  for (let i = 0; i < RACE_RETRIES && !updated; i++) {
    const current = i === 0 ? row : await load(deps, job);
    if (current.status === refreshed.status) {
      // No status change (e.g. a new link for a connection still INITIATED): the new link alone.
      const { count } = await deps.prisma.connection.updateMany({
        where: { id: current.id, status: current.status },
        data: { ...fields, statusReason: null },
      });
      if (count === 1) updated = await deps.prisma.connection.findUnique({ where: { id: current.id } });
    } else {
      updated = await changeConnectionStatus(deps, {
        connectionId: current.id,
        from: current.status,
        to: refreshed.status,
        actor: job.actor,
        fields,
      });
    }
  }
  if (!updated) throw new Error("The connection kept changing while it was refreshed");
  await recordAudit(deps.prisma, {
    tenantId: updated.tenantId,
    actor: job.actor,
    action: "connection.refreshed",
    resourceId: updated.id,
    data: { status: updated.status, expires_at: updated.expiresAt?.toISOString() ?? null },
  });
  if (pending) await deps.enqueueStatusPoll({ connectionId: updated.id, tenantId: updated.tenantId });
  return result(updated, updated.redirectUrl);
}

/**
 * delete: deletes the connection's triggers (at Composio and here), revokes the account's tokens at the provider
 * (Composio's DELETE alone leaves them valid), deletes the connected account at Composio (an account Composio no longer knows counts as deleted), marks the connection
 * REVOKED (one connection.status event with the previous status, while the row still exists), then deletes the row
 * with an audit row. Revoking is best effort: a refusal (a scheme without revocable tokens, an account already
 * revoked) does not stop the deletion; an outage or a 429 retries the whole job, and both calls are idempotent.
 */
async function remove(deps: ConnectionOpDeps, job: ConnectionOpJob): Promise<ConnectionOpResult> {
  const row = await load(deps, job);
  // Its triggers first: they stop firing before the account goes, and none is left pointing at nothing.
  await removeConnectionTriggers(deps, row.id, job.actor);
  if (row.composioAccountId) {
    try {
      await deps.composio.revokeConnectedAccount(row.composioAccountId);
    } catch (error) {
      if (!(error instanceof ComposioError) || error.retryable) throw error;
      deps.logger.info({ composioAccountId: row.composioAccountId, kind: error.kind }, "revoke refused at Composio; deleting anyway");
    }
    try {
      await deps.composio.deleteConnectedAccount(row.composioAccountId);
    } catch (error) {
      if (!(error instanceof ComposioError && (error.kind === "not_found" || error.details.status === 404))) throw error;
      deps.logger.info({ composioAccountId: row.composioAccountId }, "connected account already gone at Composio");
    }
  }
  const revoked = await moveTo(deps, job, "REVOKED", () => true, DELETED_REASON);
  await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.connection.deleteMany({ where: { id: revoked.id, tenantId: job.tenantId } });
    if (count === 0) return;
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: "connection.deleted",
      resourceId: revoked.id,
      data: {
        previous_status: row.status,
        user_id: row.userId,
        toolkit: row.toolkitSlug,
        composio_account_id: row.composioAccountId,
        labels: row.labels,
      },
    });
  });
  deps.logger.info({ previousStatus: row.status }, "connection deleted");
  return { connection_id: row.id, status: null, redirect_url: null };
}

/** update_labels: replaces the labels (ours only; Composio never sees them). */
async function updateLabels(deps: ConnectionOpDeps, job: Extract<ConnectionOpJob, { op: "update_labels" }>): Promise<ConnectionOpResult> {
  const labels = job.labels;
  const updated = await deps.prisma.$transaction(async (tx) => {
    const row = await tx.connection.findUnique({ where: { id: job.connectionId } });
    if (!row || row.tenantId !== job.tenantId) return null;
    const next = await tx.connection.update({ where: { id: row.id }, data: { labels } });
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: "connection.labels_updated",
      resourceId: row.id,
      data: { from: row.labels, to: labels },
    });
    return next;
  });
  if (!updated) throw Refusal.notFound(`Connection "${job.connectionId}"`);
  return result(updated);
}
