import type { Redis } from "ioredis";
import { BatchQueue } from "../batch-queue.js";
import type { FeedEvent } from "../events/schemas.js";
import { encodeLaneEntry, webhookLaneKey } from "./lane.js";

/** What the outbox needs of a database: `Sql` of @kronos/db (a pg pool or Prisma) fits. */
export interface OutboxSql {
  rows<T>(statement: { name?: string; text: string; values: unknown[] }): Promise<T[]>;
}

/**
 * One row per (event, endpoint of the event's tenant whose filter takes it), for a batch of events in one statement
 * (one commit); a duplicate (the same event recorded twice by a retried publisher) adds nothing. Answers each new row
 * with its endpoint's version (updated_at, for the lane entry). Timestamps are UTC (Prisma's DateTime columns).
 */
const RECORD_DELIVERIES = `
WITH recorded AS (
  INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, status, next_attempt_at, created_at, updated_at)
  SELECT gen_random_uuid(), e.id, e.tenant_id, v.event_id, v.event_type, v.body, 'PENDING',
         timezone('UTC', now()), timezone('UTC', now()), timezone('UTC', now())
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(tenant_id, event_id, event_type, body)
  JOIN webhook_endpoints e ON e.tenant_id = v.tenant_id AND e.enabled AND (cardinality(e.events) = 0 OR v.event_type = ANY(e.events))
  ON CONFLICT (endpoint_id, event_id) DO NOTHING
  RETURNING id, endpoint_id, tenant_id, event_id)
SELECT r.id, r.endpoint_id, r.tenant_id, r.event_id, (extract(epoch FROM e.updated_at) * 1000)::bigint::text AS endpoint_version
FROM recorded r JOIN webhook_endpoints e ON e.id = r.endpoint_id`;

/** Events recorded in one statement at most; while `MAX_CONCURRENT` statements run, newer events wait and leave together. */
const MAX_BATCH = 200;
const MAX_CONCURRENT = 2;

/** The exact bytes an endpoint receives for an event: the feed's event JSON. */
export function webhookBody(event: FeedEvent): string {
  return JSON.stringify({ type: event.type, id: event.id, ts: event.ts, data: event.data });
}

interface Recorded {
  event: FeedEvent;
  tenantId: string;
}

export interface OutboxLane {
  redis: Redis;
  prefix: string;
  /** A push to the lane failed: the rows are stored, so the sweeper delivers them later; worth a log line. */
  onLaneError?: (error: unknown) => void;
}

/**
 * The outbox of outbound webhooks: called by the event bus after each event is appended (so the feed never waits
 * for it), it stores a delivery row per matching endpoint in Postgres, durably, then pushes each new delivery (with
 * its body) on the delivery lane (webhooks-out/lane.ts) for a worker's first attempt. Events published together (a burst) share one
 * INSERT and one push. An entry lost afterwards (a worker killed, Redis flushed) is recovered from its row by the
 * worker's sweeper.
 */
export class WebhookOutbox {
  private readonly batches: BatchQueue<Recorded, string[]>;
  private readonly laneKey: string;

  constructor(
    private readonly sql: OutboxSql,
    private readonly lane: OutboxLane,
  ) {
    this.laneKey = webhookLaneKey(lane.prefix);
    this.batches = new BatchQueue((items) => this.recordBatch(items), MAX_BATCH, MAX_CONCURRENT);
  }

  /** The ids of the delivery rows written for this event (none when no endpoint takes it). */
  record(event: FeedEvent, tenantId: string): Promise<string[]> {
    return this.batches.push({ event, tenantId });
  }

  private async recordBatch(items: Recorded[]): Promise<Array<{ ok: true; value: string[] }>> {
    const bodies = items.map((item) => webhookBody(item.event));
    const rows = await this.sql.rows<{ id: string; endpoint_id: string; tenant_id: string; event_id: string; endpoint_version: string }>({
      name: "webhook-outbox-record",
      text: RECORD_DELIVERIES,
      values: [items.map((item) => item.tenantId), items.map((item) => item.event.id), items.map((item) => item.event.type), bodies],
    });
    // Stream ids are per tenant: two tenants' events may share one.
    const keyOf = (tenantId: string, eventId: string) => `${tenantId} ${eventId}`;
    const bodyOf = new Map(items.map((item, i) => [keyOf(item.tenantId, item.event.id), bodies[i] as string]));
    if (rows.length > 0) {
      // Only after the commit: a worker that pops an entry finds its row. Failing here loses nothing (the sweeper
      // delivers stored rows), and failing the publisher instead would publish the event again, with a new id.
      const queuedAt = Date.now();
      const entries = rows.map((row) =>
        encodeLaneEntry({
          deliveryId: row.id,
          endpointId: row.endpoint_id,
          endpointVersion: row.endpoint_version,
          eventId: row.event_id,
          queuedAt,
          body: bodyOf.get(keyOf(row.tenant_id, row.event_id)) as string,
        }),
      );
      await this.lane.redis.lpush(this.laneKey, ...entries).catch((error: unknown) => this.lane.onLaneError?.(error));
    }
    const byEvent = new Map<string, string[]>();
    for (const row of rows) {
      const key = keyOf(row.tenant_id, row.event_id);
      byEvent.set(key, [...(byEvent.get(key) ?? []), row.id]);
    }
    return items.map((item) => ({ ok: true, value: byEvent.get(keyOf(item.tenantId, item.event.id)) ?? [] }));
  }
}
