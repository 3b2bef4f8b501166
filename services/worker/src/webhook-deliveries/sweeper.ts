import type { Sql } from "@kronos/db";
import { webhookDeliveryJob } from "@kronos/shared";
import type { Queue } from "bullmq";

/**
 * Due deliveries (PENDING, their attempt time passed by more than `graceMs`) are enqueued again. Their job id is
 * the delivery id, so a job that still exists (waiting, delayed, running) makes this a no-op; one that is gone (its
 * worker was killed, Redis restarted or was flushed) is recreated: the row in Postgres is what guarantees delivery.
 */
const DUE = `
SELECT id, endpoint_id FROM webhook_deliveries
WHERE status = 'PENDING' AND next_attempt_at <= timezone('UTC', now()) - make_interval(secs => $1)
ORDER BY next_attempt_at LIMIT $2`;

export async function sweepDueDeliveries(sql: Sql, queue: Queue, graceMs: number, batch = 1_000): Promise<number> {
  const rows = await sql.rows<{ id: string; endpoint_id: string }>({ name: "webhook-delivery-sweep", text: DUE, values: [graceMs / 1000, batch] });
  if (rows.length > 0) await queue.addBulk(rows.map((row) => webhookDeliveryJob({ id: row.id, endpointId: row.endpoint_id })));
  return rows.length;
}
