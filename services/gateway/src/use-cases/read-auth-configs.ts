import type { Prisma } from "@kronos/db";
import { type AuthConfigView, notFound, type Principal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { toAuthConfigView } from "../lib/auth-config-view.js";
import { afterCursor, NEWEST_FIRST, pageOfRows } from "../lib/cursor.js";

export interface ListAuthConfigsQuery {
  is_composio_managed?: boolean | undefined;
  toolkit_slug?: string | undefined;
  show_disabled: boolean;
  search?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

const AUTH_CONFIG_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** The tenant's auth configs (its custom ones and the managed ones made for it), newest first, a page at a time. */
export async function listAuthConfigs(ctx: GatewayContext, principal: Principal, query: ListAuthConfigsQuery) {
  const filters: Prisma.AuthConfigWhereInput[] = [{ tenantId: principal.tenantId }];
  if (query.is_composio_managed !== undefined) filters.push({ isComposioManaged: query.is_composio_managed });
  if (query.toolkit_slug) filters.push({ toolkitSlug: query.toolkit_slug });
  if (!query.show_disabled) filters.push({ enabled: true });
  if (query.search) filters.push({ name: { contains: query.search, mode: "insensitive" } });
  if (query.cursor) filters.push(afterCursor(query.cursor, AUTH_CONFIG_ID));
  const rows = await ctx.prisma.authConfig.findMany({
    where: { AND: filters },
    orderBy: NEWEST_FIRST,
    take: query.limit + 1,
  });
  return pageOfRows(rows, query.limit, toAuthConfigView);
}

export async function getAuthConfig(ctx: GatewayContext, principal: Principal, id: string): Promise<AuthConfigView> {
  const row = await ctx.prisma.authConfig.findFirst({ where: { id, tenantId: principal.tenantId } });
  if (!row) throw notFound("Auth config");
  return toAuthConfigView(row);
}
