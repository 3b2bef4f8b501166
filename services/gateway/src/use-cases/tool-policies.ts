import { effectiveToolPolicy, type Prisma, readToolPolicies, TENANT_POLICY_USER } from "@kronos/db";
import { actorOf, type Principal, type ToolPolicyDocument, type ToolPolicyResponse } from "@kronos/shared";
import type { GatewayContext } from "../context.js";

export const TOOL_POLICY_UPDATED = "tool_policy.updated";
export const TOOL_POLICY_DELETED = "tool_policy.deleted";

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
  await ctx.prisma.$transaction([
    ctx.prisma.toolPolicy.upsert({
      where: { tenantId_userId: key },
      create: { ...key, document: json, updatedBy: actor },
      update: { document: json, updatedBy: actor },
    }),
    ctx.prisma.auditLog.create({
      data: { tenantId: principal.tenantId, actor, action: TOOL_POLICY_UPDATED, ...target(principal.tenantId, userId), data: json },
    }),
  ]);
  await ctx.policies.announce(principal.tenantId);
  return getToolPolicy(ctx, principal, userId);
}

/** Removes a user's override (the tenant's policy applies again) or the tenant's policy (the defaults apply). */
export async function deleteToolPolicy(ctx: GatewayContext, principal: Principal, userId: string | undefined): Promise<ToolPolicyResponse> {
  const actor = actorOf(principal);
  await ctx.prisma.$transaction([
    ctx.prisma.toolPolicy.deleteMany({ where: { tenantId: principal.tenantId, userId: userId ?? TENANT_POLICY_USER } }),
    ctx.prisma.auditLog.create({
      data: { tenantId: principal.tenantId, actor, action: TOOL_POLICY_DELETED, ...target(principal.tenantId, userId) },
    }),
  ]);
  await ctx.policies.announce(principal.tenantId);
  return getToolPolicy(ctx, principal, userId);
}

const target = (tenantId: string, userId: string | undefined) =>
  userId === undefined ? { targetType: "tool_policy", targetId: tenantId } : { targetType: "tool_policy", targetId: `user:${userId}` };
