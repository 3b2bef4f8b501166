import { AppError, type Principal } from "@kronos/shared";
import type { FastifyRequest } from "fastify";
import type { AgentSessionPrincipal } from "../context.js";

/** The tenant principal of a route that accepts only API keys and user tokens. */
export function tenantPrincipal(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal || principal.kind === "admin" || principal.kind === "agent_session")
    throw new AppError("UNAUTHENTICATED", "A tenant credential is required");
  return principal;
}

/** The session of a route that accepts only agent session tokens (`/mcp`). */
export function agentSessionOf(request: FastifyRequest): AgentSessionPrincipal {
  const principal = request.principal;
  if (principal?.kind !== "agent_session") throw new AppError("UNAUTHENTICATED", "An agent session token is required");
  return principal;
}

/** What the use cases see of an agent session: its user, acting through the session (audited as the session). */
export function agentPrincipal(session: AgentSessionPrincipal): Principal {
  return {
    kind: "user",
    tenantId: session.tenantId,
    userId: session.userId,
    expiresAt: Math.floor(session.expiresAt / 1000),
    agentSessionId: session.sessionId,
  };
}

/**
 * The user a request acts for. A user principal acts for itself only: naming anyone else is forbidden, naming
 * nobody means itself. An API key acts for whichever user it names (or all of them when it names none).
 */
export function scopedUserId(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.kind === "api_key") return requested;
  if (requested !== undefined && requested !== principal.userId)
    throw new AppError("FORBIDDEN", "A user token may only act for its own user");
  return principal.userId;
}
