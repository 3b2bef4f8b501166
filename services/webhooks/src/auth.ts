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
  type UnknownKeyGuard,
  verifyUserToken,
} from "@kronos/shared";

/**
 * Who opens a feed socket: a user token in the `token` query parameter (browsers cannot set headers on a
 * WebSocket), a tenant API key as `Authorization: Bearer <key>`, or either offered as the WebSocket subprotocol
 * `kronos.bearer.<credential>` beside `kronos.feed.v1` (what the console does: no credential in a URL). Throws
 * UNAUTHENTICATED otherwise. API keys are looked up through the same guard as the gateway's (`unknownKeys`): an
 * unknown key costs a Postgres query once a minute at most, and each client IP a bounded number of them.
 */
export async function authenticateFeed(
  input: { token: string | undefined; authorization: string | undefined; protocols?: string | undefined; ip: string },
  deps: { prisma: PrismaClient; sessionSecret: string; unknownKeys: UnknownKeyGuard },
): Promise<Principal> {
  const offered = credentialFromProtocols(input.protocols);
  if (offered !== null) {
    return credentialKind(offered) === "user"
      ? authenticateFeed({ token: offered, authorization: undefined, ip: input.ip }, deps)
      : authenticateFeed({ token: undefined, authorization: `Bearer ${offered}`, ip: input.ip }, deps);
  }
  if (input.token !== undefined) {
    const check = verifyUserToken(input.token, deps.sessionSecret);
    if (!check.ok) throw new AppError("UNAUTHENTICATED", check.reason === "expired" ? "The user token has expired" : "Invalid user token");
    return { kind: "user", tenantId: check.claims.tenantId, userId: check.claims.userId, expiresAt: check.claims.exp };
  }
  const key = bearerCredential(input.authorization);
  if (!key) throw new AppError("UNAUTHENTICATED", "Send a user token as ?token= or an API key as Authorization: Bearer <key>");
  const keyHash = hashApiKey(key);
  const row = await deps.unknownKeys.lookUp(input.ip, keyHash, async () => {
    const found = await deps.prisma.apiKey.findUnique({
      where: { keyHash },
      select: { id: true, tenantId: true, scopes: true, expiresAt: true, revokedAt: true },
    });
    return found && apiKeyUsable(found) ? found : null;
  });
  if (!row) throw new AppError("UNAUTHENTICATED", "Invalid API key");
  if (!hasScope(row.scopes, "webhooks"))
    throw new AppError("FORBIDDEN", 'This API key lacks the "webhooks" scope the feed requires', { scope: "webhooks" });
  return { kind: "api_key", tenantId: row.tenantId, apiKeyId: row.id, scopes: row.scopes };
}
