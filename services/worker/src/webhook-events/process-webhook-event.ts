import {
  type Connection,
  claimWebhookForJob,
  findKnownTrigger,
  type PrismaClient,
  prismaSql,
  recordAudit,
  type WebhookEvent,
} from "@kronos/db";
import {
  COMPOSIO_WEBHOOK_TYPES,
  EVENT_TYPES,
  type EventBus,
  type Logger,
  type ProcessWebhookEventJob,
  type ProcessWebhookEventResult,
  parseComposioUserId,
  type TriggerDisabledEventData,
  triggerMessageEventData,
  triggerMessageRefs,
  WEBHOOK_CLAIM_LEASE_MS,
  WEBHOOK_JOB_CLAIM,
  WEBHOOK_OUTCOME_APPLIED,
} from "@kronos/shared";
import { changeConnectionStatus } from "../connections/connection-status.js";
import { Refusal } from "../jobs/failure-policy.js";
import { applyTriggerDisabledAtComposio } from "../triggers/trigger-ops.js";

export const APPLIED_OUTCOME = WEBHOOK_OUTCOME_APPLIED;
const WEBHOOK_ACTOR = "composio:webhook";
const RACE_RETRIES = 3;

export interface ProcessWebhookEventDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {});
const str = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

interface Owner {
  tenantId: string;
  userId: string;
  connection: Connection | null;
}

/**
 * A stored Composio webhook (the webhooks service stored the row, id = webhook-id, then enqueued this job with the
 * same id): applies it once and records processedAt, the outcome and the tenant. Expired accounts become EXPIRED
 * (connection.status event); trigger messages and disabled triggers are published to the user they belong to;
 * anything we cannot place is recorded as "ignored: <why>", never dropped silently. Errors leave processedAt empty
 * (the job retries; a later replay can process it) with the error as the outcome.
 */
export async function processWebhookEvent(
  deps: ProcessWebhookEventDeps,
  { webhookId }: ProcessWebhookEventJob,
): Promise<ProcessWebhookEventResult> {
  const row = await deps.prisma.webhookEvent.findUnique({ where: { id: webhookId } });
  if (!row) throw Refusal.notFound(`Webhook event "${webhookId}"`);
  if (row.processedAt) return { webhook_id: row.id, outcome: row.outcome ?? APPLIED_OUTCOME, duplicate: true };
  // Claimed before anything is published: a copy of this delivery being published by the request that stored it
  // (its live claim) is not published a second time here.
  const claim = await claimWebhookForJob(deps.prisma, webhookId, { holder: WEBHOOK_JOB_CLAIM, leaseMs: WEBHOOK_CLAIM_LEASE_MS });
  if (claim === "processed") return { webhook_id: row.id, outcome: APPLIED_OUTCOME, duplicate: true };
  if (claim === "held") throw new Error("The request that stored this delivery holds its claim; retrying once the claim's lease ends");

  const log = deps.logger.child({ webhookId, webhookType: row.type });
  let handled: { outcome: string; tenantId: string | null };
  try {
    handled = await apply(deps, row, log);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await deps.prisma.webhookEvent
      .updateMany({ where: { id: row.id, processedAt: null }, data: { outcome: `error: ${message}`.slice(0, 1000) } })
      .catch(() => undefined);
    throw error;
  }
  const { count } = await deps.prisma.webhookEvent.updateMany({
    where: { id: row.id, processedAt: null },
    data: {
      processedAt: deps.now?.() ?? new Date(),
      outcome: handled.outcome,
      ...(handled.tenantId ? { tenantId: handled.tenantId } : {}),
    },
  });
  log.info({ outcome: handled.outcome, tenantId: handled.tenantId }, "webhook event processed");
  return { webhook_id: row.id, outcome: handled.outcome, duplicate: count === 0 };
}

async function apply(deps: ProcessWebhookEventDeps, row: WebhookEvent, log: Logger): Promise<{ outcome: string; tenantId: string | null }> {
  const envelope = obj(row.payload);
  const type = str(envelope.type) ?? row.type;
  const data = obj(envelope.data);
  switch (type) {
    case COMPOSIO_WEBHOOK_TYPES.connectedAccountExpired:
      return expired(deps, data, log);
    case COMPOSIO_WEBHOOK_TYPES.triggerDisabled:
      return triggerDisabled(deps, row, data);
    case COMPOSIO_WEBHOOK_TYPES.triggerMessage:
      return triggerMessage(deps, envelope);
    default:
      return { outcome: `ignored: unknown event type "${type}"`, tenantId: null };
  }
}

