import rateLimit from "@fastify/rate-limit";
import { globalPlugin } from "@kronos/service-kit";
import { AppError, type Redis } from "@kronos/shared";
import type { FastifyRequest } from "fastify";
import { leasedRedisStore } from "../lib/leased-rate-limit-store.js";
import type { TenantRateLimitsCache } from "../lib/tenant-rate-limits.js";

export interface RateLimitOptions {
  /** A connection that fails fast when Redis is away (no offline queue): the limit is then skipped, not waited on. */
  redis: Redis;
  prefix: string;
  ipPerMinute: number;
  tenantLimits: TenantRateLimitsCache;
}

const WINDOW_MS = 60_000;

/** Routes every client may call as often as it needs (load balancers' probes). */
const UNLIMITED_ROUTES = new Set(["/health"]);

/**
 * Request rate limits, counted in Redis so that every gateway instance counts together (in small leases, see
 * leased-rate-limit-store.ts): per API key, per user
 * (all its tokens), per client IP on unauthenticated routes; the operator's admin token is not limited. Over the
 * limit: 429 RATE_LIMITED with Retry-After and the draft IETF RateLimit-Limit / -Remaining / -Reset headers.
 *
 * Runs as an onRequest hook after the auth check (registered after the auth plugin, whose check comes first in
 * every route's onRequest list), so the principal is known, and before the body is read.
 */
export const rateLimitPlugin = globalPlugin<RateLimitOptions>("rate-limits", async (app, options) => {
  await app.register(rateLimit, {
    global: true,
    hook: "onRequest",
    enableDraftSpec: true,
    timeWindow: WINDOW_MS,
    // Counted in Redis, a small lease of requests at a time (see leased-rate-limit-store.ts).
    store: leasedRedisStore(options.redis, `${options.prefix}:rate-limit:`),
    // Redis unreachable: serve the request uncounted rather than fail it.
    skipOnError: true,
    keyGenerator: (request) => limitKey(request),
    allowList: (request, key) => key === "admin" || UNLIMITED_ROUTES.has(request.routeOptions.url ?? ""),
    max: async (request) => {
      const principal = request.principal;
      if (!principal || principal.kind === "admin") return options.ipPerMinute;
      const limits = await options.tenantLimits.limitsOf(principal.tenantId);
      // An agent session acts for its user: it counts against the user's limit.
      return principal.kind === "api_key" ? limits.api_key_per_minute : limits.user_per_minute;
    },
    errorResponseBuilder: (_request, context) =>
      new AppError("RATE_LIMITED", `Too many requests: at most ${context.max} per minute; retry in ${context.after}`, {
        limit: context.max,
      }),
  });
});

/** Whom a request counts against. */
export function limitKey(request: FastifyRequest): string {
  const principal = request.principal;
  if (!principal) return `ip:${request.ip}`;
  if (principal.kind === "admin") return "admin";
  if (principal.kind === "api_key") return `key:${principal.apiKeyId}`;
  return `user:${principal.tenantId}:${principal.userId}`;
}
