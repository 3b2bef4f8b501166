import type { Connection } from "@kronos/db";
import type { ConnectionView, InitiateConnectionJob } from "@kronos/shared";

export function toConnectionView(row: Connection): ConnectionView {
  return {
    connection_id: row.id,
    user_id: row.userId,
    toolkit: row.toolkitSlug,
    auth_config_id: row.authConfigId,
    connected_account_id: row.composioAccountId,
    status: row.status,
    status_reason: row.statusReason,
    labels: row.labels,
    redirect_url: row.redirectUrl,
    expires_at: row.expiresAt?.toISOString() ?? null,
    verification: row.verification,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** The view of a connection whose job is queued but whose row the worker has not written yet. */
export function pendingConnectionView(
  job: { data: InitiateConnectionJob; timestamp: number; processedOn?: number | undefined },
  failure: { reason: string } | null,
): ConnectionView {
  const created = new Date(job.timestamp).toISOString();
  return {
    connection_id: job.data.connectionId,
    user_id: job.data.userId,
    toolkit: job.data.toolkit,
    auth_config_id: job.data.authConfigId ?? null,
    connected_account_id: null,
    status: failure ? "FAILED" : "INITIALIZING",
    status_reason: failure?.reason ?? null,
    labels: job.data.labels,
    redirect_url: null,
    expires_at: null,
    verification: null,
    created_at: created,
    updated_at: job.processedOn ? new Date(job.processedOn).toISOString() : created,
  };
}
