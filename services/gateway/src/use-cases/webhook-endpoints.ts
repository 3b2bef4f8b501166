import { randomUUID } from "node:crypto";
import type { WebhookEndpoint } from "@kronos/db";
import {
  AppError,
  type CreateWebhookEndpointBody,
  generateEndpointSecret,
  notFound,
  type Principal,
  resolveTarget,
  SEAL_PURPOSES,
  sealJobSecret,
  UnsafeTargetError,
  type UpdateWebhookEndpointBody,
  urlFormRefusal,
  type WebhookEndpointView,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { decodeCursor, encodeCursor } from "../lib/cursor.js";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** Never the secret: it is answered once, by creation and rotation, and stored sealed. */
export function toWebhookEndpointView(row: WebhookEndpoint): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    failing_since: iso(row.failingSince),
    last_success_at: iso(row.lastSuccessAt),
    previous_secret_expires_at:
      row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date() ? iso(row.previousSecretExpiresAt) : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const badUrl = (message: string) => new AppError("VALIDATION_FAILED", "The request is invalid", [{ field: "body.url", message }]);

/**
 * An endpoint URL we are willing to call: http(s) (https only in production), no credentials, and a host that
 * resolves only to addresses the policy allows (never a cloud metadata address). Checked again at every delivery.
 */
async function checkEndpointUrl(ctx: GatewayContext, text: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badUrl("must be an absolute http(s) URL");
  }
  const policy = { httpsOnly: ctx.config.NODE_ENV === "production", allowPrivate: ctx.config.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE };
  const refusal = urlFormRefusal(url, policy);
  if (refusal) throw badUrl(refusal);
  try {
    await resolveTarget(url.hostname, policy);
  } catch (error) {
    if (error instanceof UnsafeTargetError) throw badUrl(error.message);
    throw error;
  }
  return url.toString();
}

function secretsKey(ctx: GatewayContext): string {
  return ctx.config.WEBHOOK_SECRETS_KEY ?? ctx.config.SESSION_SECRET;
}

async function ownEndpoint(ctx: GatewayContext, principal: Principal, id: string): Promise<WebhookEndpoint> {
  const row = await ctx.prisma.webhookEndpoint.findFirst({ where: { id, tenantId: principal.tenantId } });
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

export async function createWebhookEndpoint(ctx: GatewayContext, principal: Principal, body: CreateWebhookEndpointBody) {
  const url = await checkEndpointUrl(ctx, body.url);
  const secret = generateEndpointSecret();
  const row = await ctx.prisma.webhookEndpoint.create({
    data: {
      id: randomUUID(),
      tenantId: principal.tenantId,
      url,
      description: body.description ?? null,
      events: body.events ?? [],
      sealedSecret: sealJobSecret(secret, secretsKey(ctx), SEAL_PURPOSES.webhookEndpointSecrets),
    },
  });
  return { ...toWebhookEndpointView(row), secret };
}

export async function listWebhookEndpoints(
  ctx: GatewayContext,
  principal: Principal,
  query: { limit: number; cursor?: string | undefined },
) {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await ctx.prisma.webhookEndpoint.findMany({
    where: {
      tenantId: principal.tenantId,
      ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(toWebhookEndpointView), next_cursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}

export async function getWebhookEndpoint(ctx: GatewayContext, principal: Principal, id: string) {
  return toWebhookEndpointView(await ownEndpoint(ctx, principal, id));
}

export async function updateWebhookEndpoint(ctx: GatewayContext, principal: Principal, id: string, body: UpdateWebhookEndpointBody) {
  await ownEndpoint(ctx, principal, id);
  const url = body.url === undefined ? undefined : await checkEndpointUrl(ctx, body.url);
  const row = await ctx.prisma.webhookEndpoint.update({
    where: { id },
    data: {
      ...(url === undefined ? {} : { url }),
      ...(body.events === undefined ? {} : { events: body.events }),
      ...(body.description === undefined ? {} : { description: body.description }),
    },
  });
  return toWebhookEndpointView(row);
}

/** Enabling clears the failing streak: the endpoint gets a fresh WEBHOOK_DISABLE_AFTER_HOURS. */
export async function setWebhookEndpointEnabled(ctx: GatewayContext, principal: Principal, id: string, enabled: boolean) {
  await ownEndpoint(ctx, principal, id);
  const row = await ctx.prisma.webhookEndpoint.update({
    where: { id },
    data: enabled ? { enabled, disabledReason: null, failingSince: null } : { enabled, disabledReason: "Disabled through the API" },
  });
  return toWebhookEndpointView(row);
}

export async function deleteWebhookEndpoint(ctx: GatewayContext, principal: Principal, id: string): Promise<void> {
  const { count } = await ctx.prisma.webhookEndpoint.deleteMany({ where: { id, tenantId: principal.tenantId } });
  if (count === 0) throw notFound("Webhook endpoint");
}

/** A new secret, answered once; the previous one keeps signing (both `v1,` signatures) for WEBHOOK_SECRET_GRACE_HOURS. */
export async function rotateWebhookEndpointSecret(ctx: GatewayContext, principal: Principal, id: string) {
  const current = await ownEndpoint(ctx, principal, id);
  const secret = generateEndpointSecret();
  const graceMs = ctx.config.WEBHOOK_SECRET_GRACE_HOURS * 3_600_000;
  const row = await ctx.prisma.webhookEndpoint.update({
    where: { id },
    data: {
      sealedSecret: sealJobSecret(secret, secretsKey(ctx), SEAL_PURPOSES.webhookEndpointSecrets),
      previousSealedSecret: graceMs > 0 ? current.sealedSecret : null,
      previousSecretExpiresAt: graceMs > 0 ? new Date(Date.now() + graceMs) : null,
    },
  });
  return { ...toWebhookEndpointView(row), secret };
}
