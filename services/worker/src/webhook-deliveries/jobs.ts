import { prismaSql } from "@kronos/db";
import { DelayedError } from "bullmq";
import type { JobContext } from "../jobs/context.js";
import type { JobHandler } from "../jobs/registry.js";
import { type AttemptDeps, attemptDelivery } from "./attempt-delivery.js";
import { createDeliverer, type Deliverer, SLOT_WAIT_MS, slotReleaser, stepAsideUntil } from "./deliverer.js";
import { startDeliveryLane } from "./lane.js";

/**
 * Outbound webhook deliveries. The first attempt of a fresh delivery runs from the lane (lane.ts, started beside
 * this queue's worker); this queue's jobs carry the rest: retries on the schedule (the same job moved to delayed),
 * deliveries that stepped aside, the sweeper's recoveries, and the API's retry and replay. At most
 * WEBHOOK_DELIVERY_CONCURRENCY jobs run at once per process, and WEBHOOK_ENDPOINT_CONCURRENCY attempts per endpoint
 * across every process (EndpointSlots): a slow endpoint's extra jobs step aside (delayed), so it never holds most of
 * the slots and the other endpoints' deliveries go on.
 */
export function webhookDeliveryHandler(options: { post?: AttemptDeps["post"] } = {}): JobHandler<"webhookDelivery"> {
  // One per process, shared by the jobs and the lane (made on first use: the handler is declared before any context).
  let deliverer: Deliverer | undefined;
  const delivererOf = (ctx: JobContext) =>
    (deliverer ??= createDeliverer({
      config: ctx.config,
      sql: ctx.sql ?? prismaSql(ctx.prisma),
      bus: ctx.bus,
      redis: ctx.redis,
      ...(options.post ? { post: options.post } : {}),
    }));
  return {
    callsComposio: false,
    concurrency: (config) => config.WEBHOOK_DELIVERY_CONCURRENCY,
    async run({ deliveryId, endpointId }, { job, token }, ctx) {
      const current = delivererOf(ctx);
      const slot = await current.slots.acquire(endpointId, SLOT_WAIT_MS);
      if (!slot) {
        await job.moveToDelayed(stepAsideUntil(), token);
        throw new DelayedError();
      }
      const release = slotReleaser(current, endpointId, slot);
      let result: Awaited<ReturnType<typeof attemptDelivery>>;
      try {
        // The slot is free again as soon as the endpoint has answered, before the outcome is written.
        result = await attemptDelivery(current.deps, deliveryId, release);
      } finally {
        release();
      }
      if (result.kind === "later") {
        await job.moveToDelayed(result.at, token);
        throw new DelayedError();
      }
      return undefined;
    },
    alongside: (ctx, connection) =>
      startDeliveryLane({
        config: ctx.config,
        deliverer: delivererOf(ctx),
        connection,
        queue: ctx.queues.webhookDelivery,
        logger: ctx.logger,
      }),
  };
}

export const deliverWebhookJob = webhookDeliveryHandler();
