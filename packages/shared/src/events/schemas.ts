import { z } from "zod";
import { connectionStatusSchema } from "../domain.js";

/** Every event type clients can receive on the WebSocket feed. */
export const EVENT_TYPES = {
  connectionStatus: "connection.status",
  executionCompleted: "execution.completed",
  bulkCompleted: "bulk.completed",
  triggerMessage: "trigger.message",
  triggerDisabled: "trigger.disabled",
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
