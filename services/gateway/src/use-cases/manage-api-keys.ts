import { type Prisma, recordAudit } from "@kronos/db";
import {
  AppError,
  actorOf,
  apiKeyUsable,
  generateApiKey,
  MAX_ACTIVE_API_KEYS,
  notFound,
  type Principal,
  publishApiKeyRevoked,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
};

const KEY_COLUMNS = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
} as const;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export const apiKeyView = (row: KeyRow) => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  created_at: row.createdAt.toISOString(),
  last_used_at: iso(row.lastUsedAt),
  expires_at: iso(row.expiresAt),
  revoked_at: iso(row.revokedAt),
});

/** The tenant's keys, newest first: working ones, then those revoked or past their overlap. Never the keys. */
export async function listApiKeys(ctx: GatewayContext, principal: Principal) {
  const rows = await ctx.prisma.apiKey.findMany({
    where: { tenantId: principal.tenantId },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    select: KEY_COLUMNS,
  });
  return { items: rows.map(apiKeyView) };
}

async function insertKey(tx: Prisma.TransactionClient, tenantId: string, input: { name: string; scopes: string[] }) {
  const active = await tx.apiKey.count({
    where: { tenantId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
  });
  if (active >= MAX_ACTIVE_API_KEYS)
    throw new AppError("CONFLICT", `A tenant may have at most ${MAX_ACTIVE_API_KEYS} working API keys: revoke one first`);
  const { key, hash, prefix } = generateApiKey();
  const row = await tx.apiKey.create({
    data: { tenantId, keyHash: hash, prefix, name: input.name, scopes: input.scopes },
    select: KEY_COLUMNS,
  });
  return { ...apiKeyView(row), api_key: key };
}

/** A new key (shown once in the answer), audited. */
export async function createApiKey(ctx: GatewayContext, principal: Principal, input: { name: string; scopes: string[] }) {
  return ctx.prisma.$transaction(async (tx) => {
    const created = await insertKey(tx, principal.tenantId, input);
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: "api_key.created",
      resourceId: created.id,
      data: { prefix: created.prefix, name: created.name, scopes: created.scopes },
    });
    return created;
  });
}

/** One of the caller's tenant's keys that still works (another tenant's, or an unknown id, is 404). */
async function workingKey(tx: Prisma.TransactionClient, tenantId: string, id: string) {
  const row = await tx.apiKey.findFirst({ where: { id, tenantId }, select: { ...KEY_COLUMNS, keyHash: true } });
  if (!row || !apiKeyUsable(row)) throw notFound("API key");
  return row;
}

/**
 * Revokes a key: refused at once by this instance and, through the broadcast, by every gateway and webhooks
 * instance (which also close the sockets it opened).
 */
export async function revokeApiKey(ctx: GatewayContext, principal: Principal, id: string): Promise<void> {
  const keyHash = await ctx.prisma.$transaction(async (tx) => {
    const row = await workingKey(tx, principal.tenantId, id);
    await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: "api_key.revoked",
      resourceId: id,
      data: { prefix: row.prefix },
    });
    return row.keyHash;
  });
  await publishApiKeyRevoked(ctx.redis, ctx.config.REDIS_KEY_PREFIX, { tenantId: principal.tenantId, apiKeyId: id, keyHash });
}

/**
 * A new key with the old one's name and scopes; the old one keeps working for `overlapSeconds` (its expiry), so
 * clients can switch without an outage. An overlap of 0 ends it at once (and broadcasts it like a revocation).
 */
export async function rotateApiKey(ctx: GatewayContext, principal: Principal, id: string, overlapSeconds: number) {
  const { created, keyHash } = await ctx.prisma.$transaction(async (tx) => {
    const old = await workingKey(tx, principal.tenantId, id);
    const expiresAt = new Date(Date.now() + overlapSeconds * 1000);
    // An earlier, shorter overlap is kept: rotating again never extends the old key's life.
    if (!old.expiresAt || old.expiresAt > expiresAt) await tx.apiKey.update({ where: { id }, data: { expiresAt } });
    const created = await insertKey(tx, principal.tenantId, { name: old.name, scopes: old.scopes });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor: actorOf(principal),
      action: "api_key.rotated",
      resourceId: id,
      data: { prefix: old.prefix, new_api_key_id: created.id, new_prefix: created.prefix, overlap_seconds: overlapSeconds },
    });
    return { created, keyHash: old.keyHash };
  });
  if (overlapSeconds === 0)
    await publishApiKeyRevoked(ctx.redis, ctx.config.REDIS_KEY_PREFIX, { tenantId: principal.tenantId, apiKeyId: id, keyHash });
  return created;
}
