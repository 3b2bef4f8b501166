import { createHmac, createSecretKey, type KeyObject, randomBytes } from "node:crypto";

/** The Standard Webhooks secret format: "whsec_" + base64 of the key bytes (24 random bytes, as Svix makes them). */
const SECRET_PREFIX = "whsec_";

export function generateEndpointSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString("base64")}`;
}

/** The HMAC key of a "whsec_..." secret: its base64 part, decoded (what Standard Webhooks verifiers do). */
function keyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
}

// Keys by secret: a raw key given to createHmac becomes a new KeyObject on every call, which showed in profiles at
// hundreds of deliveries a second. Bounded: cleared when full (a worker signs for a few endpoints at a time).
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 1_000;

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = createSecretKey(keyBytes(secret));
    keys.set(secret, key);
  }
  return key;
}

/** The headers of one Standard Webhooks delivery. */
export interface StandardWebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs a delivery with every given secret (two during a rotation's grace period): `v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`, space-separated, so a receiver holding either secret verifies it.
 */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): StandardWebhookHeaders {
  const timestamp = String(timestampSeconds);
  const signatures = secrets.map(
    (secret) => `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestamp}.`).update(body).digest("base64")}`,
  );
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signatures.join(" ") };
}
