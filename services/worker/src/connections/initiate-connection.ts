import { type AuthConfig, type Connection, isDuplicateKeyError, type PrismaClient, recordAudit } from "@kronos/db";
import {
  authConfigRefusal,
  ComposioError,
  type ComposioPort,
  type Config,
  type ConnectionStatus,
  composioUserId,
  connectionCallbackUrl,
  type EventBus,
  generateCallbackSecret,
  type InitiateConnectionJob,
  type InitiateConnectionResult,
  isSettled,
  type Logger,
} from "@kronos/shared";
import { describeError, isRateLimited, jobFailureFromComposioError, Refusal } from "../jobs/failure-policy.js";
import { changeConnectionStatus, signInVerification } from "./connection-status.js";

export interface InitiateConnectionDeps {
  config: Pick<Config, "PUBLIC_GATEWAY_URL" | "CONNECT_LINK_TTL_SECONDS">;
  prisma: PrismaClient;
  composio: ComposioPort;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  /** Adds the connection's status-poll job (idempotent: one per connection). */
  enqueueStatusPoll(input: { connectionId: string; tenantId: string }): Promise<void>;
  now?: () => Date;
}

/** The audit action written when the connection row is created. */
const WORKER_ACTOR = "worker";

export const managedAuthConfigKey = (tenantId: string, toolkit: string) => `${tenantId}:${toolkit}`;

/** Composio-managed OAuth configs must use the hosted link; custom apps and non-OAuth schemes the legacy create. */
export function usesConnectLink(authConfig: Pick<AuthConfig, "isComposioManaged" | "authScheme">): boolean {
  const scheme = authConfig.authScheme.toUpperCase();
  return authConfig.isComposioManaged && (scheme.startsWith("OAUTH") || scheme === "");
}

/**
 * The connection job: resolves the auth config (creating the tenant's Composio-managed one on first use), records
 * the connection, starts it at Composio, records what Composio said and schedules the status poll. Safe to retry:
 * a connection that already has a Composio account is never started twice. Errors are thrown for the failure
 * policy to decide; Composio's refusals are worded here, where the stage (auth config or connection) is known.
 */
export async function initiateConnection(deps: InitiateConnectionDeps, job: InitiateConnectionJob): Promise<InitiateConnectionResult> {
  const toolkit = job.toolkit.toLowerCase();
  let authConfigId = job.authConfigId;
  try {
    const authConfig = await resolveAuthConfig(deps, job, toolkit);
    authConfigId = authConfig.id;
    const row = await recordConnection(deps, job, toolkit, authConfig);
    const started = row.composioAccountId || row.status !== "INITIALIZING" ? row : await startAtComposio(deps, job, row, authConfig);
    if (started.status === "FAILED") {
      throw new Refusal({ code: "UPSTREAM_ERROR", message: started.statusReason ?? "The connection failed" });
    }
    if (!isSettled(started.status)) await deps.enqueueStatusPoll({ connectionId: started.id, tenantId: started.tenantId });
    return toResult(started);
  } catch (error) {
    if (error instanceof ComposioError && !error.retryable && !isRateLimited(error)) {
      const stage = authConfigId ? "start_connection" : "create_auth_config";
      throw new Refusal(jobFailureFromComposioError(error, { stage, toolkit, authConfigId }));
    }
    throw error;
  }
}

async function resolveAuthConfig(deps: InitiateConnectionDeps, job: InitiateConnectionJob, toolkit: string): Promise<AuthConfig> {
  if (job.authConfigId) {
    const given = await deps.prisma.authConfig.findFirst({ where: { id: job.authConfigId, tenantId: job.tenantId } });
    const refusal = authConfigRefusal(given, job.authConfigId, toolkit);
    if (refusal || !given) throw refusal ? new Refusal(refusal) : Refusal.notFound(`Auth config "${job.authConfigId}"`);
    return given;
  }

  const managedKey = managedAuthConfigKey(job.tenantId, toolkit);
  const existing = await deps.prisma.authConfig.findUnique({ where: { managedKey } });
  if (existing) return existing;

  const created = await deps.composio.createAuthConfig({ toolkitSlug: toolkit, managed: true });
  try {
    return await deps.prisma.$transaction(async (tx) => {
      const row = await tx.authConfig.create({
        data: {
          id: created.id,
          tenantId: job.tenantId,
          toolkitSlug: toolkit,
          name: created.name || `${toolkit} (Composio-managed)`,
          authScheme: created.authScheme ?? "OAUTH2",
          isComposioManaged: true,
          managedKey,
        },
      });
      await recordAudit(tx, {
        tenantId: job.tenantId,
        actor: WORKER_ACTOR,
        action: "auth_config.managed_created",
        resourceId: row.id,
        data: { toolkit, auth_scheme: row.authScheme },
      });
      return row;
    });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    // A concurrent job created the tenant's managed config first: use theirs, drop ours.
    deps.logger.info({ toolkit, ours: created.id }, "another job created the managed auth config first");
    await deps.composio
      .deleteAuthConfig(created.id)
      .catch((deleteError: unknown) =>
        deps.logger.warn(
          { err: describeError(deleteError), authConfigId: created.id },
          "could not delete a duplicate auth config at Composio",
        ),
      );
    const winner = await deps.prisma.authConfig.findUnique({ where: { managedKey } });
    if (!winner) throw error;
    return winner;
  }
}

