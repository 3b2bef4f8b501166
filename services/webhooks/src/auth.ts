import type { PrismaClient } from "@kronos/db";
import {
  AppError,
  apiKeyUsable,
  bearerCredential,
  credentialFromProtocols,
  credentialKind,
  hashApiKey,
  hasScope,
  type Principal,
  verifyUserToken,
} from "@kronos/shared";

/**
 * Who opens a feed socket: a user token in the `token` query parameter (browsers cannot set headers on a
 * WebSocket), a tenant API key as `Authorization: Bearer <key>`, or either offered as the WebSocket subprotocol
 * `kronos.bearer.<credential>` beside `kronos.feed.v1` (what the console does: no credential in a URL). Throws
 * UNAUTHENTICATED otherwise.
 */
export async function authenticateFeed(
  input: { token: string | undefined; authorization: string | undefined; protocols?: string | undefined },
  deps: { prisma: PrismaClient; sessionSecret: string },
): Promise<Principal> {
  const offered = credentialFromProtocols(input.protocols);
  if (offered !== null) {
    return credentialKind(offered) === "user"
      ? authenticateFeed({ token: offered, authorization: undefined }, deps)
      : authenticateFeed({ token: undefined, authorization: `Bearer ${offered}` }, deps);
  }
  if (input.token !== undefined) {
    const check = verifyUserToken(input.token, deps.sessionSecret);
    if (!check.ok) throw new AppError("UNAUTHENTICATED", check.reason === "expired" ? "The user token has expired" : "Invalid user token");
    return { kind: "user", tenantId: check.claims.tenantId, userId: check.claims.userId, expiresAt: check.claims.exp };
  }
  const key = bearerCredential(input.authorization);
  if (!key) throw new AppError("UNAUTHENTICATED", "Send a user token as ?token= or an API key as Authorization: Bearer <key>");
  const row = await deps.prisma.apiKey.findUnique({
    where: { keyHash: hashApiKey(key) },
    select: { id: true, tenantId: true, scopes: true, expiresAt: true, revokedAt: true },
  });
  if (!row || !apiKeyUsable(row)) throw new AppError("UNAUTHENTICATED", "Invalid API key");
  if (!hasScope(row.scopes, "webhooks"))
    throw new AppError("FORBIDDEN", 'This API key lacks the "webhooks" scope the feed requires', { scope: "webhooks" });
  return { kind: "api_key", tenantId: row.tenantId, apiKeyId: row.id, scopes: row.scopes };
}
