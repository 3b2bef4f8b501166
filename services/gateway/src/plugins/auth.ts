import type { PrismaClient } from "@kronos/db";
import { API_KEY_PREFIX, AppError, bearerCredential, hashApiKey, safeEqual, USER_TOKEN_PREFIX, verifyUserToken } from "@kronos/shared";
import type { AdminPrincipal, GatewayPrincipal, PrincipalKind } from "../context.js";
import { globalPlugin } from "../lib/global-plugin.js";

export interface AuthOptions {
  prisma: PrismaClient;
  adminToken: string;
  sessionSecret: string;
}

const KIND_NAMES: Record<PrincipalKind, string> = { api_key: "an API key", user: "a user token", admin: "the admin token" };

/**
 * Reads `Authorization: Bearer <credential>` on every route that declares `config.auth` (the principals it
 * accepts) and sets `request.principal`. Routes without `config.auth` are public.
 */
export const authPlugin = globalPlugin<AuthOptions>("auth", async (app, options) => {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request) => {
    const accepted = request.routeOptions.config.auth;
    if (!accepted) return;
    const credential = bearerCredential(request.headers.authorization);
    if (!credential) throw new AppError("UNAUTHENTICATED", "Missing credential: send Authorization: Bearer <credential>");
    const principal = await authenticate(credential, options);
    if (!principal) throw new AppError("UNAUTHENTICATED", "Invalid or expired credential");
    if (!accepted.includes(principal.kind)) {
      throw new AppError("FORBIDDEN", `This endpoint requires ${accepted.map((kind) => KIND_NAMES[kind]).join(" or ")}`);
    }
    request.principal = principal;
  });
});

/** Who a credential belongs to, or null when it is nobody's. */
export async function authenticate(credential: string, options: AuthOptions): Promise<GatewayPrincipal | null> {
  if (credential.startsWith(API_KEY_PREFIX)) {
    const key = await options.prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(credential) } });
    if (!key || key.revokedAt) return null;
    return { kind: "api_key", tenantId: key.tenantId, apiKeyId: key.id };
  }
  if (credential.startsWith(USER_TOKEN_PREFIX)) {
    const check = verifyUserToken(credential, options.sessionSecret);
    if (!check.ok) return null;
    return { kind: "user", tenantId: check.claims.tenantId, userId: check.claims.userId, expiresAt: check.claims.exp };
  }
  if (safeEqual(credential, options.adminToken)) return { kind: "admin" } satisfies AdminPrincipal;
  return null;
}
