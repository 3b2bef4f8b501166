import type { Redis } from "ioredis";

/**
 * Revocation of an API key, broadcast to every gateway and webhooks instance: each evicts the key from its cache and
 * closes the sockets it opened. The caches' short TTL is the safety net for an instance that missed the message
 * (its subscriber was reconnecting).
 */
export interface ApiKeyRevoked {
  tenantId: string;
  apiKeyId: string;
  keyHash: string;
}

export const apiKeyRevocationChannel = (prefix: string) => `${prefix}:api-keys:revoked`;

export async function publishApiKeyRevoked(redis: Redis, prefix: string, revoked: ApiKeyRevoked): Promise<void> {
  await redis.publish(apiKeyRevocationChannel(prefix), JSON.stringify(revoked));
}

/** Parses a channel message; null when it is not a revocation. */
export function decodeApiKeyRevoked(message: string): ApiKeyRevoked | null {
  try {
    const parsed = JSON.parse(message) as Partial<ApiKeyRevoked>;
    return typeof parsed.tenantId === "string" && typeof parsed.apiKeyId === "string" && typeof parsed.keyHash === "string"
      ? { tenantId: parsed.tenantId, apiKeyId: parsed.apiKeyId, keyHash: parsed.keyHash }
      : null;
  } catch {
    return null;
  }
}

/**
 * Calls `onRevoked` for every revocation published on `subscriber` (a connection in subscriber mode, shared with
 * other channels). Resolves once Redis confirmed the subscription; the returned function unsubscribes.
 */
export async function onApiKeyRevoked(
  subscriber: Redis,
  prefix: string,
  onRevoked: (revoked: ApiKeyRevoked) => void,
): Promise<() => Promise<void>> {
  const channel = apiKeyRevocationChannel(prefix);
  const listener = (from: string, message: string) => {
    if (from !== channel) return;
    const revoked = decodeApiKeyRevoked(message);
    if (revoked) onRevoked(revoked);
  };
  subscriber.on("message", listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off("message", listener);
    await subscriber.unsubscribe(channel).catch(() => {});
  };
}
