import {
  type ActionView,
  AppError,
  type LlmToolFormat,
  type LlmToolsResponse,
  llmToolName,
  type Principal,
  type ToolPolicyMatcher,
  toLlmTool,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { scopedUserId } from "../lib/principal.js";
import { listActions } from "./read-catalogue.js";

/** At most this many actions per toolkit (pages of the cached catalogue). */
const MAX_ACTIONS_PER_TOOLKIT = 1_000;
const PAGE = 200;

/** An action the policy lets a user run, with the rules that will ask for an approval (empty: none). */
export interface AllowedAction {
  action: ActionView;
  toolkit: string;
  approval: string[];
}

/** The toolkits a user has an ACTIVE connection of (among `only`, when given). */
export async function connectedToolkits(
  ctx: GatewayContext,
  tenantId: string,
  userId: string,
  only?: readonly string[],
): Promise<Set<string>> {
  const active = await ctx.prisma.connection.findMany({
    where: { tenantId, userId, status: "ACTIVE", ...(only ? { toolkitSlug: { in: [...only] } } : {}) },
    select: { toolkitSlug: true },
    distinct: ["toolkitSlug"],
  });
  return new Set(active.map((c) => c.toolkitSlug));
}

/**
 * The actions of the given toolkits that the matcher (the user's tool policy) allows, from the cached catalogue; also
 * what `/mcp` lists for an agent session. `keep` narrows further (an agent session's own limits).
 */
export async function allowedActions(
  ctx: GatewayContext,
  matcher: ToolPolicyMatcher,
  toolkits: readonly string[],
  keep: (slug: string) => boolean = () => true,
): Promise<AllowedAction[]> {
  const allowed: AllowedAction[] = [];
  for (const toolkit of toolkits) {
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = (await listActions(ctx, toolkit, { limit: PAGE, cursor })).body;
      for (const action of page.items) {
        if (!keep(action.slug)) continue;
        const decision = matcher.decide(action.slug, action.tags);
        if (decision.allowed) allowed.push({ action, toolkit, approval: decision.approval });
      }
      seen += page.items.length;
      cursor = page.next_cursor ?? undefined;
    } while (cursor && seen < MAX_ACTIONS_PER_TOOLKIT);
  }
  return allowed;
}

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
  const connected = await connectedToolkits(ctx, principal.tenantId, userId, query.toolkits);
  const toolkits = query.toolkits ?? [...connected].sort();
  const matcher = await ctx.policies.matcher(principal.tenantId, userId);
  const items = (await allowedActions(ctx, matcher, toolkits)).map(({ action, toolkit, approval }) => ({
    name: llmToolName(action.slug),
    action: action.slug,
    toolkit,
    connected: connected.has(toolkit),
    requires_approval: approval.length > 0,
    definition: toLlmTool(query.format, {
      slug: action.slug,
      name: action.name,
      description: action.description,
      inputParameters: action.input_parameters,
    }),
  }));
  return { user_id: userId, format: query.format, items };
}
