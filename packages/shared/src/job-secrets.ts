import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Secrets that must travel through a job (an auth config's client secret) are sealed with AES-256-GCM under a key
 * derived from SESSION_SECRET, so Redis never holds them in clear text; the job that reads them is removed when it
 * ends.
 */
function keyFrom(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "kronos-connect", purpose, 32));
}

/** Key purposes: one derived key per use, so a value sealed for one use never opens in another. */
export const SEAL_PURPOSES = { jobSecrets: "job-secrets-v1", webhookEndpointSecrets: "webhook-endpoint-secrets-v1" } as const;
type SealPurpose = (typeof SEAL_PURPOSES)[keyof typeof SEAL_PURPOSES];

export function sealJobSecret(value: unknown, secret: string, purpose: SealPurpose = SEAL_PURPOSES.jobSecrets): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(secret, purpose), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((part) => part.toString("base64url")).join(".");
}

export function openJobSecret<T = unknown>(sealed: string, secret: string, purpose: SealPurpose = SEAL_PURPOSES.jobSecrets): T {
  const [iv, tag, body] = sealed.split(".").map((part) => Buffer.from(part, "base64url"));
  if (!iv || !tag || !body) throw new Error("Malformed sealed secret");
  const decipher = createDecipheriv("aes-256-gcm", keyFrom(secret, purpose), iv);
  decipher.setAuthTag(tag);
  return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8")) as T;
}
