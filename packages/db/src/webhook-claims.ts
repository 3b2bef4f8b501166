import type { PrismaClient } from "./generated/prisma/client.js";

export type WebhookClaim = "claimed" | "processed" | "held";

/**
 * The worker's claim on a stored webhook delivery, taken with one conditional UPDATE before anything is published:
 * granted when nobody holds it, when a job held it (an earlier attempt of the same job), or when the holder's lease
 * ran out. "processed": someone applied it already (do nothing). "held": the request that stored it holds a live
 * claim (it is publishing; try again after the lease).
 */
export async function claimWebhookForJob(
  prisma: PrismaClient,
  webhookId: string,
  options: { holder: string; leaseMs: number; now?: Date },
): Promise<WebhookClaim> {
  const now = options.now ?? new Date();
  const { count } = await prisma.webhookEvent.updateMany({
    where: {
      id: webhookId,
      processedAt: null,
      OR: [{ claimedBy: null }, { claimedBy: options.holder }, { claimedAt: { lt: new Date(now.getTime() - options.leaseMs) } }],
    },
    data: { claimedBy: options.holder, claimedAt: now },
  });
  if (count > 0) return "claimed";
  const row = await prisma.webhookEvent.findUnique({ where: { id: webhookId }, select: { processedAt: true } });
  return !row || row.processedAt ? "processed" : "held";
}
