import type { JobHandler } from "../jobs/registry.js";
import { processWebhookEvent } from "./process-webhook-event.js";

/** Applies one stored Composio webhook, once. */
export const processWebhookEventJob: JobHandler<"webhookEvent"> = {
  callsComposio: false,
  run: (data, { log }, ctx) => processWebhookEvent({ prisma: ctx.prisma, bus: ctx.bus, logger: log }, data),
};
