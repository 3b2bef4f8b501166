import { createHmac } from "node:crypto";
import { COMPOSIO_WEBHOOK_TYPES } from "@kronos/shared";
import type { FastifyBaseLogger } from "fastify";
import { nanoid } from "./state.js";

/**
 * Composio's outgoing webhooks (COMPOSIO.md, "Webhooks (Composio → us)"), signed as Composio signs them. The
 * signature is computed here on purpose, not with our verifier's code from @kronos/shared: the emulator stands for
 * Composio, and a bug shared by signer and verifier would go unnoticed.
 */

/** Composio's event type names are a fact about Composio, defined once in @kronos/shared. */
export const WEBHOOK_EVENT_TYPES = COMPOSIO_WEBHOOK_TYPES;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[keyof typeof WEBHOOK_EVENT_TYPES];

/** Composio's `project_id` / `org_id` in webhook metadata. */
export const EMULATOR_PROJECT_ID = "pr_emulator";
export const EMULATOR_ORG_ID = "ok_emulator";

/** Every delivery carries this payload version (the V3 envelope). */
export const WEBHOOK_VERSION = "V3";

/** Delays between the attempts of one delivery when none are given: 4 attempts in about 7.5 s. */
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [500, 2_000, 5_000];
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;

export interface WebhookOptions {
  /** Where every event is POSTed. */
  url: string;
  /** Signing secret, used as given (its UTF-8 bytes are the HMAC key). */
  secret: string;
  /** Delay before each retry; its length is the number of retries (default 500, 2000, 5000 ms). */
  retryDelaysMs?: readonly number[];
  /** An attempt with no answer after this long counts as failed (default 5000 ms). */
  timeoutMs?: number;
}

/** The V3 envelope. */
export interface WebhookEvent {
  id: string;
  timestamp: string;
  type: WebhookEventType;
  metadata: Record<string, unknown>;
  data: unknown;
}

/** One HTTP attempt, as listed by GET /_emulator/webhooks. */
export interface WebhookAttempt {
  /** The `webhook-id` (= payload id). */
  id: string;
  type: WebhookEventType;
  /** 1 for the original delivery, 2 for the first redelivery, ... */
  delivery: number;
  /** 1-based attempt within the delivery (also sent as `x-composio-delivery-attempt`). */
  attempt: number;
  /** The receiver's status, or null when it did not answer (connection error, timeout). */
  status_code: number | null;
  error: string | null;
  /** The `webhook-timestamp` header of this attempt (Unix seconds). */
  webhook_timestamp: number;
  sent_at: string;
  /** True when this attempt ended its delivery: acknowledged (2xx) or the last retry failed. */
  final: boolean;
}

interface StoredEvent {
  event: WebhookEvent;
  /** The exact bytes sent (and signed) on every attempt and redelivery. */
  body: string;
  deliveries: number;
}

