import { z } from "zod";
import { ALL_EVENT_TYPES } from "../events/schemas.js";
import { paginationQuerySchema } from "./common.js";

export const webhookEndpointIdParamsSchema = z.object({ id: z.uuid() });
export const webhookDeliveryParamsSchema = z.object({ id: z.uuid(), delivery_id: z.uuid() });

/** A lone UTF-16 surrogate: JSON may carry one (\ud800), but it is no character. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isCleanText = (text: string) => !LONE_SURROGATE.test(text) && !text.includes("\u0000");

const isControlOrSpace = (char: string) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f;

/** The form is checked here; what the host resolves to is checked by the use case (and again at each delivery). */
const endpointUrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(2_048)
  .refine((url) => isCleanText(url) && ![...url].some(isControlOrSpace), "must be a URL without spaces or control characters");
const eventTypeSchema = z.enum(ALL_EVENT_TYPES as [string, ...string[]], {
  error: `must be one of the event types: ${ALL_EVENT_TYPES.join(", ")}`,
});
/** Empty or absent: every event type. */
const eventFilterSchema = z
  .array(eventTypeSchema)
  .max(ALL_EVENT_TYPES.length * 2)
  .transform((types) => [...new Set(types)]);
/** Postgres text holds no NUL; a lone surrogate is no text at all. */
const descriptionSchema = z.string().trim().max(500).refine(isCleanText, "must be text without NUL characters").nullable();

export const createWebhookEndpointBodySchema = z
  .object({ url: endpointUrlSchema, events: eventFilterSchema.optional(), description: descriptionSchema.optional() })
  .strict();
export type CreateWebhookEndpointBody = z.infer<typeof createWebhookEndpointBodySchema>;

export const updateWebhookEndpointBodySchema = z
  .object({ url: endpointUrlSchema.optional(), events: eventFilterSchema.optional(), description: descriptionSchema.optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one of url, events, description" });
export type UpdateWebhookEndpointBody = z.infer<typeof updateWebhookEndpointBodySchema>;

export const webhookEndpointViewSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()).describe("Event types delivered; empty means every type"),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    failing_since: z.string().nullable(),
    last_success_at: z.string().nullable(),
    previous_secret_expires_at: z.string().nullable().describe("Until then the previous secret signs too"),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "WebhookEndpoint" });
export type WebhookEndpointView = z.infer<typeof webhookEndpointViewSchema>;

/** Creation and rotation answer the secret, once. */
export const webhookEndpointWithSecretSchema = webhookEndpointViewSchema
  .extend({ secret: z.string().describe("The signing secret (whsec_...), shown only in this answer") })
  .meta({ id: "WebhookEndpointWithSecret" });

export const DELIVERY_STATUSES = ["PENDING", "SUCCEEDED", "FAILED"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const listDeliveriesQuerySchema = paginationQuerySchema.extend({ status: z.enum(DELIVERY_STATUSES).optional() });

export const webhookDeliveryViewSchema = z
  .object({
    id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_latency_ms: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDeliveryView = z.infer<typeof webhookDeliveryViewSchema>;

/** An event id of the feed ("<ms>-<seq>") or an ISO date: replay what came after it. */
export const replayBodySchema = z
  .object({
    since: z
      .string()
      .max(64)
      .refine((value) => /^\d{1,15}-\d{1,15}$/.test(value) || !Number.isNaN(Date.parse(value)), {
        message: "must be an event id (1764000000000-0) or an ISO date",
      }),
  })
  .strict();
export const replayResultSchema = z.object({ replayed: z.number().int().describe("Deliveries queued again") });
