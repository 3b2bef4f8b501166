import { AppError, type Principal } from "@kronos/shared";
import type { FastifyRequest } from "fastify";

/** The tenant principal of a route that accepts only API keys and user tokens. */
export function tenantPrincipal(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal || principal.kind === "admin") throw new AppError("UNAUTHENTICATED", "A tenant credential is required");
  return principal;
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
