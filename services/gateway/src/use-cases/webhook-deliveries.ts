import type { WebhookDelivery } from "@kronos/db";
import {
  compareEventIds,
  type DeliveryStatus,
  decodeStreamEntry,
  eventKeys,
  notFound,
  type Principal,
  toFeedEvent,
  type WebhookDeliveryView,
  webhookBody,
  webhookDeliveryJob,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { decodeCursor, encodeCursor } from "../lib/cursor.js";

export function toWebhookDeliveryView(row: WebhookDelivery): WebhookDeliveryView {
  return {
    id: row.id,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    last_status_code: row.lastStatusCode,
    last_latency_ms: row.lastLatencyMs,
    last_error: row.lastError,
    next_attempt_at: row.nextAttemptAt ? row.nextAttemptAt.toISOString() : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

async function ownEndpointId(ctx: GatewayContext, principal: Principal, id: string) {
  const row = await ctx.prisma.webhookEndpoint.findFirst({
    where: { id, tenantId: principal.tenantId },
    select: { id: true, events: true },
  });
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

export async function listDeliveries(
  ctx: GatewayContext,
  principal: Principal,
  endpointId: string,
  query: { limit: number; cursor?: string | undefined; status?: DeliveryStatus | undefined },
) {
  await ownEndpointId(ctx, principal, endpointId);
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await ctx.prisma.webhookDelivery.findMany({
    where: {
      endpointId,
      ...(query.status ? { status: query.status } : {}),
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(toWebhookDeliveryView), next_cursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}

/** Queues a delivery's job now: a waiting or running job is left alone, a delayed one (a retry later) is promoted. */
async function enqueueNow(ctx: GatewayContext, delivery: { id: string; endpointId: string }): Promise<void> {
  const job = await ctx.queues.webhookDelivery.getJob(delivery.id);
  if (job && (await job.isDelayed())) {
    await job.promote();
    return;
  }
  const { name, data, opts } = webhookDeliveryJob(delivery);
  await ctx.queues.webhookDelivery.add(name, data, opts);
}

/** Sends a delivery again, whatever its state, with a fresh retry schedule (its attempts start again at 0). */
export async function retryDelivery(ctx: GatewayContext, principal: Principal, endpointId: string, deliveryId: string) {
  await ownEndpointId(ctx, principal, endpointId);
  const { count } = await ctx.prisma.webhookDelivery.updateMany({
    where: { id: deliveryId, endpointId },
    data: { status: "PENDING", attempts: 0, nextAttemptAt: new Date(), lastError: null, updatedAt: new Date() },
  });
  if (count === 0) throw notFound("Delivery");
  await enqueueNow(ctx, { id: deliveryId, endpointId });
  const row = await ctx.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
  return toWebhookDeliveryView(row);
}

/** Most events one replay sends: the stream holds at most EVENT_RETENTION_COUNT anyway. */
const REPLAY_BATCH = 500;

/**
 * Sends the endpoint every event of the tenant's stream after `since` (an event id, or a date) that its filter
 * takes: deliveries already recorded are sent again (same webhook-id, the event's), others are recorded.
 */
export async function replayDeliveries(ctx: GatewayContext, principal: Principal, endpointId: string, since: string) {
  const endpoint = await ownEndpointId(ctx, principal, endpointId);
  const after = /^\d+-\d+$/.test(since) ? since : `${Date.parse(since)}-0`;
  const stream = eventKeys(ctx.config.REDIS_KEY_PREFIX).stream(principal.tenantId);
  let cursor = `(${after}`;
  let replayed = 0;
  for (;;) {
    const entries = (await ctx.redis.xrange(stream, cursor, "+", "COUNT", REPLAY_BATCH)) as Array<[string, string[]]>;
    for (const [id, fields] of entries) {
      const body = fields[fields.indexOf("e") + 1];
      const decoded = body === undefined ? null : decodeStreamEntry(id, body);
      if (!decoded || compareEventIds(id, after) <= 0) continue;
      const event = toFeedEvent(decoded);
      if (endpoint.events.length > 0 && !endpoint.events.includes(event.type)) continue;
      const row = await ctx.prisma.webhookDelivery.upsert({
        where: { endpointId_eventId: { endpointId, eventId: event.id } },
        create: {
          id: crypto.randomUUID(),
          endpointId,
          tenantId: principal.tenantId,
          eventId: event.id,
          eventType: event.type,
          body: webhookBody(event),
          nextAttemptAt: new Date(),
        },
        update: { status: "PENDING", attempts: 0, nextAttemptAt: new Date(), lastError: null, updatedAt: new Date() },
      });
      await enqueueNow(ctx, { id: row.id, endpointId });
      replayed += 1;
    }
    if (entries.length < REPLAY_BATCH) break;
    cursor = `(${entries.at(-1)![0]}`;
  }
  return { replayed };
}
