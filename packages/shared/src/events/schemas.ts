import { z } from "zod";
import { connectionStatusSchema, executionStatusSchema, finalExecutionStatusSchema } from "../domain.js";

/** Every event type clients can receive on the WebSocket feed. */
export const EVENT_TYPES = {
  connectionStatus: "connection.status",
  executionStatus: "execution.status",
  executionApprovalRequested: "execution.approval_requested",
  executionCompleted: "execution.completed",
  bulkCompleted: "bulk.completed",
  triggerMessage: "trigger.message",
  triggerDisabled: "trigger.disabled",
  triggerStatus: "trigger.status",
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

/** Why an execution is in its status: a stable code and words for a person (or an agent) to read. */
export const executionReasonSchema = z.object({ code: z.string(), message: z.string() });

/** Where the user signs in for a parked AWAITING_AUTH execution (the connection started for it). */
export const executionAuthorizationSchema = z.object({
  connection_id: z.string(),
  redirect_url: z.string().nullable(),
  expires_at: z.string().nullable(),
});
export type ExecutionAuthorization = z.infer<typeof executionAuthorizationSchema>;

export const executionStatusEventDataSchema = z.object({
  execution_id: z.string(),
  user_id: z.string(),
  tool: z.string(),
  status: executionStatusSchema,
  previous_status: executionStatusSchema.nullable(),
  reason: executionReasonSchema.nullable(),
  /** Who caused the transition: "api_key:<id>", "user:<user_id>", or "system" (a worker, a sweep, an expiry). */
  actor: z.string(),
  /** Set while the execution is AWAITING_AUTH. */
  authorization: executionAuthorizationSchema.nullable(),
});
export type ExecutionStatusEventData = z.infer<typeof executionStatusEventDataSchema>;

export const executionApprovalRequestedEventDataSchema = z.object({
  execution_id: z.string(),
  user_id: z.string(),
  tool: z.string(),
  toolkit: z.string(),
  /** The arguments, with the values the tool's schema marks as secret replaced by "[REDACTED]". */
  arguments: z.record(z.string(), z.unknown()),
  /** Paths (e.g. "auth.token") of the redacted values. */
  redacted: z.array(z.string()),
  /** SHA-256 (hex) of the arguments as given: an approval covers exactly these. */
  arguments_hash: z.string(),
  /** Which policy rules asked for the approval: "tool:GMAIL_SEND_*" or "tag:destructiveHint". */
  rules: z.array(z.string()),
  requested_by: z.string(),
  expires_at: z.string(),
});
export type ExecutionApprovalRequestedEventData = z.infer<typeof executionApprovalRequestedEventDataSchema>;

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
  [EVENT_TYPES.executionStatus]: executionStatusEventDataSchema,
  [EVENT_TYPES.executionApprovalRequested]: executionApprovalRequestedEventDataSchema,
  [EVENT_TYPES.executionCompleted]: executionCompletedEventDataSchema,
  [EVENT_TYPES.bulkCompleted]: bulkCompletedEventDataSchema,
  [EVENT_TYPES.triggerMessage]: triggerMessageEventDataSchema,
  [EVENT_TYPES.triggerDisabled]: triggerDisabledEventDataSchema,
  [EVENT_TYPES.triggerStatus]: triggerStatusEventDataSchema,
  [EVENT_TYPES.endpointDisabled]: endpointDisabledEventDataSchema,
} as const;

/** The data of an event type, as its schema describes it. */
export type EventDataOf<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** A draft whose data is its type's data: what `EventBus.publish` takes, so a publisher cannot mix up the two. */
export type TypedEventDraft = { [T in EventType]: EventDraft<T, EventDataOf<T>> }[EventType];

/** Every event type, as a list (the valid values of an endpoint's `events` filter). */
export const ALL_EVENT_TYPES = Object.values(EVENT_TYPES) as EventType[];