/** Creates the connection row (INITIALIZING) with its audit row, or returns the row of an earlier attempt. */
async function recordConnection(
  deps: InitiateConnectionDeps,
  job: InitiateConnectionJob,
  toolkit: string,
  authConfig: AuthConfig,
): Promise<Connection> {
  const row = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.connection.createMany({
      data: [
        {
          id: job.connectionId,
          tenantId: job.tenantId,
          userId: job.userId,
          toolkitSlug: toolkit,
          authConfigId: authConfig.id,
          labels: job.labels,
          returnUrl: job.returnUrl ?? null,
          status: "INITIALIZING",
        },
      ],
      skipDuplicates: true,
    });
    if (count === 1) {
      await recordAudit(tx, {
        tenantId: job.tenantId,
        actor: job.actor,
        action: "connection.initiated",
        resourceId: job.connectionId,
        data: { user_id: job.userId, toolkit, auth_config_id: authConfig.id, labels: job.labels },
      });
    } else {
      // Created earlier (by a previous attempt, or by the gateway): fill in what is not started yet.
      await tx.connection.updateMany({
        where: { id: job.connectionId, tenantId: job.tenantId, status: "INITIALIZING", composioAccountId: null },
        data: { authConfigId: authConfig.id, labels: job.labels, returnUrl: job.returnUrl ?? null },
      });
    }
    return tx.connection.findUniqueOrThrow({ where: { id: job.connectionId } });
  });
  if (row.tenantId !== job.tenantId)
    throw new Refusal({ code: "CONFLICT", message: "The connection id is already in use" }, { endRecord: false });
  return row;
}

async function startAtComposio(
  deps: InitiateConnectionDeps,
  job: InitiateConnectionJob,
  row: Connection,
  authConfig: AuthConfig,
): Promise<Connection> {
  const now = deps.now?.() ?? new Date();
  // Each link gets its own callback secret, stored (hashed) with the link below: the callback issues a verification
  // code only to the browser Composio sends back with it.
  const callbackSecret = generateCallbackSecret();
  const input = {
    authConfigId: authConfig.id,
    userId: composioUserId(job.tenantId, job.userId),
    callbackUrl: connectionCallbackUrl(deps.config.PUBLIC_GATEWAY_URL, row.id, callbackSecret.secret),
  };
  let accountId: string;
  let status: ConnectionStatus;
  let redirectUrl: string | null;
  let expiresAt: Date | null;
  if (usesConnectLink(authConfig)) {
    const link = await deps.composio.createConnectLink(input);
    accountId = link.connectedAccountId;
    status = "INITIATED";
    redirectUrl = link.redirectUrl;
    expiresAt = parseDate(link.expiresAt);
  } else {
    const account = await deps.composio.createConnectedAccount(input);
    accountId = account.connectedAccountId;
    status = account.status;
    redirectUrl = account.redirectUrl;
    expiresAt = null;
  }
  if (!expiresAt && !isSettled(status)) expiresAt = new Date(now.getTime() + deps.config.CONNECT_LINK_TTL_SECONDS * 1000);
  deps.logger.info({ composioAccountId: accountId, status }, "connection started at Composio");

  const verification = await signInVerification(deps.prisma, job.tenantId, { status, redirectUrl });
  const fields = { composioAccountId: accountId, redirectUrl, expiresAt, verification, callbackSecretHash: callbackSecret.hash };
  const updated =
    status === row.status
      ? await deps.prisma.connection
          .updateMany({ where: { id: row.id, status: row.status, composioAccountId: null }, data: fields })
          .then(({ count }) => (count === 1 ? deps.prisma.connection.findUnique({ where: { id: row.id } }) : null))
      : await changeConnectionStatus(deps, { connectionId: row.id, from: row.status, to: status, actor: job.actor, fields });
  if (updated) return updated;

  // The row changed under us (a concurrent job for the same connection): keep its account, drop ours.
  deps.logger.warn({ composioAccountId: accountId }, "connection changed concurrently; dropping the duplicate account");
  await deps.composio
    .deleteConnectedAccount(accountId)
    .catch((error: unknown) =>
      deps.logger.warn({ err: describeError(error), composioAccountId: accountId }, "could not delete a duplicate connected account"),
    );
  return deps.prisma.connection.findUniqueOrThrow({ where: { id: row.id } });
}

function parseDate(value: string | null): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function toResult(row: Connection): InitiateConnectionResult {
  return { connection_id: row.id, redirect_url: row.redirectUrl, status: row.status, expires_at: row.expiresAt?.toISOString() ?? null };
}
