import { createHash, createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";

import { AGENT_SESSION_TOKEN_PREFIX, API_KEY_PREFIX, USER_TOKEN_PREFIX } from "./credentials.js";

/** A new agent session token: shown once; only its hash (the same SHA-256 as an API key's) is stored. */
export function generateAgentSessionToken(): { token: string; hash: string; prefix: string } {
  const token = AGENT_SESSION_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashApiKey(token), prefix: token.slice(0, 12) };
}

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/** Runs on every API-key request: the one-shot `hash` costs a third of a Hash object's. */
export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}

/** The user verifier's one-time codes: `kcv_` and 32 random bytes; only their SHA-256 is stored. */
export const VERIFICATION_CODE_PREFIX = "kcv_";

export function generateVerificationCode(): { code: string; hash: string } {
  const code = VERIFICATION_CODE_PREFIX + randomBytes(32).toString("base64url");
  return { code, hash: hashVerificationCode(code) };
}

export function hashVerificationCode(code: string): string {
  return hash("sha256", code, "hex");
}

/**
 * The secret of a connection's callback URL: 32 random bytes, made with each link (initiate, re-authorise) and put
 * in the callback URL given to Composio, which sends the browser back to it after the sign-in. Only its SHA-256 is
 * stored: the callback issues a verification code only to a browser that brings it (the connection id alone is
 * known to the asker, and the path is predictable).
 */
export function generateCallbackSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString("base64url");
  return { secret, hash: hash("sha256", secret, "hex") };
}

/** Whether the callback's query brought the secret whose SHA-256 is stored (constant time; no stored hash: never). */
export function callbackSecretMatches(presented: unknown, storedHash: string | null): boolean {
  if (typeof presented !== "string" || !storedHash || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(hash("sha256", presented, "hex"), "hex"), Buffer.from(storedHash, "hex"));
}

/** Whether a stored key still works: not revoked, and not past the end of a rotation's overlap. */
export function apiKeyUsable(key: { revokedAt: Date | null; expiresAt: Date | null }, now = Date.now()): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt.getTime() > now);
}

export function safeEqual(a: string, b: string): boolean {
  const left = createHash("sha256").update(a).digest();
  const right = createHash("sha256").update(b).digest();
  return timingSafeEqual(left, right);
}

export interface UserTokenClaims {
  tenantId: string;
  userId: string;
  /** Expiry, Unix seconds. */
  exp: number;
}

export function signUserToken(claims: UserTokenClaims, secret: string): string {
  const payload = Buffer.from(JSON.stringify({ t: claims.tenantId, u: claims.userId, exp: claims.exp })).toString("base64url");
  const signature = createHmac("sha256", secret).update(payload).digest("base64url");
  return `${USER_TOKEN_PREFIX}${payload}.${signature}`;
}

export type TokenCheck = { ok: true; claims: UserTokenClaims } | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

export function verifyUserToken(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): TokenCheck {
  if (!token.startsWith(USER_TOKEN_PREFIX)) return { ok: false, reason: "malformed" };
  const [payload, signature, extra] = token.slice(USER_TOKEN_PREFIX.length).split(".");
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: "malformed" };
  // One spelling only: the signature is compared as the canonical base64url text, not decoded first (a decoder
  // ignores an appended "=" or "!" and an inserted "*", which would let altered tokens through).
  const expected = Buffer.from(createHmac("sha256", secret).update(payload).digest("base64url"));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
  let parsed: { t?: unknown; u?: unknown; exp?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (typeof parsed.t !== "string" || typeof parsed.u !== "string" || typeof parsed.exp !== "number")
    return { ok: false, reason: "malformed" };
  if (parsed.exp <= nowSeconds) return { ok: false, reason: "expired" };
  return { ok: true, claims: { tenantId: parsed.t, userId: parsed.u, exp: parsed.exp } };
}

/**
 * Who is calling, once authenticated. A user principal acts for its own user only: a user token, or an agent session
 * (`agentSessionId` set), which acts for its user within its narrowing and never approves anything.
 */
export type Principal =
  | { kind: "api_key"; tenantId: string; apiKeyId: string; scopes: readonly string[] }
  | { kind: "user"; tenantId: string; userId: string; expiresAt: number; agentSessionId?: string };

export function actorOf(principal: Principal): string {
  if (principal.kind === "api_key") return `api_key:${principal.apiKeyId}`;
  return principal.agentSessionId === undefined ? `user:${principal.userId}` : `agent_session:${principal.agentSessionId}`;
}

/** Reads "Bearer <credential>" from an Authorization header. */
export function bearerCredential(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
