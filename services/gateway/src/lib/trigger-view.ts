import type { Trigger } from "@kronos/db";
import type { TriggerView } from "@kronos/shared";

export function toTriggerView(row: Trigger): TriggerView {
  return {
    trigger_id: row.id,
    user_id: row.userId,
    toolkit: row.toolkitSlug,
    trigger_slug: row.triggerSlug,
    connection_id: row.connectionId,
    composio_trigger_id: row.composioTriggerId,
    status: row.status,
    status_reason: row.statusReason,
    config: (row.config ?? {}) as Record<string, unknown>,
    labels: row.labels,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Where a client polls for a trigger (the 202 answers' poll_url). */
export const triggerPath = (triggerId: string) => `/api/v1/composio/triggers/${triggerId}`;
