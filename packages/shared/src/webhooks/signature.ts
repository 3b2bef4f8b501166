import { createHmac, timingSafeEqual } from "node:crypto";

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
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(`${id}.${timestamp}.`).update(rawBody).digest("base64");
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
    const expected = Buffer.from(composioSignature(secret, headers.id, headers.timestamp, rawBody), "base64");
    for (const candidate of given) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: "no_match" };
}
