import type { PrismaClient } from "@kronos/db";
import { parseComposioUserId, type TriggerMessageRefs, type WebhookOwner } from "@kronos/shared";

/** How long a found owner is reused: an account's connection, tenant and user never change while it exists. */
const OWNER_CACHE_TTL_MS = 30_000;
/** Owners kept at most (the oldest are dropped first). */
const OWNER_CACHE_MAX = 10_000;

/**
 * Finds whom a trigger message belongs to: the connection of its connected account, else the tenant and user encoded
 * in Composio's user id (for a tenant that exists). Found owners are kept for `ttlMs` (a busy trigger sends many
 * messages for the same account); a miss is never kept, so a connection made a moment ago is found. A connection
 * deleted meanwhile is still named for at most `ttlMs`.
 */
export class WebhookOwners {
  private readonly cache = new Map<string, { owner: WebhookOwner; expiresAt: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = OWNER_CACHE_TTL_MS,
    private readonly maxEntries = OWNER_CACHE_MAX,
  ) {}

  async resolve(refs: TriggerMessageRefs): Promise<WebhookOwner | null> {
    if (refs.connectedAccountId) {
      const key = `account:${refs.connectedAccountId}`;
      const owner =
        this.cached(key) ??
        this.keep(
          key,
          await this.prisma.connection
            .findUnique({
              where: { composioAccountId: refs.connectedAccountId },
              select: { id: true, tenantId: true, userId: true },
            })
            .then((row) => (row ? { tenantId: row.tenantId, userId: row.userId, connectionId: row.id } : null)),
        );
      if (owner) return owner;
    }
    const parsed = refs.composioUserId ? parseComposioUserId(refs.composioUserId) : null;
    if (!parsed) return null;
    const key = `tenant:${parsed.tenantId}`;
    const known =
      this.cached(key) ??
      this.keep(
        key,
        await this.prisma.tenant
          .findUnique({ where: { id: parsed.tenantId }, select: { id: true } })
          .then((row) => (row ? { tenantId: row.id, userId: "", connectionId: null } : null)),
      );
    return known ? { tenantId: parsed.tenantId, userId: parsed.userId, connectionId: null } : null;
  }

  private cached(key: string): WebhookOwner | null {
    const entry = this.cache.get(key);
    if (!entry) return null;
    if (entry.expiresAt > Date.now()) return entry.owner;
    this.cache.delete(key);
    return null;
  }

  private keep(key: string, owner: WebhookOwner | null): WebhookOwner | null {
    if (!owner || this.ttlMs <= 0) return owner;
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { owner, expiresAt: Date.now() + this.ttlMs });
    return owner;
  }
}
