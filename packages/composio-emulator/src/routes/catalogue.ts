import type { FastifyInstance } from "fastify";
import { argumentProblems, findTool, findToolkit, TOOLKITS, TOOLS } from "../catalogue.js";
import type { RouteContext } from "../context.js";
import { EmulatorApiError, ERRORS } from "../errors.js";
import { arrayParam, paginate, scalarParam } from "../pagination.js";
import { toolkitOut, toolOut } from "../serialize.js";
import { type ConnectedAccountRecord, nanoid } from "../state.js";

type Query = Record<string, unknown>;

/** Toolkits, tools and tool execution. */
export async function catalogueRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { state } = ctx;

  app.get("/toolkits", async (request) => {
    const q = request.query as Query;
    const search = scalarParam(q.search)?.toLowerCase();
    const category = scalarParam(q.category)?.toLowerCase();
    const all = TOOLKITS.filter((t) => !search || [t.slug, t.name, t.description].some((s) => s.toLowerCase().includes(search)))
      .filter((t) => !category || t.categories.some((c) => c.id === category || c.name.toLowerCase() === category))
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(all, q);
    return { ...page, items: page.items.map((t) => toolkitOut(t, false)) };
  });

  app.get("/toolkits/categories", async () => {
    const categories = new Map<string, { id: string; name: string }>();
    for (const t of TOOLKITS) for (const c of t.categories) categories.set(c.id, c);
    const items = [...categories.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { items, next_cursor: null, total_pages: 1, current_page: 1, total_items: items.length };
  });

  app.get<{ Params: { slug: string } }>("/toolkits/:slug", async (request) => {
    const toolkit = findToolkit(request.params.slug);
    if (!toolkit) throw new EmulatorApiError(ERRORS.TOOLKIT_NOT_FOUND, `Toolkit ${request.params.slug} not found`);
    return toolkitOut(toolkit, true);
  });

  app.get("/tools", async (request) => {
    const q = request.query as Query;
    const toolkitSlug = scalarParam(q.toolkit_slug)?.toLowerCase();
    const toolSlugs = arrayParam(q.tool_slugs)?.map((s) => s.toUpperCase());
    const tags = arrayParam(q.tags);
    const important = scalarParam(q.important) === "true";
    const search = (scalarParam(q.search) ?? scalarParam(q.query))?.toLowerCase();
    const all = TOOLS.filter((t) => !toolkitSlug || t.toolkitSlug === toolkitSlug)
      .filter((t) => !toolSlugs || toolSlugs.includes(t.slug))
      .filter((t) => !tags || tags.some((tag) => t.tags.includes(tag)))
      .filter((t) => !important || t.tags.includes("important"))
      .filter((t) => !search || [t.slug, t.name, t.description].some((s) => s.toLowerCase().includes(search)));
    const page = paginate(all, q);
    return { ...page, items: page.items.map((t) => toolOut(t, ctx.version)) };
  });

  app.get<{ Params: { tool_slug: string }; Querystring: { version?: string } }>("/tools/:tool_slug", async (request) => {
    const tool = findTool(request.params.tool_slug);
    if (!tool) throw new EmulatorApiError(ERRORS.TOOL_NOT_FOUND, `Tool ${request.params.tool_slug} not found`);
    return toolOut(tool, ctx.version, scalarParam(request.query.version));
  });

  app.post<{ Params: { tool_slug: string } }>("/tools/execute/:tool_slug", async (request) => {
    const tool = findTool(request.params.tool_slug);
    if (!tool) throw new EmulatorApiError(ERRORS.TOOL_NOT_FOUND, `Tool ${request.params.tool_slug} not found`);
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== "object" || Array.isArray(body)) throw new EmulatorApiError(ERRORS.BAD_REQUEST, "body must be an object");
    const args = body.arguments ?? {};
    if (typeof args !== "object" || args === null || Array.isArray(args))
      throw new EmulatorApiError(ERRORS.BAD_REQUEST, "arguments must be an object");
    const userId = typeof body.user_id === "string" ? body.user_id : null;
    const accountId = typeof body.connected_account_id === "string" ? body.connected_account_id : null;

    let account: ConnectedAccountRecord | undefined;
    if (accountId) {
      account = state.accounts.get(accountId);
      if (!account) throw new EmulatorApiError(ERRORS.CONNECTED_ACCOUNT_NOT_FOUND, `No connected account found with id ${accountId}`);
      if (userId && account.userId !== userId) {
        throw new EmulatorApiError(
          ERRORS.CONNECTED_ACCOUNT_USER_MISMATCH,
          `Connected account ${accountId} does not belong to user ${userId}`,
        );
      }
    } else if (userId) {
      const candidates = [...state.accounts.values()]
        .filter((a) => a.userId === userId && a.toolkitSlug === tool.toolkitSlug)
        .sort((a, b) => Number(b.status === "ACTIVE") - Number(a.status === "ACTIVE") || b.createdAt.localeCompare(a.createdAt));
      account = candidates[0];
      if (!account)
        throw new EmulatorApiError(
          ERRORS.CONNECTED_ACCOUNT_NOT_FOUND,
          `No connected account found for user ${userId} and toolkit ${tool.toolkitSlug}`,
        );
    } else {
      throw new EmulatorApiError(ERRORS.BAD_REQUEST, "Either connected_account_id or user_id is required");
    }
    if (account.toolkitSlug !== tool.toolkitSlug) {
      throw new EmulatorApiError(
        ERRORS.BAD_REQUEST,
        `Connected account ${account.id} belongs to ${account.toolkitSlug}, not ${tool.toolkitSlug}`,
      );
    }
    if (account.status !== "ACTIVE") {
      throw new EmulatorApiError(ERRORS.CONNECTED_ACCOUNT_NOT_USABLE, `Connected account ${account.id} is ${account.status}, not ACTIVE`);
    }
    const problems = argumentProblems(tool, args as Record<string, unknown>);
    if (problems.length > 0) throw new EmulatorApiError(ERRORS.TOOL_INVALID_ARGUMENTS, `Invalid arguments: ${problems.join("; ")}`);

    const outcome = tool.run(args as Record<string, unknown>, { userId: account.userId, connectedAccountId: account.id });
    const logId = nanoid("log");
    state.executions.push({
      logId,
      toolSlug: tool.slug,
      connectedAccountId: account.id,
      userId: account.userId,
      arguments: args as Record<string, unknown>,
      successful: outcome.successful,
      time: state.nowIso(),
    });
    return { data: outcome.data, error: outcome.error, successful: outcome.successful, log_id: logId };
  });
}
