-- The audit log's reads (a tenant's records newest first) and its retention sweep (oldest first).
CREATE INDEX "audit_logs_tenant_id_id_idx" ON "audit_logs"("tenant_id", "id");
CREATE INDEX "audit_logs_created_at_idx" ON "audit_logs"("created_at");
