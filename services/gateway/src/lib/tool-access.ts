import { AppError, describeDenial } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { getAction } from "../use-cases/read-catalogue.js";

/**
 * Checks a tool against the policy that applies to the user: refused with 403 TOOL_NOT_ALLOWED, or allowed with the
 * rules that ask for an approval (empty: none). No I/O unless the policy asks for approvals by Composio tag (then
 * the tool's tags come from the catalogue cache) or the policy is not cached in this process yet.
 */
export async function checkToolAccess(ctx: GatewayContext, tenantId: string, userId: string, toolSlug: string): Promise<string[]> {
  const matcher = await ctx.policies.matcher(tenantId, userId);
  let decision = matcher.decide(toolSlug);
  if (decision.allowed && matcher.needsTags) decision = matcher.decide(toolSlug, (await getAction(ctx, toolSlug)).tags);
  if (!decision.allowed) throw new AppError("TOOL_NOT_ALLOWED", describeDenial(toolSlug, decision.rule), { rule: decision.rule });
  return decision.approval;
}
