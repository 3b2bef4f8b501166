import type { PrismaClient } from "@kronos/db";
import { type Config, type TenantRateLimits, tenantRateLimitsSchema } from "@kronos/shared";

export interface EffectiveRateLimits {
  api_key_per_minute: number;
  user_per_minute: number;
}

/** How long an instance trusts the overrides it read: a change made on another instance applies within this. */
export const TENANT_LIMITS_TTL_MS = 10_000;

/**
 * Tenants' rate-limit overrides (`tenants.rate_limits`), read from Postgres at most once per TENANT_LIMITS_TTL_MS per
 * tenant and instance. When Postgres cannot be read, the defaults apply (a limit is never a reason to fail a request).
 */
export class TenantRateLimitsCache {
  private readonly entries = new Map<string, { overrides: TenantRateLimits; expiresAt: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: Pick<Config, "RATE_LIMIT_API_KEY_PER_MINUTE" | "RATE_LIMIT_USER_PER_MINUTE">,
    private readonly now: () => number = Date.now,
  ) {}

  defaults(): EffectiveRateLimits {
    return { api_key_per_minute: this.config.RATE_LIMIT_API_KEY_PER_MINUTE, user_per_minute: this.config.RATE_LIMIT_USER_PER_MINUTE };
  }

  /** The limits in force: each override, else the default. */
  effective(overrides: TenantRateLimits): EffectiveRateLimits {
    const defaults = this.defaults();
    return {
      api_key_per_minute: overrides.api_key_per_minute ?? defaults.api_key_per_minute,
      user_per_minute: overrides.user_per_minute ?? defaults.user_per_minute,
    };
  }

  async limitsOf(tenantId: string): Promise<EffectiveRateLimits> {
    const hit = this.entries.get(tenantId);
    if (hit && hit.expiresAt > this.now()) return this.effective(hit.overrides);
    let overrides: TenantRateLimits = {};
    try {
      const row = await this.prisma.tenant.findUnique({ where: { id: tenantId }, select: { rateLimits: true } });
      overrides = parseOverrides(row?.rateLimits);
    } catch {
      return this.effective(hit?.overrides ?? {});
    }
    this.remember(tenantId, overrides);
    return this.effective(overrides);
  }

  remember(tenantId: string, overrides: TenantRateLimits): void {
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(tenantId, { overrides, expiresAt: this.now() + TENANT_LIMITS_TTL_MS });
  }
}

/** The stored overrides; anything unreadable counts as none. */
export function parseOverrides(stored: unknown): TenantRateLimits {
  const parsed = tenantRateLimitsSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : {};
}
