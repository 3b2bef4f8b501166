import { effectiveToolPolicy, type PrismaClient, readToolPolicies } from "@kronos/db";
import { type Redis, ToolPolicyMatcher } from "@kronos/shared";

export interface ToolPolicyCacheOptions {
  /** REDIS_KEY_PREFIX */
  prefix: string;
  /** A safety net only: invalidation is by message. */
  ttlMs?: number;
  maxEntries?: number;
}

/** The channel every gateway listens on; a message is the id of the tenant whose policies changed. */
export const policyChannel = (prefix: string) => `${prefix}:tool-policies:changed`;

/**
 * Tool policies, read from Postgres and kept in this process, so that checking a tool costs no I/O. A change is
 * announced on a Redis channel and every gateway drops that tenant's entries at once; a load that raced with a
 * change is not kept (a generation per tenant). While the subscription is down nothing is cached.
 */
export class ToolPolicyCache {
  private readonly entries = new Map<string, { matcher: ToolPolicyMatcher; at: number }>();
  private readonly generations = new Map<string, number>();
  private subscriber: Redis | null = null;
  private listening = false;
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly redis: Redis,
    private readonly options: ToolPolicyCacheOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Subscribes to changes; until then (and whenever the subscription is down) every read goes to Postgres. */
  async start(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", () => {}); // reconnects by itself; meanwhile nothing is cached
    subscriber.on("close", () => this.stopListening());
    subscriber.on("message", (_channel: string, tenantId: string) => this.forget(tenantId));
    await subscriber.subscribe(policyChannel(this.options.prefix));
    this.listening = true;
    // Reconnected (ioredis subscribes again by itself): what changed meanwhile is unknown, so start from nothing.
    subscriber.on("ready", () => {
      this.entries.clear();
      this.listening = true;
    });
  }

  async close(): Promise<void> {
    this.stopListening();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  /** The compiled policy that applies to a user. */
  async matcher(tenantId: string, userId: string): Promise<ToolPolicyMatcher> {
    const key = `${tenantId}\u0000${userId}`;
    const entry = this.entries.get(key);
    if (entry && Date.now() - entry.at < this.ttlMs) return entry.matcher;
    const generation = this.generations.get(tenantId) ?? 0;
    const stored = await readToolPolicies(this.prisma, tenantId, userId);
    const matcher = new ToolPolicyMatcher(effectiveToolPolicy(stored));
    if (this.listening && (this.generations.get(tenantId) ?? 0) === generation) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { matcher, at: Date.now() });
    }
    return matcher;
  }

  /** Tells every gateway (this one at once) that a tenant's policies changed. */
  async announce(tenantId: string): Promise<void> {
    this.forget(tenantId);
    await this.redis.publish(policyChannel(this.options.prefix), tenantId);
  }

  private forget(tenantId: string): void {
    this.generations.set(tenantId, (this.generations.get(tenantId) ?? 0) + 1);
    for (const key of this.entries.keys()) if (key.startsWith(`${tenantId}\u0000`)) this.entries.delete(key);
  }

  private stopListening(): void {
    this.listening = false;
    this.entries.clear();
  }
}
