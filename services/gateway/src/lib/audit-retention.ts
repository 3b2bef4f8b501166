import type { PrismaClient } from "@kronos/db";
import type { Redis } from "@kronos/shared";
import type { FastifyBaseLogger } from "fastify";

const DAY_MS = 86_400_000;
export const AUDIT_SWEEP_INTERVAL_MS = 3_600_000;
const SWEEP_BATCH = 5_000;

/**
 * Deletes audit records older than `retentionDays`, oldest first, SWEEP_BATCH rows per statement (no long lock, no
 * huge transaction). Returns how many went.
 */
export async function sweepAuditLogs(prisma: PrismaClient, retentionDays: number, now = new Date()): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  let deleted = 0;
  for (;;) {
    const count = await prisma.$executeRaw`
      DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${SWEEP_BATCH})`;
    deleted += count;
    if (count < SWEEP_BATCH) return deleted;
  }
}

/**
 * The retention sweep, hourly, in the gateway: it only deletes rows from Postgres (no Composio call, no job state),
 * so it needs no queue. Every instance runs the timer; a Redis lock taken for the interval lets one of them sweep.
 * Returns a function that stops it.
 */
export function startAuditRetention(deps: {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  retentionDays: number;
  log: FastifyBaseLogger;
  intervalMs?: number;
}): () => void {
  const intervalMs = deps.intervalMs ?? AUDIT_SWEEP_INTERVAL_MS;
  if (deps.retentionDays <= 0) return () => {};
  const sweep = async () => {
    try {
      const won = await deps.redis.set(`${deps.prefix}:audit-retention:lock`, "1", "PX", intervalMs - 1_000, "NX");
      if (won !== "OK") return;
      const deleted = await sweepAuditLogs(deps.prisma, deps.retentionDays);
      if (deleted > 0) deps.log.info({ deleted, retentionDays: deps.retentionDays }, "audit retention sweep");
    } catch (error) {
      deps.log.warn({ err: error }, "audit retention sweep failed (retried next interval)");
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
