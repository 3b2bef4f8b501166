import { Counter, createMetricsRegistry, Gauge, METRIC_NAMES, type Registry } from "@kronos/shared";

/**
 * What happened to a webhook delivery that got past (or failed) configuration: the `outcome` label. `published`: stored
 * and published at once (trigger messages); `accepted`: stored and handed to the worker as a job.
 */
export type WebhookOutcome = "published" | "accepted" | "duplicate" | "requeued" | "invalid" | "failed" | "unconfigured" | "shed";

export interface WebhooksMetrics {
  registry: Registry;
  eventsDelivered: Counter;
  socketsClosed: Counter<"code">;
  webhooksReceived: Counter<"type" | "outcome">;
  signatureFailures: Counter<"reason">;
}

/**
 * The service's registry: default process metrics, plus the feed's and the webhook endpoint's. `openSockets` is read
 * from the hub when Prometheus scrapes.
 */
export function createWebhooksMetrics(openSockets: () => number): WebhooksMetrics {
  const registry = createMetricsRegistry("webhooks");
  new Gauge({
    name: METRIC_NAMES.openSockets,
    help: "Open feed sockets",
    registers: [registry],
    collect() {
      this.set(openSockets());
    },
  });
  return {
    registry,
    eventsDelivered: new Counter({
      name: METRIC_NAMES.eventsDelivered,
      help: "Events sent to feed sockets (live and replayed)",
      registers: [registry],
    }),
    socketsClosed: new Counter({
      name: METRIC_NAMES.socketsClosed,
      help: "Feed sockets closed, by close code (1006: terminated without a close frame, e.g. a missed heartbeat)",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    webhooksReceived: new Counter({
      name: METRIC_NAMES.webhooksReceived,
      help: "Composio webhook deliveries with a valid signature (or refused as unconfigured), by event type and outcome",
      labelNames: ["type", "outcome"] as const,
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: METRIC_NAMES.webhookSignatureFailures,
      help: "Composio webhook deliveries refused by the signature check, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
  };
}

/**
 * The `type` label of a delivery: Composio's event types look like `composio.<noun>.<verb>`; anything else (or a
 * type too long to be one) is `other`, so that the label set stays small whatever arrives.
 */
export function typeLabel(type: string | undefined): string {
  return type !== undefined && /^composio\.[a-z0-9_.]{1,80}$/.test(type) ? type : "other";
}
