import { Prisma, type PrismaClient } from "@kronos/db";

/** One delivery to store. */
export interface WebhookRow {
  id: string;
  type: string;
  tenantId: string | null;
  /** The envelope, serialised (stored as jsonb). */
  payload: string;
}

interface Waiting {
  row: WebhookRow;
  resolve: (inserted: boolean) => void;
  reject: (error: unknown) => void;
}

/** Rows in one INSERT at most. */
export const STORE_MAX_BATCH = 100;
/** INSERTs running at once (each holds one pooled connection for one statement). */
export const STORE_MAX_CONCURRENT = 4;

/**
 * Stores deliveries durably, coalescing those that arrive together into one multi-row
 * `INSERT ... ON CONFLICT DO NOTHING RETURNING id` (one statement, one commit, no transaction round trips): under a
 * burst, one WAL flush covers many deliveries instead of one each, and at most `maxConcurrent` pooled connections
 * are used. Each caller learns whether ITS row was inserted (false: the id was already stored, or an earlier copy in
 * the same batch took it). Nothing resolves before the statement committed.
 */
export class WebhookStore {
  private waiting: Waiting[] = [];
  private running = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly maxBatch = STORE_MAX_BATCH,
    private readonly maxConcurrent = STORE_MAX_CONCURRENT,
  ) {}

  /** Resolves true when the row was inserted, false when a row with its id exists; rejects when the INSERT failed. */
  insert(row: WebhookRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running += 1;
      this.run(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    // An id twice in one batch: only its first copy is in the statement (the others are duplicates).
    const first = new Map<string, Waiting>();
    for (const waiting of batch) if (!first.has(waiting.row.id)) first.set(waiting.row.id, waiting);
    let inserted: Set<string>;
    try {
      inserted = await this.write([...first.values()].map(({ row }) => row));
    } catch (error) {
      if (first.size === 1) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      // One bad row must not fail the others: each row again on its own.
      for (const waiting of first.values()) {
        try {
          waiting.resolve((await this.write([waiting.row])).has(waiting.row.id));
        } catch (rowError) {
          waiting.reject(rowError);
        }
      }
      for (const waiting of batch) if (first.get(waiting.row.id) !== waiting) waiting.resolve(false);
      return;
    }
    for (const waiting of batch) waiting.resolve(first.get(waiting.row.id) === waiting && inserted.has(waiting.row.id));
  }

  /** One INSERT of `rows` (distinct ids); the ids it inserted. */
  private async write(rows: WebhookRow[]): Promise<Set<string>> {
    const values = rows.map((row) => Prisma.sql`(${row.id}, ${row.type}, ${row.tenantId}::uuid, ${row.payload}::jsonb)`);
    const inserted = await this.prisma.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "webhook_events" ("id", "type", "tenant_id", "payload")
      VALUES ${Prisma.join(values)}
      ON CONFLICT DO NOTHING
      RETURNING "id"`;
    return new Set(inserted.map((row) => row.id));
  }
}
