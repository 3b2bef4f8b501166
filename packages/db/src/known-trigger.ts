import type { Sql } from "./sql.js";

/** Our trigger behind a Composio trigger id, as trigger messages carry it (`trigger.message` names it). */
export interface KnownTriggerRow {
  id: string;
  tenantId: string;
  labels: string[];
  connectionId: string | null;
}

const FIND_TEXT = `
  SELECT "id", "tenant_id"::text AS "tenantId", "labels", "connection_id"::text AS "connectionId"
  FROM "triggers"
  WHERE "composio_trigger_id" = $1`;

/**
 * Our trigger of a Composio trigger id, when it belongs to `tenantId` (the message's owner); null for a trigger made
 * elsewhere than through our API. One prepared statement: the webhooks service runs it for every trigger message.
 */
export async function findKnownTrigger(sql: Sql, composioTriggerId: string, tenantId: string): Promise<KnownTriggerRow | null> {
  const rows = await sql.rows<KnownTriggerRow>({ name: "find-known-trigger", text: FIND_TEXT, values: [composioTriggerId] });
  const row = rows[0];
  return row && row.tenantId === tenantId ? row : null;
}
