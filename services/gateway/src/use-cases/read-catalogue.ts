import type {
  ActionAccess,
  ActionView,
  ComposioTool,
  ComposioToolkit,
  ComposioTriggerType,
  Page,
  ToolDecision,
  ToolkitView,
  TriggerTypeView,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import type { Cached } from "../lib/catalogue-cache.js";
import { composioUnavailable } from "../lib/composio-errors.js";

export interface CatalogueAnswer<T> {
  body: T & { cache: { stale: boolean; fetched_at: string } };
  cacheState: Cached<unknown>["state"];
}

function toToolkitView(t: ComposioToolkit): ToolkitView {
  return {
    slug: t.slug,
    name: t.name,
    description: t.description,
    logo: t.logo,
    categories: t.categories,
    auth_schemes: t.authSchemes,
    composio_managed_auth_schemes: t.composioManagedAuthSchemes,
    no_auth: t.noAuth,
    tools_count: t.toolsCount,
  };
}

function toActionView(t: ComposioTool): ActionView {
  return {
    slug: t.slug,
    name: t.name,
    description: t.description,
    toolkit: t.toolkitSlug,
    input_parameters: t.inputParameters,
    output_parameters: t.outputParameters,
    version: t.version,
    tags: t.tags,
    no_auth: t.noAuth,
  };
}

async function cached<T>(ctx: GatewayContext, key: string, fetch: () => Promise<T>, what: string): Promise<Cached<T>> {
  try {
    return await ctx.catalogue.get(key, fetch);
  } catch (error) {
    throw composioUnavailable(error, what);
  }
}

function answer<T extends object>(result: Cached<T>): CatalogueAnswer<T> {
  return { body: { ...result.value, cache: { stale: result.state === "stale", fetched_at: result.fetchedAt } }, cacheState: result.state };
}

const pageView = <I, V>(page: Page<I>, map: (item: I) => V) => ({ items: page.items.map(map), next_cursor: page.nextCursor });

export async function listToolkits(
  ctx: GatewayContext,
  query: { search?: string | undefined; category?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const normal = { search: query.search?.toLowerCase(), category: query.category?.toLowerCase(), limit: query.limit, cursor: query.cursor };
  const key = ctx.catalogue.key("toolkits", normal);
  const fetch = async () => pageView(await ctx.composio.listToolkits(dropUndefined(normal)), toToolkitView);
  return answer(await cached(ctx, key, fetch, "Toolkit"));
}

export async function getToolkit(ctx: GatewayContext, slug: string) {
  const key = ctx.catalogue.key("toolkit", { slug });
  return answer(await cached(ctx, key, async () => toToolkitView(await ctx.composio.getToolkit(slug)), "Toolkit"));
}

/** A toolkit's actions; an unknown toolkit is 404 (Composio would answer an empty list). */
export async function listActions(
  ctx: GatewayContext,
  slug: string,
  query: { search?: string | undefined; limit: number; cursor?: string | undefined },
  access?: { tenantId: string; userId: string },
) {
  await getToolkit(ctx, slug);
  const normal = { toolkitSlug: slug, search: query.search?.toLowerCase(), limit: query.limit, cursor: query.cursor };
  const key = ctx.catalogue.key("actions", normal);
  const fetch = async () => pageView(await ctx.composio.listTools(dropUndefined(normal)), toActionView);
  const result = await cached(ctx, key, fetch, "Toolkit");
  if (!access) return answer(result);
  const matcher = await ctx.policies.matcher(access.tenantId, access.userId);
  const items = result.value.items.map((item) => ({ ...item, access: accessOf(matcher.decide(item.slug, item.tags)) }));
  return answer({ ...result, value: { ...result.value, items } });
}

/** A policy decision as the catalogue shows it. */
export function accessOf(decision: ToolDecision): ActionAccess {
  return decision.allowed
    ? { allowed: true, requires_approval: decision.approval.length > 0, rules: decision.approval }
    : { allowed: false, requires_approval: false, rules: [decision.rule] };
}

/** One action, from the cache; an unknown one is 404. */
export async function getAction(ctx: GatewayContext, slug: string): Promise<ActionView> {
  const key = ctx.catalogue.key("action", { slug: slug.toUpperCase() });
  return (await cached(ctx, key, async () => toActionView(await ctx.composio.getTool(slug.toUpperCase())), "Action")).value;
}

function toTriggerTypeView(t: ComposioTriggerType): TriggerTypeView {
  return {
    slug: t.slug,
    name: t.name,
    description: t.description,
    instructions: t.instructions,
    type: t.type,
    toolkit: t.toolkitSlug,
    config: t.config,
    payload: t.payload,
    version: t.version,
  };
}

/** Trigger types, of one toolkit or all; cached like the rest of the catalogue. */
export async function listTriggerTypes(
  ctx: GatewayContext,
  query: { toolkit?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const normal = { toolkit: query.toolkit, limit: query.limit, cursor: query.cursor };
  const key = ctx.catalogue.key("trigger-types", normal);
  const fetch = async () =>
    pageView(
      await ctx.composio.listTriggerTypes(
        dropUndefined({ toolkitSlugs: query.toolkit ? [query.toolkit] : undefined, limit: query.limit, cursor: query.cursor }),
      ),
      toTriggerTypeView,
    );
  return answer(await cached(ctx, key, fetch, "Toolkit"));
}

/** One trigger type with its config schema (POST /triggers validates against it). */
export async function getTriggerType(ctx: GatewayContext, slug: string) {
  const key = ctx.catalogue.key("trigger-type", { slug });
  return answer(await cached(ctx, key, async () => toTriggerTypeView(await ctx.composio.getTriggerType(slug)), "Trigger type"));
}

function dropUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
