import type { TriggerMessageEventData } from "../events/schemas.js";

/** WebhookEvent.outcome of a delivery that was applied (published, or its status change made). */
export const WEBHOOK_OUTCOME_APPLIED = "applied";

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {});
const str = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/** Whom a `composio.trigger.message` is about, as its metadata says (any may be missing). */
export interface TriggerMessageRefs {
  connectedAccountId: string | null;
  /** Composio's trigger instance id ("ti_..."): finds our Trigger row. */
  composioTriggerId: string | null;
  /** Composio's user id: ours are `<tenant uuid>:<user id>`. */
  composioUserId: string | null;
}

export function triggerMessageRefs(envelope: unknown): TriggerMessageRefs {
  const metadata = obj(obj(envelope).metadata);
  return {
    connectedAccountId: str(metadata.connected_account_id),
    composioTriggerId: str(metadata.trigger_id),
    composioUserId: str(metadata.user_id),
  };
}

/** The user a delivery belongs to: through our connection of its account, or the tenant/user in Composio's user id. */
export interface WebhookOwner {
  tenantId: string;
  userId: string;
  /** Our connection id, when the account is one of our connections. */
  connectionId: string | null;
}

/** Our Trigger row of a message, when the trigger was made through our API. */
export interface KnownTrigger {
  id: string;
  labels: string[];
  connectionId: string | null;
}

/**
 * The `trigger.message` event of a delivery, for its owner (and our trigger, when it is one of ours). The webhooks service publishes it as soon as the delivery
 * is stored; the worker does the same for deliveries it had to take over. One definition, so both say the same.
 */
export function triggerMessageEventData(
  envelope: unknown,
  owner: WebhookOwner,
  trigger: KnownTrigger | null = null,
): TriggerMessageEventData {
  const body = obj(envelope);
  const metadata = obj(body.metadata);
  return {
    trigger_slug: str(metadata.trigger_slug),
    trigger_id: trigger?.id ?? null,
    composio_trigger_id: str(metadata.trigger_id),
    labels: trigger?.labels ?? [],
    connection_id: trigger?.connectionId ?? owner.connectionId,
    connected_account_id: str(metadata.connected_account_id),
    user_id: owner.userId,
    payload: body.data ?? null,
  };
}
