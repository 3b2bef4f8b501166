import { recordAudit } from "@kronos/db";
import { AppError, notFound, type TenantSettings, type UpdateTenantSettingsBody, verificationUrlRefusal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";

const view = (tenantId: string, row: { verificationUrl: string | null }): TenantSettings => ({
  tenant_id: tenantId,
  verification_url: row.verificationUrl,
});

export async function getTenantSettings(ctx: GatewayContext, tenantId: string): Promise<TenantSettings> {
  const row = await ctx.prisma.tenant.findUnique({ where: { id: tenantId }, select: { verificationUrl: true } });
  if (!row) throw notFound("Tenant");
  return view(tenantId, row);
}

/**
 * Changes a tenant's settings (a setting given replaces the current one, null clears it, one left out is kept),
 * audited. The verification URL applies to sign-ins whose link is made afterwards: a connection keeps the rule it
 * started with (see docs/security.md).
 */
export async function setTenantSettings(
  ctx: GatewayContext,
  tenantId: string,
  change: UpdateTenantSettingsBody,
  actor: string,
): Promise<TenantSettings> {
  if (typeof change.verification_url === "string") {
    const refusal = verificationUrlRefusal(change.verification_url, { production: ctx.config.NODE_ENV === "production" });
    if (refusal) throw new AppError("VALIDATION_FAILED", "The request is invalid", [{ field: "body.verification_url", message: refusal }]);
  }
  const row = await ctx.prisma.$transaction(async (tx) => {
    const found = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
    if (!found) throw notFound("Tenant");
    const updated = await tx.tenant.update({
      where: { id: tenantId },
      data: change.verification_url === undefined ? {} : { verificationUrl: change.verification_url },
      select: { verificationUrl: true },
    });
    await recordAudit(tx, {
      tenantId,
      actor,
      action: "tenant.settings_updated",
      resourceId: tenantId,
      data: { change: { ...change } },
    });
    return updated;
  });
  return view(tenantId, row);
}
