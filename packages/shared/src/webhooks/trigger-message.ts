import type { TriggerMessageEventData } from "../events/schemas.js";

/** WebhookEvent.outcome of a delivery that was applied (published, or its status change made). */
export const WEBHOOK_OUTCOME_APPLIED = "applied";

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {});
const str = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/** Whom a `composio.trigger.message` is about, as its metadata says (either may be missing). */
export interface TriggerMessageRefs {
  connectedAccountId: string | null;
  /** Composio's user id: ours are `<tenant uuid>:<user id>`. */
  composioUserId: string | null;
}

export function triggerMessageRefs(envelope: unknown): TriggerMessageRefs {
  const metadata = obj(obj(envelope).metadata);
  return { connectedAccountId: str(metadata.connected_account_id), composioUserId: str(metadata.user_id) };
}

/** The user a delivery belongs to: through our connection of its account, or the tenant/user in Composio's user id. */
export interface WebhookOwner {
  tenantId: string;
  userId: string;
  /** Our connection id, when the account is one of our connections. */
  connectionId: string | null;
}

/**
 * The `trigger.message` event of a delivery, for its owner. The webhooks service publishes it as soon as the delivery
 * is stored; the worker does the same for deliveries it had to take over. One definition, so both say the same.
 */
export function triggerMessageEventData(envelope: unknown, owner: WebhookOwner): TriggerMessageEventData {
  const body = obj(envelope);
  const metadata = obj(body.metadata);
  return {
    trigger_slug: str(metadata.trigger_slug),
    trigger_id: str(metadata.trigger_id),
    connection_id: owner.connectionId,
    connected_account_id: str(metadata.connected_account_id),
    user_id: owner.userId,
    payload: body.data ?? null,
  };
}
