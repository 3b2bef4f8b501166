import type { FeedEvent } from "../events/schemas.js";
import { type TypedQueue, webhookDeliveryJob } from "../queues.js";

/** What the outbox needs of a database: `Sql` of @kronos/db (a pg pool or Prisma) fits. */
export interface OutboxSql {
  rows<T>(statement: { name?: string; text: string; values: unknown[] }): Promise<T[]>;
}

/**
 * One row per endpoint of the tenant whose filter takes the event, written in one statement; a duplicate (the
 * same event recorded twice by a retried publisher) adds nothing. Timestamps are UTC (Prisma's DateTime columns).
 */
const RECORD_DELIVERIES = `
INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, status, next_attempt_at, created_at, updated_at)
SELECT gen_random_uuid(), e.id, e.tenant_id, $2, $3, $4, 'PENDING', timezone('UTC', now()), timezone('UTC', now()), timezone('UTC', now())
FROM webhook_endpoints e
WHERE e.tenant_id = $1::uuid AND e.enabled AND (cardinality(e.events) = 0 OR $3 = ANY(e.events))
ON CONFLICT (endpoint_id, event_id) DO NOTHING
RETURNING id, endpoint_id`;

/** The exact bytes an endpoint receives for an event: the feed's event JSON. */
export function webhookBody(event: FeedEvent): string {
  return JSON.stringify({ type: event.type, id: event.id, ts: event.ts, data: event.data });
}

/**
 * The outbox of outbound webhooks: called by the event bus after each event is appended (so the feed never waits
 * for it), it stores a delivery row per matching endpoint in Postgres, durably, then enqueues a job per row. A
 * job lost afterwards (a worker killed, Redis flushed) is re-enqueued from its row by the worker's sweeper.
 */
export class WebhookOutbox {
  constructor(
    private readonly sql: OutboxSql,
    private readonly queue: TypedQueue<"webhookDelivery">,
  ) {}

  async record(event: FeedEvent, tenantId: string): Promise<string[]> {
    const rows = await this.sql.rows<{ id: string; endpoint_id: string }>({
      name: "webhook-outbox-record",
      text: RECORD_DELIVERIES,
      values: [tenantId, event.id, event.type, webhookBody(event)],
    });
    if (rows.length > 0) await this.queue.addBulk(rows.map((row) => webhookDeliveryJob({ id: row.id, endpointId: row.endpoint_id })));
    return rows.map((row) => row.id);
  }
}
