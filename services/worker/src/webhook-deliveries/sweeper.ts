import type { Sql } from "@kronos/db";
import { type Logger, type TypedQueue, webhookDeliveryJob } from "@kronos/shared";

/**
 * Due deliveries (PENDING, their attempt time passed by more than the grace) are enqueued again. Their job id is
 * the delivery id: a job that is waiting, delayed or running is left alone (a running one whose worker died is
 * handed back by BullMQ's stalled-job check); one that is gone (its worker was killed, Redis restarted or was
 * flushed), or whose record is in no state list (half lost), is recreated. The row in Postgres is what guarantees
 * delivery.
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
  let enqueued = 0;
  for (const row of rows) {
    const state = await options.queue.getJobState(row.id);
    if (state !== "unknown" && state !== "completed" && state !== "failed") continue;
    // A record left in no list (or a finished one kept by mistake) would make the add a no-op: remove it first.
    if (state !== "unknown" || (await options.queue.getJob(row.id))) await options.queue.remove(row.id).catch(() => 0);
    const { name, data, opts } = webhookDeliveryJob({ id: row.id, endpointId: row.endpoint_id });
    await options.queue.add(name, data, opts);
    enqueued += 1;
  }
  return enqueued;
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
