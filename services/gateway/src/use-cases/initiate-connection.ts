import { randomUUID } from "node:crypto";
import {
  AppError,
  actorOf,
  authConfigRefusal,
  type ConnectionStatus,
  connectionStatusSchema,
  type InitiateConnectionBody,
  type InitiateConnectionJob,
  initiateConnectionResultSchema,
  JOBS,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { acceptAndWait } from "../lib/accepted-jobs.js";
import { scopedUserId } from "../lib/principal.js";

export const connectionPath = (connectionId: string) => `/api/v1/composio/connections/${connectionId}`;

export type InitiateOutcome =
  | {
      kind: "created";
      body: {
        connection_id: string;
        redirect_url: string | null;
        status: ConnectionStatus;
        expires_at: string | null;
      };
    }
  | { kind: "accepted"; body: { connection_id: string; status: "INITIALIZING"; poll_url: string } };

/**
 * Checks what the gateway can check, enqueues the connection job (its id is the connection id) and waits up to
 * CONNECT_WAIT_MS for the worker: its result, its failure as our error, or "still initialising" (202).
 */
export async function initiateConnection(
  ctx: GatewayContext,
  principal: Principal,
  body: InitiateConnectionBody,
): Promise<InitiateOutcome> {
  const userId = scopedUserId(principal, body.user_id) ?? body.user_id;
  if (body.auth_config_id !== undefined) await assertOwnAuthConfig(ctx, principal.tenantId, body.auth_config_id, body.app_name);

  const connectionId = randomUUID();
  const data: InitiateConnectionJob = {
    connectionId,
    tenantId: principal.tenantId,
    userId,
    toolkit: body.app_name,
    labels: body.labels,
    actor: actorOf(principal),
    ...(body.auth_config_id === undefined ? {} : { authConfigId: body.auth_config_id }),
    ...(body.redirect_url === undefined ? {} : { returnUrl: body.redirect_url }),
  };
  const { connection: queue, connectionEvents: events } = ctx.queues;
  const opts = { jobId: connectionId };
  const record = { queue: queue.name, name: JOBS.initiateConnection, jobId: connectionId, tenantId: principal.tenantId, data, opts };
  const outcome = await acceptAndWait(ctx, record, { queue, events }, ctx.config.CONNECT_WAIT_MS, () =>
    queue.add(JOBS.initiateConnection, data, opts),
  );
  if (outcome.state === "completed") return created(connectionId, outcome.value);
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  return { kind: "accepted", body: { connection_id: connectionId, status: "INITIALIZING", poll_url: connectionPath(connectionId) } };
}

async function assertOwnAuthConfig(ctx: GatewayContext, tenantId: string, authConfigId: string, toolkit: string): Promise<void> {
  const authConfig = await ctx.prisma.authConfig.findFirst({ where: { id: authConfigId, tenantId } });
  const refusal = authConfigRefusal(authConfig, authConfigId, toolkit);
  if (!refusal) return;
  const details = refusal.code === "VALIDATION_FAILED" ? [{ field: "body.auth_config_id", message: refusal.message }] : undefined;
  throw new AppError(refusal.code, refusal.message, details);
}

function created(connectionId: string, raw: unknown): InitiateOutcome {
  const result = initiateConnectionResultSchema.safeParse(raw);
  const status = connectionStatusSchema.safeParse(result.data?.status);
  if (!result.success || !status.success) throw new AppError("UPSTREAM_ERROR", "The connection job returned an unexpected result");
  const expiresAt = result.data.expires_at ? new Date(result.data.expires_at) : null;
  return {
    kind: "created",
    body: {
      connection_id: connectionId,
      redirect_url: result.data.redirect_url,
      status: status.data,
      expires_at: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt.toISOString() : null,
    },
  };
}
