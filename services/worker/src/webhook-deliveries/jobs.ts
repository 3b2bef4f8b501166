import { prismaSql } from "@kronos/db";
import { DelayedError } from "bullmq";
import type { JobHandler } from "../jobs/registry.js";
import { type AttemptDeps, attemptDelivery } from "./attempt-delivery.js";

/**
 * Attempts of one outbound webhook delivery, at most WEBHOOK_DELIVERY_CONCURRENCY at once per process and
 * WEBHOOK_ENDPOINT_CONCURRENCY per endpoint: a slow endpoint's extra jobs step aside (delayed for a moment), so it
 * never holds every slot and the other endpoints' deliveries go on. A retry later, per the schedule, is the same
 * job moved to delayed.
 */
export function webhookDeliveryHandler(options: { post?: AttemptDeps["post"] } = {}): JobHandler<"webhookDelivery"> {
  const inFlight = new Map<string, number>();
  return {
    callsComposio: false,
    concurrency: (config) => config.WEBHOOK_DELIVERY_CONCURRENCY,
    async run({ deliveryId, endpointId }, { job, token }, ctx) {
      const active = inFlight.get(endpointId) ?? 0;
      if (active >= ctx.config.WEBHOOK_ENDPOINT_CONCURRENCY) {
        await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 200), token);
        throw new DelayedError();
      }
      inFlight.set(endpointId, active + 1);
      let result: Awaited<ReturnType<typeof attemptDelivery>>;
      try {
        const deps: AttemptDeps = { config: ctx.config, sql: ctx.sql ?? prismaSql(ctx.prisma), bus: ctx.bus, ...options };
        result = await attemptDelivery(deps, deliveryId);
      } finally {
        const left = (inFlight.get(endpointId) ?? 1) - 1;
        if (left > 0) inFlight.set(endpointId, left);
        else inFlight.delete(endpointId);
      }
      if (result.kind === "later") {
        await job.moveToDelayed(result.at, token);
        throw new DelayedError();
      }
      return undefined;
    },
  };
}

export const deliverWebhookJob = webhookDeliveryHandler();
