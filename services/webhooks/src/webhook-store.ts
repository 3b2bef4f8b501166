import type { Sql } from "@kronos/db";
import { BatchQueue, WEBHOOK_OUTCOME_APPLIED } from "@kronos/shared";

/** One delivery to store. */
export interface WebhookRow {
  id: string;
  type: string;
  tenantId: string | null;
  /** The envelope, serialised (stored as jsonb). */
  payload: string;
  /** Set when the request that stores the row will publish its effect itself: the INSERT that wins takes the claim. */
  claimedBy?: string | null;
}

/** Rows in one statement at most. */
const STORE_MAX_BATCH = 100;
/** Statements of each kind running at once (each holds one pooled connection for one statement). */
const STORE_MAX_CONCURRENT = 4;
/** Ms a delivery's "applied" mark waits for others: nobody waits on it in a hurry (the event is already out). */
const MARK_LINGER_MS = 20;

const INSERT_TEXT = `
  INSERT INTO "webhook_events" ("id", "type", "tenant_id", "payload", "claimed_by", "claimed_at")
  SELECT v.id, v.type, v.tenant_id, v.payload, v.claimed_by,
    CASE WHEN v.claimed_by IS NULL THEN NULL ELSE (now() AT TIME ZONE 'UTC') END
  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::jsonb[], $5::text[]) AS v(id, type, tenant_id, payload, claimed_by)
  ON CONFLICT DO NOTHING
  RETURNING "id"`;

// processed_at is a UTC timestamp(3) column (as Prisma stores it), whatever the session's time zone.
const MARK_APPLIED_TEXT = `
  UPDATE "webhook_events" AS w
  SET "processed_at" = (now() AT TIME ZONE 'UTC'), "outcome" = $3, "tenant_id" = v.tenant_id
  FROM unnest($1::text[], $2::uuid[]) AS v(id, tenant_id)
  WHERE w."id" = v.id AND w."processed_at" IS NULL
  RETURNING w."id"`;

type Result<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Stores deliveries durably, coalescing those that arrive together into one
 * `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING id` (one statement, one commit, no
 * transaction round trips, and one text whatever the batch size, so Postgres plans it once per connection): under a
 * burst, one WAL flush covers many deliveries instead of one each, and at most `maxConcurrent` pooled connections
 * are used. Each caller learns whether ITS row was inserted (false: the id was already stored, or an earlier copy in
 * the same batch took it). Nothing resolves before the statement committed. Marking deliveries applied is batched
 * the same way.
 */
export class WebhookStore {
  private readonly inserts: BatchQueue<WebhookRow, boolean>;
  private readonly applied: BatchQueue<{ id: string; tenantId: string }, boolean>;

  constructor(
    private readonly sql: Sql,
    maxBatch = STORE_MAX_BATCH,
    maxConcurrent = STORE_MAX_CONCURRENT,
  ) {
    this.inserts = new BatchQueue((rows) => this.insertBatch(rows), maxBatch, maxConcurrent);
    this.applied = new BatchQueue((marks) => this.markBatch(marks), maxBatch, maxConcurrent, MARK_LINGER_MS);
  }

  /** Resolves true when the row was inserted, false when a row with its id exists; rejects when the INSERT failed. */
  insert(row: WebhookRow): Promise<boolean> {
    return this.inserts.push(row);
  }

  /**
   * Records a delivery as applied (processedAt, outcome "applied", its tenant) unless it was processed already;
   * resolves whether this call marked it.
   */
  markApplied(id: string, tenantId: string): Promise<boolean> {
    return this.applied.push({ id, tenantId });
  }

  /** Gives a claim back (its holder will not publish: the worker's job takes the delivery over). */
  async releaseClaim(id: string, holder: string): Promise<void> {
    await this.sql.count({
      name: "webhook-events-release-claim",
      text: `UPDATE "webhook_events" SET "claimed_by" = NULL, "claimed_at" = NULL WHERE "id" = $1 AND "claimed_by" = $2`,
      values: [id, holder],
    });
  }

  private async insertBatch(rows: WebhookRow[]): Promise<Array<Result<boolean>>> {
    // An id twice in one batch: only its first copy is in the statement (the others are duplicates).
    const first = new Map<string, number>();
    rows.forEach((row, index) => {
      if (!first.has(row.id)) first.set(row.id, index);
    });
    const isFirst = (row: WebhookRow, index: number) => first.get(row.id) === index;
    const distinct = rows.filter(isFirst);
    try {
      const inserted = await this.write(distinct);
      return rows.map((row, index) => ({ ok: true, value: isFirst(row, index) && inserted.has(row.id) }));
    } catch (error) {
      if (distinct.length === 1) return rows.map(() => ({ ok: false, error }));
      // One bad row must not fail the others: each row again on its own.
      const alone = new Map<string, Result<boolean>>();
      for (const row of distinct) {
        try {
          alone.set(row.id, { ok: true, value: (await this.write([row])).has(row.id) });
        } catch (rowError) {
          alone.set(row.id, { ok: false, error: rowError });
        }
      }
      return rows.map((row, index) => (isFirst(row, index) ? (alone.get(row.id) as Result<boolean>) : { ok: true, value: false }));
    }
  }

  /** One INSERT of `rows` (distinct ids); the ids it inserted. */
  private async write(rows: WebhookRow[]): Promise<Set<string>> {
    const inserted = await this.sql.rows<{ id: string }>({
      name: "webhook-events-insert-claimed",
      text: INSERT_TEXT,
      values: [
        rows.map((r) => r.id),
        rows.map((r) => r.type),
        rows.map((r) => r.tenantId),
        rows.map((r) => r.payload),
        rows.map((r) => r.claimedBy ?? null),
      ],
    });
    return new Set(inserted.map((row) => row.id));
  }

  private async markBatch(marks: Array<{ id: string; tenantId: string }>): Promise<Array<Result<boolean>>> {
    const updated = await this.sql.rows<{ id: string }>({
      name: "webhook-events-mark-applied",
      text: MARK_APPLIED_TEXT,
      values: [marks.map((m) => m.id), marks.map((m) => m.tenantId), WEBHOOK_OUTCOME_APPLIED],
    });
    const marked = new Set(updated.map((row) => row.id));
    return marks.map((mark) => ({ ok: true, value: marked.has(mark.id) }));
  }
}