/** Composio's signature header value for one attempt: `v1,<base64(HMAC-SHA256(secret, "<id>.<ts>.<body>"))>`. */
function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const digest = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${id}.${timestampSeconds}.${body}`, "utf8").digest("base64");
  return `v1,${digest}`;
}

/** Creates events, delivers them in the background with retries, and keeps the log of every attempt. */
export class WebhookDispatcher {
  private readonly events = new Map<string, StoredEvent>();
  private attempts: WebhookAttempt[] = [];
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; resolve: (woke: boolean) => void }>();
  private readonly inFlight = new Set<AbortController>();
  /** Bumped by reset and close: deliveries of an older generation stop at their next step. */
  private generation = 0;
  private running = 0;
  private closed = false;

  constructor(
    private readonly options: WebhookOptions | undefined,
    private readonly log?: FastifyBaseLogger,
  ) {}

  get configured(): boolean {
    return this.options !== undefined;
  }

  get url(): string | null {
    return this.options?.url ?? null;
  }

  /** Deliveries still trying (sending or waiting to retry). */
  get pending(): number {
    return this.running;
  }

  /** Records an event and starts delivering it (never waits for the delivery). */
  emit(type: WebhookEventType, metadata: Record<string, unknown>, data: unknown, timestamp: string): WebhookEvent {
    const event: WebhookEvent = { id: nanoid("msg", 24), timestamp, type, metadata, data };
    const stored: StoredEvent = { event, body: JSON.stringify(event), deliveries: 0 };
    this.events.set(event.id, stored);
    this.startDelivery(stored);
    return event;
  }

  /** Sends a past event again: same id, same body, fresh timestamp and signature. Null when the id is unknown. */
  redeliver(id: string): { event: WebhookEvent; delivery: number } | null {
    const stored = this.events.get(id);
    if (!stored) return null;
    const delivery = this.startDelivery(stored);
    return { event: stored.event, delivery };
  }

  listEvents(): WebhookEvent[] {
    return [...this.events.values()].map((s) => s.event);
  }

  listAttempts(filter: { id?: string; type?: string } = {}): WebhookAttempt[] {
    return this.attempts
      .filter((a) => (!filter.id || a.id === filter.id) && (!filter.type || a.type === filter.type))
      .map((a) => ({ ...a }));
  }

  /** Forgets every event and attempt and stops deliveries under way. */
  reset(): void {
    this.cancel();
    this.events.clear();
    this.attempts = [];
  }

  close(): void {
    this.closed = true;
    this.cancel();
  }

  private cancel(): void {
    this.generation += 1;
    this.running = 0;
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.resolve(false);
    }
    this.sleeping.clear();
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
  }

  private startDelivery(stored: StoredEvent): number {
    stored.deliveries += 1;
    const delivery = stored.deliveries;
    if (!this.options || this.closed) return delivery;
    const options = this.options;
    const generation = this.generation;
    this.running += 1;
    // setImmediate: the request that caused the event is answered before the first attempt starts.
    setImmediate(() => {
      this.deliver(options, stored, delivery, generation)
        .catch((error: unknown) => this.log?.error({ err: error, webhookId: stored.event.id }, "webhook delivery crashed"))
        .finally(() => {
          if (generation === this.generation) this.running -= 1;
        });
    });
    return delivery;
  }

  private async deliver(options: WebhookOptions, stored: StoredEvent, delivery: number, generation: number): Promise<void> {
    const delays = options.retryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS;
    const attempts = delays.length + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (generation !== this.generation) return;
      const record = await this.attempt(options, stored, delivery, attempt, generation);
      if (!record) return;
      const ok = record.status_code !== null && record.status_code >= 200 && record.status_code < 300;
      record.final = ok || attempt === attempts;
      this.attempts.push(record);
      if (ok) return;
      this.log?.warn(
        { webhookId: record.id, type: record.type, attempt, statusCode: record.status_code, error: record.error },
        record.final ? "webhook delivery failed, giving up" : "webhook delivery failed, will retry",
      );
      if (record.final) return;
      if (!(await this.sleep(delays[attempt - 1] ?? 0))) return;
    }
  }

  /** One POST. Null when cancelled (reset or close) meanwhile: such an attempt is not logged. */
  private async attempt(
    options: WebhookOptions,
    stored: StoredEvent,
    delivery: number,
    attempt: number,
    generation: number,
  ): Promise<WebhookAttempt | null> {
    const { id, type } = stored.event;
    const timestamp = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS} ms`)),
      options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
    );
    const record: WebhookAttempt = {
      id,
      type,
      delivery,
      attempt,
      status_code: null,
      error: null,
      webhook_timestamp: timestamp,
      sent_at: new Date().toISOString(),
      final: false,
    };
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "composio-emulator",
          "webhook-id": id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signWebhook(options.secret, id, timestamp, stored.body),
          "x-composio-webhook-version": WEBHOOK_VERSION,
          "x-composio-delivery-attempt": String(attempt),
        },
        body: stored.body,
        signal: controller.signal,
        redirect: "manual",
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status_code = response.status;
    } catch (error) {
      const reason = controller.signal.aborted ? controller.signal.reason : error;
      record.error = reason instanceof Error ? (reason.cause instanceof Error ? reason.cause.message : reason.message) : String(reason);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    return generation === this.generation ? record : null;
  }

  /** Resolves true after `ms`, or false at once when cancelled. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleeping.delete(sleeper);
          resolve(true);
        }, ms),
        resolve,
      };
      this.sleeping.add(sleeper);
    });
  }
}
