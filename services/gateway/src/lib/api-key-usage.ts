import type { PrismaClient } from "@kronos/db";
import type { FastifyBaseLogger } from "fastify";

/** How often a key's `last_used_at` is written, at most, per key and instance. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Records API keys' last use without a write per request: the first use of a key on this instance, then at most
 * once per LAST_USED_RESOLUTION_MS. Fire and forget: a failed write is logged, the request goes on.
 */
export function apiKeyUsageRecorder(prisma: PrismaClient, log: FastifyBaseLogger, now: () => number = Date.now) {
  const lastWritten = new Map<string, number>();
  return (apiKeyId: string): void => {
    const at = now();
    const previous = lastWritten.get(apiKeyId);
    if (previous !== undefined && at - previous < LAST_USED_RESOLUTION_MS) return;
    lastWritten.set(apiKeyId, at);
    // Bounded: one entry per key used within the resolution window.
    if (lastWritten.size > 10_000) for (const [id, when] of lastWritten) if (at - when >= LAST_USED_RESOLUTION_MS) lastWritten.delete(id);
    prisma.apiKey
      .update({ where: { id: apiKeyId }, data: { lastUsedAt: new Date(at) }, select: { id: true } })
      .catch((error: unknown) => log.warn({ err: error, apiKeyId }, "recording an API key's last use failed"));
  };
}
