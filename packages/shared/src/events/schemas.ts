import { z } from "zod";
import { connectionStatusSchema, finalExecutionStatusSchema } from "../domain.js";

/** Every event type clients can receive on the WebSocket feed. */
export const EVENT_TYPES = {
  connectionStatus: "connection.status",
  executionCompleted: "execution.completed",
  bulkCompleted: "bulk.completed",
  triggerMessage: "trigger.message",
  triggerDisabled: "trigger.disabled",
  triggerStatus: "trigger.status",
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
  /** Our trigger's id (POST /triggers), null for a trigger made elsewhere than through our API. */
  trigger_id: z.string().nullable(),
  /** Composio's trigger instance id ("ti_..."). */
  composio_trigger_id: z.string().nullable(),
  /** Our trigger's labels ([] when it is not one of ours). */
  labels: z.array(z.string()),
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

/** A trigger's state: DELETED is only ever an event (the row is gone). */
export const TRIGGER_STATUSES = ["PENDING", "ACTIVE", "DISABLED", "FAILED"] as const;
export const triggerStatusSchema = z.enum(TRIGGER_STATUSES);
export type TriggerStatus = z.infer<typeof triggerStatusSchema>;

export const triggerStatusEventDataSchema = z.object({
  trigger_id: z.string(),
  trigger_slug: z.string(),
  toolkit: z.string(),
  user_id: z.string(),
  connection_id: z.string().nullable(),
  composio_trigger_id: z.string().nullable(),
  status: z.enum([...TRIGGER_STATUSES, "DELETED"]),
  previous_status: triggerStatusSchema.nullable(),
  status_reason: z.string().nullable(),
  labels: z.array(z.string()),
});
export type TriggerStatusEventData = z.infer<typeof triggerStatusEventDataSchema>;

/** The data schema of each event type: the one description of what a client receives. */
export const EVENT_DATA_SCHEMAS = {
  [EVENT_TYPES.connectionStatus]: connectionStatusEventDataSchema,
  [EVENT_TYPES.executionCompleted]: executionCompletedEventDataSchema,
  [EVENT_TYPES.bulkCompleted]: bulkCompletedEventDataSchema,
  [EVENT_TYPES.triggerMessage]: triggerMessageEventDataSchema,
  [EVENT_TYPES.triggerDisabled]: triggerDisabledEventDataSchema,
  [EVENT_TYPES.triggerStatus]: triggerStatusEventDataSchema,
} as const;
