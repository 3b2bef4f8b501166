import { z } from "zod";
import { ALL_AUDIT_ACTIONS, type AuditAction } from "../audit.js";
import { paginationQuerySchema } from "./common.js";

const filterText = z.string().min(1).max(200);

/** The filters of the audit log's list and export (each optional; all given must match). */
export const auditLogFiltersSchema = z.object({
  /** Who: "admin", "api_key:<id>", "user:<id>", "worker", ... */
  actor: filterText.optional(),
  /** What: one of AUDIT_ACTIONS ("connection.status_changed", "api_key.revoked", ...). */
  action: z.enum(ALL_AUDIT_ACTIONS as [AuditAction, ...AuditAction[]]).optional(),
  /** On what: "connection", "api_key", "auth_config", "tenant", ... */
  resource_type: filterText.optional(),
  resource_id: filterText.optional(),
  /** The user a record concerns: the record's data.user_id, or the actor "user:<id>". */
  user_id: filterText.optional(),
  /** Time range, ISO 8601: from inclusive, to exclusive. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const listAuditLogsQuerySchema = auditLogFiltersSchema.extend(paginationQuerySchema.shape).strict();
export const exportAuditLogsQuerySchema = auditLogFiltersSchema.strict();
export type AuditLogFilters = z.infer<typeof auditLogFiltersSchema>;

export const auditLogViewSchema = z
  .object({
    id: z.string(),
    actor: z.string(),
    action: z.string(),
    resource_type: z.string(),
    resource_id: z.string(),
    data: z.unknown(),
    created_at: z.iso.datetime(),
  })
  .meta({ id: "AuditLog" });
