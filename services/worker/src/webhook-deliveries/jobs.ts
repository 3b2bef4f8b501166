import { prismaSql } from "@kronos/db";
import { DelayedError } from "bullmq";
import type { JobHandler } from "../jobs/registry.js";
import { type AttemptDeps, attemptDelivery } from "./attempt-delivery.js";
import { EndpointGate } from "./endpoint-gate.js";

/** How long a job waits in process for its endpoint's slot before stepping aside, and how long it then steps aside. */
const SLOT_WAIT_MS = 1_000;
const STEP_ASIDE_MS = 1_000;

/**
 * Attempts of one outbound webhook delivery, at most WEBHOOK_DELIVERY_CONCURRENCY at once per process and
 * WEBHOOK_ENDPOINT_CONCURRENCY per endpoint (EndpointGate): a slow endpoint's extra jobs step aside (delayed), so
 * it never holds most of the slots and the other endpoints' deliveries go on. A retry later, per the schedule, is
 * the same job moved to delayed.
 */
export function webhookDeliveryHandler(options: { post?: AttemptDeps["post"] } = {}): JobHandler<"webhookDelivery"> {
  let gate: EndpointGate | undefined;
  return {
    callsComposio: false,
    concurrency: (config) => config.WEBHOOK_DELIVERY_CONCURRENCY,
    async run({ deliveryId, endpointId }, { job, token }, ctx) {
      gate ??= new EndpointGate(ctx.config.WEBHOOK_ENDPOINT_CONCURRENCY);
      if (!(await gate.acquire(endpointId, SLOT_WAIT_MS))) {
        await job.moveToDelayed(Date.now() + STEP_ASIDE_MS + Math.floor(Math.random() * STEP_ASIDE_MS), token);
        throw new DelayedError();
      }
      let result: Awaited<ReturnType<typeof attemptDelivery>>;
      try {
        const deps: AttemptDeps = { config: ctx.config, sql: ctx.sql ?? prismaSql(ctx.prisma), bus: ctx.bus, ...options };
        result = await attemptDelivery(deps, deliveryId);
      } finally {
        gate.release(endpointId);
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