/** The connection of a Composio account id, or the tenant/user encoded in Composio's user id (of an existing tenant). */
async function ownerOf(deps: ProcessWebhookEventDeps, accountId: string | null, composioUserId: string | null): Promise<Owner | null> {
  if (accountId) {
    const connection = await deps.prisma.connection.findUnique({ where: { composioAccountId: accountId } });
    if (connection) return { tenantId: connection.tenantId, userId: connection.userId, connection };
  }
  const parsed = composioUserId ? parseComposioUserId(composioUserId) : null;
  if (!parsed) return null;
  const tenant = await deps.prisma.tenant.findUnique({ where: { id: parsed.tenantId }, select: { id: true } }).catch(() => null);
  return tenant ? { tenantId: parsed.tenantId, userId: parsed.userId, connection: null } : null;
}

async function expired(deps: ProcessWebhookEventDeps, data: Json, log: Logger): Promise<{ outcome: string; tenantId: string | null }> {
  const accountId = str(data.id);
  if (!accountId) return { outcome: "ignored: no connected account id in the payload", tenantId: null };
  for (let i = 0; i < RACE_RETRIES; i++) {
    const connection = await deps.prisma.connection.findUnique({ where: { composioAccountId: accountId } });
    if (!connection) return { outcome: `ignored: unknown connected account "${accountId}"`, tenantId: null };
    if (connection.status === "EXPIRED") return { outcome: `${APPLIED_OUTCOME} (already EXPIRED)`, tenantId: connection.tenantId };
    if (connection.status === "REVOKED") return { outcome: "ignored: the connection is REVOKED", tenantId: connection.tenantId };
    const changed = await changeConnectionStatus(
      { ...deps, logger: log.child({ connectionId: connection.id }) },
      {
        connectionId: connection.id,
        from: connection.status,
        to: "EXPIRED",
        reason: str(data.status_reason) ?? "expired at Composio",
        actor: WEBHOOK_ACTOR,
      },
    );
    if (changed) return { outcome: APPLIED_OUTCOME, tenantId: connection.tenantId };
  }
  throw new Error("The connection kept changing while the expiry was applied");
}

async function triggerDisabled(
  deps: ProcessWebhookEventDeps,
  row: WebhookEvent,
  data: Json,
): Promise<{ outcome: string; tenantId: string | null }> {
  const accountId = str(data.connected_account_id);
  const owner = await ownerOf(deps, accountId, str(data.user_id));
  if (!owner) return { outcome: `ignored: unknown connected account "${accountId ?? "?"}" and user`, tenantId: null };
  const event: TriggerDisabledEventData = {
    trigger_id: str(data.id),
    trigger_name: str(data.trigger_name),
    connection_id: owner.connection?.id ?? null,
    connected_account_id: accountId,
    user_id: owner.userId,
    disabled_at: str(data.disabled_at),
    disabled_reason: str(data.disabled_reason),
  };
  await recordAudit(deps.prisma, {
    tenantId: owner.tenantId,
    actor: WEBHOOK_ACTOR,
    action: "trigger.disabled",
    resourceId: event.trigger_id ?? row.id,
    data: { ...event, webhook_id: row.id },
  });
  await deps.bus.publish({ type: EVENT_TYPES.triggerDisabled, tenantId: owner.tenantId, userId: owner.userId, data: event });
  // One of our triggers: its row becomes DISABLED too (and trigger.status says so).
  if (event.trigger_id) await applyTriggerDisabledAtComposio(deps, event.trigger_id, event.disabled_reason, WEBHOOK_ACTOR);
  return { outcome: APPLIED_OUTCOME, tenantId: owner.tenantId };
}

async function triggerMessage(deps: ProcessWebhookEventDeps, envelope: Json): Promise<{ outcome: string; tenantId: string | null }> {
  const refs = triggerMessageRefs(envelope);
  const owner = await ownerOf(deps, refs.connectedAccountId, refs.composioUserId);
  if (!owner) return { outcome: `ignored: unknown connected account "${refs.connectedAccountId ?? "?"}" and user`, tenantId: null };
  const trigger = refs.composioTriggerId ? await findKnownTrigger(prismaSql(deps.prisma), refs.composioTriggerId, owner.tenantId) : null;
  const data = triggerMessageEventData(envelope, { ...owner, connectionId: owner.connection?.id ?? null }, trigger);
  await deps.bus.publish({ type: EVENT_TYPES.triggerMessage, tenantId: owner.tenantId, userId: owner.userId, data });
  return { outcome: APPLIED_OUTCOME, tenantId: owner.tenantId };
}
