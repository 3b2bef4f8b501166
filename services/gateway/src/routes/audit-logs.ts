import { auditLogViewSchema, exportAuditLogsQuerySchema, listAuditLogsQuerySchema, pageOf } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { exportAuditLogs, listAuditLogs } from "../use-cases/read-audit-logs.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const AUDIT = { auth: ["api_key"] as const, scope: "audit_logs" as const };
const FILTERS =
  "Filters (all optional, all given must match): actor, action, resource_type, resource_id, user_id (the record's " +
  "data.user_id or the actor user:<id>), from (inclusive) and to (exclusive) as ISO 8601 times.";

export const auditLogRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    "/api/v1/audit-logs",
    {
      config: AUDIT,
      schema: {
        tags: ["audit-logs"],
        summary: "The tenant's audit log, newest first, a page at a time",
        description: FILTERS,
        security: API_KEY_SECURITY,
        querystring: listAuditLogsQuerySchema,
        response: { 200: pageOf(auditLogViewSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listAuditLogs(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    "/api/v1/audit-logs/export",
    {
      config: AUDIT,
      schema: {
        tags: ["audit-logs"],
        summary: "Export the tenant's audit log as NDJSON (one record per line), streamed",
        description: `${FILTERS} The range defaults to the last AUDIT_EXPORT_MAX_DAYS days and may not be wider (400).`,
        security: API_KEY_SECURITY,
        querystring: exportAuditLogsQuerySchema,
        produces: ["application/x-ndjson"],
        response: { 200: z.string().describe("NDJSON: one AuditLog object per line"), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const stream = exportAuditLogs(ctx, tenantPrincipal(request), request.query);
      return reply
        .type("application/x-ndjson; charset=utf-8")
        .header("content-disposition", 'attachment; filename="audit-log.ndjson"')
        .send(stream as unknown as string);
    },
  );
};
