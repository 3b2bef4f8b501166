import type { PrismaClient } from "@kronos/db";
import type { Redis } from "@kronos/shared";
import type { FastifyBaseLogger } from "fastify";

const DAY_MS = 86_400_000;
export const RETENTION_SWEEP_INTERVAL_MS = 3_600_000;
const SWEEP_BATCH = 5_000;
/**
 * A sign-in's verification code is kept a day past its expiry (an attempt with it is told "expired" or "used", not
 * "unknown"), then deleted: nothing else reads it.
 */
export const VERIFICATION_CODES_KEPT_MS = DAY_MS;

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

/** Deletes sign-in verification codes that expired more than VERIFICATION_CODES_KEPT_MS ago (used or not). */
export async function sweepVerificationCodes(prisma: PrismaClient, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - VERIFICATION_CODES_KEPT_MS);
  let deleted = 0;
  for (;;) {
    const count = await prisma.$executeRaw`
      DELETE FROM connection_verification_codes WHERE id IN (
        SELECT id FROM connection_verification_codes WHERE expires_at < ${cutoff} LIMIT ${SWEEP_BATCH})`;
    deleted += count;
    if (count < SWEEP_BATCH) return deleted;
  }
}

/**
 * The retention sweeps, hourly, in the gateway: audit records past AUDIT_RETENTION_DAYS (none when 0) and spent
 * verification codes. They only delete rows from Postgres (no Composio call, no job state), so they need no queue.
 * Every instance runs the timer; a Redis lock taken for the interval lets one of them sweep. Returns a function that
 * stops it.
 */
export function startRetentionSweeps(deps: {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  retentionDays: number;
  log: FastifyBaseLogger;
  intervalMs?: number;
}): () => void {
  const intervalMs = deps.intervalMs ?? RETENTION_SWEEP_INTERVAL_MS;
  const sweep = async () => {
    try {
      const won = await deps.redis.set(`${deps.prefix}:retention:lock`, "1", "PX", intervalMs - 1_000, "NX");
      if (won !== "OK") return;
      const auditRecords = await sweepAuditLogs(deps.prisma, deps.retentionDays);
      const verificationCodes = await sweepVerificationCodes(deps.prisma);
      if (auditRecords + verificationCodes > 0) {
        deps.log.info({ auditRecords, verificationCodes, retentionDays: deps.retentionDays }, "retention sweep");
      }
    } catch (error) {
      deps.log.warn({ err: error }, "retention sweep failed (retried next interval)");
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
