import { z } from "zod";
import { connectionStatusSchema, finalExecutionStatusSchema } from "../domain.js";

/** Every event type clients can receive on the WebSocket feed. */
export const EVENT_TYPES = {
  connectionStatus: "connection.status",
  executionCompleted: "execution.completed",
  bulkCompleted: "bulk.completed",
  triggerMessage: "trigger.message",
  triggerDisabled: "trigger.disabled",
  endpointDisabled: "endpoint.disabled",
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export const connectionStatusEventDataSchema = z.object({
  connection_id: z.string(),
  user_id: z.string(),
  toolkit: z.string(),
  status: connectionStatusSchema,
  previous_status: connectionStatusSchema.nullable(),
  status_reason: z.string().nullable().optional(),
  labels: z.array(z.string()),
});
export type ConnectionStatusEventData = z.infer<typeof connectionStatusEventDataSchema>;

/** What a publisher hands over: the id and timestamp are assigned when the event is appended. */
export interface EventDraft<T extends EventType = EventType, D = unknown> {
  type: T;
  tenantId: string;
  /** The end user the event concerns; null for tenant-wide events that only API-key clients see. */
  userId: string | null;
  data: D;
}

/** The JSON a WebSocket client receives. `id` increases per tenant; use it with `?since=` to resume. */
export interface FeedEvent<D = unknown> {
  type: EventType;
  id: string;
  ts: string;
  data: D;
}

export const executionCompletedEventDataSchema = z.object({
  execution_id: z.string(),
  user_id: z.string(),
  tool: z.string(),
  status: finalExecutionStatusSchema,
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  duration_ms: z.number().nullable(),
  log_id: z.string().nullable(),
});
export type ExecutionCompletedEventData = z.infer<typeof executionCompletedEventDataSchema>;

export const bulkItemResultSchema = z.object({
  index: z.number().int(),
  ok: z.boolean(),
  connection_id: z.string().nullable(),
  status: connectionStatusSchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export const bulkCompletedEventDataSchema = z.object({
  bulk_id: z.string(),
  kind: z.string(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  results: z.array(bulkItemResultSchema),
});
export type BulkCompletedEventData = z.infer<typeof bulkCompletedEventDataSchema>;

export const triggerMessageEventDataSchema = z.object({
  trigger_slug: z.string().nullable(),
  trigger_id: z.string().nullable(),
  connection_id: z.string().nullable(),
  connected_account_id: z.string().nullable(),
  user_id: z.string(),
  payload: z.unknown(),
});
export type TriggerMessageEventData = z.infer<typeof triggerMessageEventDataSchema>;

export const triggerDisabledEventDataSchema = z.object({
  trigger_id: z.string().nullable(),
  trigger_name: z.string().nullable(),
  connection_id: z.string().nullable(),
  connected_account_id: z.string().nullable(),
  user_id: z.string(),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
});
export type TriggerDisabledEventData = z.infer<typeof triggerDisabledEventDataSchema>;

export const endpointDisabledEventDataSchema = z.object({
  endpoint_id: z.string(),
  url: z.string(),
  /** "gone" (the endpoint answered 410), "failing" (no success for WEBHOOK_DISABLE_AFTER_HOURS). */
  reason: z.enum(["gone", "failing"]),
  disabled_at: z.string(),
});
export type EndpointDisabledEventData = z.infer<typeof endpointDisabledEventDataSchema>;

/** The data schema of each event type: the one description of what a client receives. */
export const EVENT_DATA_SCHEMAS = {
  [EVENT_TYPES.connectionStatus]: connectionStatusEventDataSchema,
  [EVENT_TYPES.executionCompleted]: executionCompletedEventDataSchema,
  [EVENT_TYPES.bulkCompleted]: bulkCompletedEventDataSchema,
  [EVENT_TYPES.triggerMessage]: triggerMessageEventDataSchema,
  [EVENT_TYPES.triggerDisabled]: triggerDisabledEventDataSchema,
  [EVENT_TYPES.endpointDisabled]: endpointDisabledEventDataSchema,
} as const;

/** Every event type, as a list (the valid values of an endpoint's `events` filter). */
export const ALL_EVENT_TYPES = Object.values(EVENT_TYPES) as EventType[];
