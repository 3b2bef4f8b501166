import type { Sql } from "@kronos/db";
import type { LaneEntry } from "@kronos/shared";
import type { DueDelivery } from "./attempt-delivery.js";

/** What an attempt needs of its endpoint. */
export type EndpointRow = Pick<
  DueDelivery,
  "endpoint_id" | "tenant_id" | "url" | "enabled" | "sealed_secret" | "previous_sealed_secret" | "previous_secret_expires_at"
> & {
  /** updated_at, epoch ms as text: the version lane entries name. */
  version: string;
};

const LOAD_ENDPOINTS = `
SELECT id AS endpoint_id, tenant_id, url, enabled, sealed_secret, previous_sealed_secret, previous_secret_expires_at,
       (extract(epoch FROM updated_at) * 1000)::bigint::text AS version
FROM webhook_endpoints WHERE id = ANY($1::uuid[])`;

const MAX_ENDPOINTS = 1_000;

/**
 * The endpoints of the lane's deliveries, kept by version: a lane entry names the version of its endpoint when its
 * row was written, and an endpoint is read again (all those of a batch in one statement) only when an entry names a
 * newer version than the one kept (it changed: URL, secret rotation, disabled) or when it is not kept yet. A
 * delivery is thus made with its endpoint as it was when its event was recorded, or newer, never older.
 */
export class EndpointCache {
  private readonly kept = new Map<string, EndpointRow>();

  constructor(private readonly sql: Sql) {}

  /** The endpoint of each entry; missing from the answer: the endpoint no longer exists. */
  async forEntries(entries: readonly LaneEntry[]): Promise<Map<string, EndpointRow>> {
    const found = new Map<string, EndpointRow>();
    const toRead = new Set<string>();
    for (const entry of entries) {
      const kept = this.kept.get(entry.endpointId);
      // Kept at the entry's version or a newer one.
      if (kept && Number(kept.version) >= Number(entry.endpointVersion)) found.set(entry.endpointId, kept);
      else toRead.add(entry.endpointId);
    }
    if (toRead.size === 0) return found;
    const rows = await this.sql.rows<EndpointRow>({ name: "webhook-lane-endpoints", text: LOAD_ENDPOINTS, values: [[...toRead]] });
    if (this.kept.size + rows.length > MAX_ENDPOINTS) this.kept.clear();
    for (const row of rows) {
      this.kept.set(row.endpoint_id, row);
      found.set(row.endpoint_id, row);
    }
    return found;
  }
}
