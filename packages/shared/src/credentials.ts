/**
 * What a credential looks like, without any secret or Node API: read by the gateway and the webhooks service, and
 * by the console in the browser (imported through `@kronos/shared/contracts`).
 */

/** Tenant API keys: "kc_" + 32 random bytes. Only their SHA-256 is stored (they are random, so no KDF is needed). */
export const API_KEY_PREFIX = "kc_";
/** Signed user tokens for browsers: "kcu." + payload + "." + HMAC. */
export const USER_TOKEN_PREFIX = "kcu.";

/**
 * Agent session tokens, the bearer of `/mcp`: "kas_" + 32 random bytes. Only their SHA-256 is stored, like API keys'.
 */
export const AGENT_SESSION_TOKEN_PREFIX = "kas_";

export type CredentialKind = "api_key" | "user";

/** Which kind of credential a string is by its prefix (not whether it is valid: only the server can tell). */
export function credentialKind(credential: string): CredentialKind | null {
  if (credential.startsWith(API_KEY_PREFIX)) return "api_key";
  if (credential.startsWith(USER_TOKEN_PREFIX)) return "user";
  return null;
}

/**
 * The claims a user token carries, read WITHOUT checking its signature: for a browser to show who it is signed in
 * as and when that ends. Never use this to decide access.
 */
export function peekUserToken(token: string): { tenantId: string; userId: string; exp: number } | null {
  if (!token.startsWith(USER_TOKEN_PREFIX)) return null;
  const payload = token.slice(USER_TOKEN_PREFIX.length).split(".")[0] ?? "";
  try {
    const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
    const parsed = JSON.parse(json) as { t?: unknown; u?: unknown; exp?: unknown };
    if (typeof parsed.t !== "string" || typeof parsed.u !== "string" || typeof parsed.exp !== "number") return null;
    return { tenantId: parsed.t, userId: parsed.u, exp: parsed.exp };
  } catch {
    return null;
  }
}

/**
 * A browser cannot set headers on a WebSocket, and a credential in a URL ends up in access logs and histories. So
 * the feed also accepts the credential as a WebSocket subprotocol: the client offers
 * `[FEED_PROTOCOL, FEED_BEARER_PROTOCOL_PREFIX + credential]` and the server answers with FEED_PROTOCOL only.
 * Both kinds of credential are made of subprotocol-safe characters (base64url, "." and "_").
 */
export const FEED_PROTOCOL = "kronos.feed.v1";
export const FEED_BEARER_PROTOCOL_PREFIX = "kronos.bearer.";
const PROTOCOL_SAFE = /^[A-Za-z0-9._~-]+$/;

/** The subprotocols a browser offers to open the feed with a credential. */
export function feedProtocols(credential: string): string[] {
  if (!PROTOCOL_SAFE.test(credential)) throw new Error("This credential cannot be sent as a WebSocket subprotocol");
  return [FEED_PROTOCOL, FEED_BEARER_PROTOCOL_PREFIX + credential];
}

/** The credential offered in a Sec-WebSocket-Protocol header, or null when none is. */
export function credentialFromProtocols(header: string | undefined): string | null {
  if (!header) return null;
  for (const offered of header.split(",")) {
    const protocol = offered.trim();
    if (protocol.startsWith(FEED_BEARER_PROTOCOL_PREFIX)) {
      const credential = protocol.slice(FEED_BEARER_PROTOCOL_PREFIX.length);
      return PROTOCOL_SAFE.test(credential) ? credential : null;
    }
  }
  return null;
}
