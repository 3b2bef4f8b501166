import { AppError, type ConnectionView, type ExecutionView, notFound, toolkitSlugSchema } from "@kronos/shared";
import type { AgentSessionPrincipal, GatewayContext } from "../context.js";
import { toConnectionView } from "../lib/connection-view.js";
import { agentPrincipal } from "../lib/principal.js";
import { type AgentTool, listAgentTools, sessionKeeps, waitForExecution } from "./agent-tools.js";
import { initiateConnection } from "./initiate-connection.js";
import { getExecution } from "./read-executions.js";

// What an agent needs besides the tools themselves: its user's connections, a sign-in link for a toolkit, a search
// over the tools it may run, and the outcome of an earlier call. Each stays within the session's limits.

/** The user's connections of the session's toolkits (of every toolkit for a session that names none), newest first. */
export async function listAgentConnections(ctx: GatewayContext, session: AgentSessionPrincipal): Promise<ConnectionView[]> {
  const rows = await ctx.prisma.connection.findMany({
    where: {
      tenantId: session.tenantId,
      userId: session.userId,
      ...(session.toolkits ? { toolkitSlug: { in: session.toolkits } } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: 100,
  });
  return rows.map(toConnectionView);
}

/** Starts a connection of a toolkit for the session's user: the link they open to sign in. */
export async function connectAgentToolkit(ctx: GatewayContext, session: AgentSessionPrincipal, toolkit: string) {
  const slug = toolkitSlugSchema.safeParse(toolkit);
  if (!slug.success) throw new AppError("VALIDATION_FAILED", `"${toolkit.slice(0, 64)}" is not a toolkit slug such as github`);
  if (session.toolkits && !session.toolkits.includes(slug.data)) {
    throw new AppError("FORBIDDEN", `This agent session is limited to the toolkits ${session.toolkits.join(", ")}`);
  }
  const outcome = await initiateConnection(ctx, agentPrincipal(session), { user_id: session.userId, app_name: slug.data, labels: [] });
  return outcome.body;
}

/** The session's tools whose name, title, description or tags contain every word of the query (best first). */
export async function searchAgentTools(
  ctx: GatewayContext,
  session: AgentSessionPrincipal,
  query: string,
  limit: number,
): Promise<AgentTool[]> {
  const words = query
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
  const tools = await listAgentTools(ctx, session);
  if (words.length === 0) return tools.slice(0, limit);
  const scored: Array<{ tool: AgentTool; score: number }> = [];
  for (const tool of tools) {
    const name = `${tool.action} ${tool.title}`.toLowerCase().replaceAll("_", " ");
    const rest = `${tool.description} ${tool.tags.join(" ")} ${tool.toolkit}`.toLowerCase();
    let score = 0;
    for (const word of words) {
      // A word in the name counts more than one in the description; a tool must match at least one word.
      if (name.includes(word)) score += 3;
      else if (rest.includes(word)) score += 1;
    }
    if (score > 0) scored.push({ tool, score });
  }
  scored.sort((a, b) => b.score - a.score || a.tool.action.localeCompare(b.tool.action));
  return scored.slice(0, limit).map((entry) => entry.tool);
}

/**
 * An earlier call's execution, waiting up to `waitSeconds` for it to finish: only the session user's, and only of a
 * tool within the session's limits (another one is 404, as if it did not exist).
 */
export async function getAgentExecution(
  ctx: GatewayContext,
  session: AgentSessionPrincipal,
  executionId: string,
  options: { waitSeconds: number; signal: AbortSignal; progress?: (message: string) => Promise<void> },
): Promise<ExecutionView> {
  const principal = agentPrincipal(session);
  const view = await getExecution(ctx, principal, executionId);
  if (!sessionKeeps(session)(view.action_name)) throw notFound("Execution");
  if (options.waitSeconds <= 0) return view;
  const deadline = Math.min(Date.now() + options.waitSeconds * 1000, session.expiresAt);
  return waitForExecution(ctx, principal, executionId, { deadline, signal: options.signal, progress: options.progress });
}
