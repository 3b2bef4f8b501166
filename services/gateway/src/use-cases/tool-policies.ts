import { effectiveToolPolicy, type Prisma, readToolPolicies, recordAudit, TENANT_POLICY_USER } from "@kronos/db";
import { actorOf, type Principal, type ToolPolicyDocument, type ToolPolicyResponse } from "@kronos/shared";
import type { GatewayContext } from "../context.js";

/** The stored policy (the tenant's, or a user's override) and what applies. */
export async function getToolPolicy(ctx: GatewayContext, principal: Principal, userId: string | undefined): Promise<ToolPolicyResponse> {
  const stored = await readToolPolicies(ctx.prisma, principal.tenantId, userId ?? null);
  const own = userId === undefined ? stored.tenant : stored.user;
  return {
    user_id: userId ?? null,
    policy: own?.document ?? null,
    effective: effectiveToolPolicy(stored),
    updated_at: own?.updatedAt.toISOString() ?? null,
    updated_by: own?.updatedBy ?? null,
  };
}

/**
 * Replaces the tenant's policy (or a user's override), audits it, and tells every gateway at once. Executions already
 * queued or running are not affected: the policy is checked when a request is accepted (and when a parked one resumes).
 */
export async function putToolPolicy(
  ctx: GatewayContext,
  principal: Principal,
  userId: string | undefined,
  document: ToolPolicyDocument,
): Promise<ToolPolicyResponse> {
  const actor = actorOf(principal);
  const key = { tenantId: principal.tenantId, userId: userId ?? TENANT_POLICY_USER };
  const json = document as Prisma.InputJsonValue;
  await ctx.prisma.$transaction(async (tx) => {
    await tx.toolPolicy.upsert({
      where: { tenantId_userId: key },
      create: { ...key, document: json, updatedBy: actor },
      update: { document: json, updatedBy: actor },
    });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor,
      action: "tool_policy.updated",
      resourceId: target(principal.tenantId, userId),
      data: document,
    });
  });
  await ctx.policies.announce(principal.tenantId);
  return getToolPolicy(ctx, principal, userId);
}

/** Removes a user's override (the tenant's policy applies again) or the tenant's policy (the defaults apply). */
export async function deleteToolPolicy(ctx: GatewayContext, principal: Principal, userId: string | undefined): Promise<ToolPolicyResponse> {
  const actor = actorOf(principal);
  await ctx.prisma.$transaction(async (tx) => {
    await tx.toolPolicy.deleteMany({ where: { tenantId: principal.tenantId, userId: userId ?? TENANT_POLICY_USER } });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor,
      action: "tool_policy.deleted",
      resourceId: target(principal.tenantId, userId),
    });
  });
  await ctx.policies.announce(principal.tenantId);
  return getToolPolicy(ctx, principal, userId);
}

/** The tenant's policy is recorded under the tenant's id, a user's override as "user:<id>". */
const target = (tenantId: string, userId: string | undefined) => (userId === undefined ? tenantId : `user:${userId}`);
