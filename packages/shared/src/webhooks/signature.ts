import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/** The webhook event types Composio sends (V3 envelope `type`). */
export const COMPOSIO_WEBHOOK_TYPES = {
  connectedAccountExpired: "composio.connected_account.expired",
  triggerMessage: "composio.trigger.message",
  triggerDisabled: "composio.trigger.disabled",
} as const;

/** Composio rejects nothing itself; we reject deliveries whose timestamp is further than this from our clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: "missing_headers" | "bad_timestamp" | "stale_timestamp" | "future_timestamp" | "no_match" };

/**
 * base64(HMAC-SHA256(secret as UTF-8 bytes, "<id>.<timestamp>.<raw body>")), as Composio signs (COMPOSIO.md).
 * Unlike the Standard Webhooks / Svix verifiers, the secret is NOT base64-decoded first.
 */
export function composioSignature(secret: string, id: string, timestamp: string, rawBody: Buffer | string): string {
  return signatureBytes(secret, id, timestamp, rawBody).toString("base64");
}

/** Secrets seen so far -> their HMAC key objects (a process has one or two; the bound only guards odd callers). */
const keyObjects = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 16;

/** The secret's key object, built once per secret string (rebuilding it per delivery showed in the profiles). */
function keyFor(secret: string): KeyObject {
  let key = keyObjects.get(secret);
  if (key === undefined) {
    if (keyObjects.size >= MAX_CACHED_KEYS) keyObjects.clear();
    key = createSecretKey(Buffer.from(secret, "utf8"));
    keyObjects.set(secret, key);
  }
  return key;
}

/** The raw HMAC bytes of a delivery (what `composioSignature` encodes as base64). */
function signatureBytes(secret: string, id: string, timestamp: string, rawBody: Buffer | string): Buffer {
  return createHmac("sha256", keyFor(secret)).update(`${id}.${timestamp}.`).update(rawBody).digest();
}

/**
 * Verifies a delivery against every accepted secret (two while a secret is rotated) and every `v1,` signature in
 * the header, in constant time per comparison, over the raw body bytes.
 */
export function verifyComposioWebhook(
  headers: WebhookHeaders,
  rawBody: Buffer | string,
  secrets: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!headers.id || !headers.timestamp || !headers.signature) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,12}$/.test(headers.timestamp)) return { ok: false, reason: "bad_timestamp" };
  const timestamp = Number(headers.timestamp);
  if (nowSeconds - timestamp > WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: "stale_timestamp" };
  if (timestamp - nowSeconds > WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: "future_timestamp" };

  const given = headers.signature
    .split(" ")
    .filter((part) => part.startsWith("v1,"))
    .map((part) => Buffer.from(part.slice(3), "base64"));
  for (const secret of secrets) {
    const expected = signatureBytes(secret, headers.id, headers.timestamp, rawBody);
    for (const candidate of given) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: "no_match" };
}
