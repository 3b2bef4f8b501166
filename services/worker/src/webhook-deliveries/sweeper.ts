import type { Sql } from "@kronos/db";
import { type Logger, type TypedQueue, webhookDeliveryJob } from "@kronos/shared";

/**
 * Due deliveries (PENDING, their attempt time passed by more than the grace) are enqueued again. Their job id is
 * the delivery id, so a job that still exists (waiting, delayed, running) makes this a no-op; one that is gone (its
 * worker was killed, Redis restarted or was flushed) is recreated: the row in Postgres is what guarantees delivery.
 */
const DUE = `
SELECT id, endpoint_id FROM webhook_deliveries
WHERE status = 'PENDING' AND next_attempt_at <= timezone('UTC', now()) - make_interval(secs => $1)
  AND ($3::uuid[] IS NULL OR tenant_id = ANY($3::uuid[]))
ORDER BY next_attempt_at LIMIT $2`;

export interface SweeperOptions {
  sql: Sql;
  queue: TypedQueue<"webhookDelivery">;
  intervalMs: number;
  logger: Logger;
  /** Tests share one database: each sweeps its own tenants only. */
  tenantIds?: string[];
}

export async function sweepDueDeliveries(options: SweeperOptions, batch = 1_000): Promise<number> {
  const rows = await options.sql.rows<{ id: string; endpoint_id: string }>({
    name: "webhook-delivery-sweep",
    text: DUE,
    values: [options.intervalMs / 1000, batch, options.tenantIds ?? null],
  });
  if (rows.length > 0) await options.queue.addBulk(rows.map((row) => webhookDeliveryJob({ id: row.id, endpointId: row.endpoint_id })));
  return rows.length;
}

/** Sweeps every `intervalMs` (WEBHOOK_SWEEP_INTERVAL_MS), one sweep at a time, until stopped. */
export function startWebhookSweeper(options: SweeperOptions): { stop(): void } {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepDueDeliveries(options)
      .then((count) => {
        if (count > 0) options.logger.info({ count }, "webhook deliveries re-enqueued by the sweeper");
      })
      .catch((error: unknown) => options.logger.error({ err: error }, "webhook delivery sweep failed"))
      .finally(() => {
        sweeping = false;
      });
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
