import { type AuditEntry, auditResourceTypeOf } from "@kronos/shared";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

/** A Prisma client or the transaction an audit record is written in (with the change it records, where there is one). */
type AuditWriter = Pick<PrismaClient | Prisma.TransactionClient, "auditLog">;

/**
 * The one audit-log writer. Every service writes its records through it, in the same transaction as the change
 * where there is one, so a change and its record commit together. The action's resource type comes from the schema
 * of actions (AUDIT_ACTIONS in packages/shared).
 */
export async function recordAudit(db: AuditWriter, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map(toRow);
  if (rows.length === 1) await db.auditLog.create({ data: rows[0] as Prisma.AuditLogUncheckedCreateInput });
  else await db.auditLog.createMany({ data: rows });
}

function toRow(entry: AuditEntry): Prisma.AuditLogCreateManyInput {
  return {
    tenantId: entry.tenantId,
    actor: entry.actor,
    action: entry.action,
    targetType: auditResourceTypeOf(entry.action),
    targetId: entry.resourceId,
    data: (entry.data ?? {}) as Prisma.InputJsonValue,
  };
}
