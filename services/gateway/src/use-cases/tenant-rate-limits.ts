import { Prisma, recordAudit } from "@kronos/db";
import { notFound, type TenantRateLimits } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { parseOverrides } from "../lib/tenant-rate-limits.js";

function view(ctx: GatewayContext, tenantId: string, overrides: TenantRateLimits) {
  return {
    tenant_id: tenantId,
    ...ctx.tenantLimits.effective(overrides),
    overrides: { api_key_per_minute: overrides.api_key_per_minute ?? null, user_per_minute: overrides.user_per_minute ?? null },
  };
}

export async function getTenantRateLimits(ctx: GatewayContext, tenantId: string) {
  const row = await ctx.prisma.tenant.findUnique({ where: { id: tenantId }, select: { rateLimits: true } });
  if (!row) throw notFound("Tenant");
  return view(ctx, tenantId, parseOverrides(row.rateLimits));
}

/**
 * Sets a tenant's overrides: a limit given replaces the current one, null removes it (the default applies), a limit
 * left out is kept. Applies at once on this instance, within TENANT_LIMITS_TTL_MS on the others. Audited.
 */
export async function setTenantRateLimits(ctx: GatewayContext, tenantId: string, change: TenantRateLimits, actor: string) {
  const overrides = await ctx.prisma.$transaction(async (tx) => {
    const row = await tx.tenant.findUnique({ where: { id: tenantId }, select: { rateLimits: true } });
    if (!row) throw notFound("Tenant");
    const merged: TenantRateLimits = { ...parseOverrides(row.rateLimits), ...change };
    const kept = Object.fromEntries(Object.entries(merged).filter(([, value]) => value != null)) as TenantRateLimits;
    await tx.tenant.update({
      where: { id: tenantId },
      data: { rateLimits: Object.keys(kept).length ? kept : Prisma.DbNull },
    });
    await recordAudit(tx, {
      tenantId,
      actor,
      action: "tenant.rate_limits_updated",
      resourceId: tenantId,
      data: { change, overrides: kept },
    });
    return kept;
  });
  ctx.tenantLimits.remember(tenantId, overrides);
  return view(ctx, tenantId, overrides);
}
