import { AppError, type LlmToolFormat, type LlmToolsResponse, llmToolName, type Principal, toLlmTool } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { scopedUserId } from "../lib/principal.js";
import { listActions } from "./read-catalogue.js";

/** At most this many actions per toolkit (pages of the cached catalogue). */
const MAX_ACTIONS_PER_TOOLKIT = 1_000;
const PAGE = 200;

/**
 * The actions a user may run, as function-calling definitions for a model: the tool policy applied (denied actions
 * left out), each saying whether its toolkit is connected and whether it will ask for an approval.
 */
export async function listLlmTools(
  ctx: GatewayContext,
  principal: Principal,
  query: { user_id?: string | undefined; toolkits?: string[] | undefined; format: LlmToolFormat },
): Promise<LlmToolsResponse> {
  const userId = scopedUserId(principal, query.user_id);
  if (userId === undefined) {
    throw new AppError("VALIDATION_FAILED", "The request is invalid", [
      { field: "querystring.user_id", message: "is required with an API key" },
    ]);
  }
  const active = await ctx.prisma.connection.findMany({
    where: { tenantId: principal.tenantId, userId, status: "ACTIVE", ...(query.toolkits ? { toolkitSlug: { in: query.toolkits } } : {}) },
    select: { toolkitSlug: true },
    distinct: ["toolkitSlug"],
  });
  const connected = new Set(active.map((c) => c.toolkitSlug));
  const toolkits = query.toolkits ?? [...connected].sort();
  const matcher = await ctx.policies.matcher(principal.tenantId, userId);

  const items: LlmToolsResponse["items"] = [];
  for (const toolkit of toolkits) {
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = (await listActions(ctx, toolkit, { limit: PAGE, cursor })).body;
      for (const action of page.items) {
        const decision = matcher.decide(action.slug, action.tags);
        if (!decision.allowed) continue;
        items.push({
          name: llmToolName(action.slug),
          action: action.slug,
          toolkit,
          connected: connected.has(toolkit),
          requires_approval: decision.approval.length > 0,
          definition: toLlmTool(query.format, {
            slug: action.slug,
            name: action.name,
            description: action.description,
            inputParameters: action.input_parameters,
          }),
        });
      }
      seen += page.items.length;
      cursor = page.next_cursor ?? undefined;
    } while (cursor && seen < MAX_ACTIONS_PER_TOOLKIT);
  }
  return { user_id: userId, format: query.format, items };
}
