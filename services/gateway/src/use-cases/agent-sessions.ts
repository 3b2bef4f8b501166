import { recordAudit } from "@kronos/db";
import {
  type AgentSessionView,
  AppError,
  actorOf,
  type CreateAgentSessionBody,
  generateAgentSessionToken,
  notFound,
  PARKED_EXECUTION_STATUSES,
  type Principal,
  publishAgentSessionRevoked,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { cancelExecution } from "./execution-decisions.js";

/** Where an agent reaches its session's tools. */
export const mcpUrl = (ctx: GatewayContext) => new URL("/mcp", ctx.config.PUBLIC_GATEWAY_URL).toString();

type SessionRow = {
  id: string;
  userId: string;
  prefix: string;
  toolkits: string[];
  tools: string[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
};

const view = (ctx: GatewayContext, row: SessionRow): AgentSessionView => ({
  session_id: row.id,
  user_id: row.userId,
  prefix: row.prefix,
  toolkits: row.toolkits.length > 0 ? row.toolkits : null,
  tools: row.tools.length > 0 ? row.tools : null,
  mcp_url: mcpUrl(ctx),
  created_by: row.createdBy,
  created_at: row.createdAt.toISOString(),
  expires_at: row.expiresAt.toISOString(),
  revoked_at: row.revokedAt?.toISOString() ?? null,
});

/**
 * A new agent session for one user: its token is in this answer only (its hash is stored). It narrows what the user
 * may run (toolkits, tool patterns); the tool policy still applies on top at every call, so it never widens it.
 */
export async function createAgentSession(ctx: GatewayContext, principal: Principal, body: CreateAgentSessionBody) {
  const ttl = body.ttl_seconds ?? Math.min(ctx.config.AGENT_SESSION_TTL_SECONDS, ctx.config.AGENT_SESSION_MAX_TTL_SECONDS);
  if (ttl > ctx.config.AGENT_SESSION_MAX_TTL_SECONDS) {
    throw new AppError("VALIDATION_FAILED", "The request is invalid", [
      { field: "body.ttl_seconds", message: `must be at most ${ctx.config.AGENT_SESSION_MAX_TTL_SECONDS} seconds` },
    ]);
  }
  const { token, hash, prefix } = generateAgentSessionToken();
  const actor = actorOf(principal);
  const row = await ctx.prisma.$transaction(async (tx) => {
    const created = await tx.agentSession.create({
      data: {
        tenantId: principal.tenantId,
        userId: body.user_id,
        tokenHash: hash,
        prefix,
        toolkits: body.toolkits ?? [],
        tools: body.tools ?? [],
        createdBy: actor,
        expiresAt: new Date(Date.now() + ttl * 1000),
      },
    });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor,
      action: "agent_session.created",
      resourceId: created.id,
      data: {
        user_id: created.userId,
        prefix,
        toolkits: body.toolkits ?? null,
        tools: body.tools ?? null,
        expires_at: created.expiresAt.toISOString(),
      },
    });
    return created;
  });
  return { ...view(ctx, row), token };
}

/** A user's sessions, newest first: those that still work, or every one with `includeEnded`. Never a token. */
export async function listAgentSessions(ctx: GatewayContext, principal: Principal, query: { user_id: string; include_ended: boolean }) {
  const rows = await ctx.prisma.agentSession.findMany({
    where: {
      tenantId: principal.tenantId,
      userId: query.user_id,
      ...(query.include_ended ? {} : { revokedAt: null, expiresAt: { gt: new Date() } }),
    },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: 500,
  });
  return { items: rows.map((row) => view(ctx, row)) };
}

/**
 * Revokes a session: every gateway reads the session's row on each MCP request, so the next one is refused on any
 * instance; the broadcast ends the calls that are waiting on one (a sign-in, an approval) at once. What the session
 * started that still waits for a person is cancelled: nobody can collect it through the session any more, and a
 * revoked agent's call must not run later.
 */
export async function revokeAgentSession(ctx: GatewayContext, principal: Principal, id: string): Promise<void> {
  const actor = actorOf(principal);
  const row = await ctx.prisma.$transaction(async (tx) => {
    const found = await tx.agentSession.findFirst({ where: { id, tenantId: principal.tenantId } });
    if (!found || found.revokedAt !== null) throw notFound("Agent session");
    await tx.agentSession.update({ where: { id }, data: { revokedAt: new Date() } });
    await recordAudit(tx, {
      tenantId: principal.tenantId,
      actor,
      action: "agent_session.revoked",
      resourceId: id,
      data: { user_id: found.userId, prefix: found.prefix },
    });
    return found;
  });
  await publishAgentSessionRevoked(ctx.redis, ctx.config.REDIS_KEY_PREFIX, { tenantId: principal.tenantId, sessionId: row.id });
  const parked = await ctx.prisma.execution.findMany({
    where: { tenantId: principal.tenantId, requestedBy: `agent_session:${row.id}`, status: { in: [...PARKED_EXECUTION_STATUSES] } },
    select: { id: true },
  });
  for (const { id: executionId } of parked) {
    await cancelExecution(ctx, principal, executionId, "The agent session was revoked").catch((error: unknown) => {
      // Decided or ended meanwhile: nothing left to cancel.
      if (!(error instanceof AppError && error.code === "CONFLICT")) throw error;
    });
  }
}
