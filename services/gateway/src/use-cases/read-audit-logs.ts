import { Readable } from "node:stream";
import type { Prisma } from "@kronos/db";
import { AppError, type AuditLogFilters, type Principal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";

const DAY_MS = 86_400_000;
/** Rows read per query of an export: memory stays bounded whatever the range holds. */
export const EXPORT_BATCH = 500;

type AuditRow = { id: bigint; actor: string; action: string; targetType: string; targetId: string; data: unknown; createdAt: Date };

export const auditLogView = (row: AuditRow) => ({
  id: row.id.toString(),
  actor: row.actor,
  action: row.action,
  resource_type: row.targetType,
  resource_id: row.targetId,
  data: row.data,
  created_at: row.createdAt.toISOString(),
});

const invalid = (field: string, message: string) =>
  new AppError("VALIDATION_FAILED", "The request is invalid", [{ field: `querystring.${field}`, message }]);

/** The tenant's records matching the filters (the tenant is always the caller's). */
function whereOf(tenantId: string, filters: AuditLogFilters, range: { from?: Date; to?: Date }): Prisma.AuditLogWhereInput[] {
  const where: Prisma.AuditLogWhereInput[] = [{ tenantId }];
  if (filters.actor) where.push({ actor: filters.actor });
  if (filters.action) where.push({ action: filters.action });
  if (filters.resource_type) where.push({ targetType: filters.resource_type });
  if (filters.resource_id) where.push({ targetId: filters.resource_id });
  if (filters.user_id) where.push({ OR: [{ data: { path: ["user_id"], equals: filters.user_id } }, { actor: `user:${filters.user_id}` }] });
  if (range.from || range.to)
    where.push({ createdAt: { ...(range.from ? { gte: range.from } : {}), ...(range.to ? { lt: range.to } : {}) } });
  return where;
}

function parseRange(filters: AuditLogFilters): { from?: Date; to?: Date } {
  const from = filters.from ? new Date(filters.from) : undefined;
  const to = filters.to ? new Date(filters.to) : undefined;
  if (from && to && from >= to) throw invalid("from", "must be before to");
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

const encodeCursor = (id: bigint) => Buffer.from(`a|${id}`).toString("base64url");
function decodeCursor(cursor: string): bigint {
  const match = /^a\|(\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw invalid("cursor", "Invalid cursor");
  return BigInt(match[1]!);
}

/** A page of the tenant's audit log, newest first. */
export async function listAuditLogs(
  ctx: GatewayContext,
  principal: Principal,
  query: AuditLogFilters & { limit: number; cursor?: string | undefined },
) {
  const where = whereOf(principal.tenantId, query, parseRange(query));
  if (query.cursor) where.push({ id: { lt: decodeCursor(query.cursor) } });
  const rows = await ctx.prisma.auditLog.findMany({ where: { AND: where }, orderBy: { id: "desc" }, take: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(auditLogView), next_cursor: rows.length > query.limit && last ? encodeCursor(last.id) : null };
}

/**
 * The tenant's records in a time range, newest first, as NDJSON (one record per line). The range defaults to the
 * last AUDIT_EXPORT_MAX_DAYS and may not be wider (400). Streamed: rows are read EXPORT_BATCH at a time (keyset on
 * id), and the next batch only when the client has taken the previous one (the stream's backpressure).
 */
export function exportAuditLogs(ctx: GatewayContext, principal: Principal, filters: AuditLogFilters): Readable {
  const maxDays = ctx.config.AUDIT_EXPORT_MAX_DAYS;
  const range = parseRange(filters);
  const to = range.to ?? new Date();
  const from = range.from ?? new Date(to.getTime() - maxDays * DAY_MS);
  if (from >= to) throw invalid("from", "must be before to");
  if (to.getTime() - from.getTime() > maxDays * DAY_MS)
    throw new AppError("VALIDATION_FAILED", `An export covers at most ${maxDays} days (AUDIT_EXPORT_MAX_DAYS): narrow from/to`, [
      { field: "querystring.from", message: `the range may cover at most ${maxDays} days` },
    ]);
  const where = whereOf(principal.tenantId, filters, { from, to });
  async function* lines(): AsyncGenerator<string> {
    let before: bigint | undefined;
    for (;;) {
      const rows = await ctx.prisma.auditLog.findMany({
        where: { AND: before === undefined ? where : [...where, { id: { lt: before } }] },
        orderBy: { id: "desc" },
        take: EXPORT_BATCH,
      });
      if (rows.length > 0) yield `${rows.map((row) => JSON.stringify(auditLogView(row))).join("\n")}\n`;
      if (rows.length < EXPORT_BATCH) return;
      before = rows.at(-1)!.id;
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
}
