-- Per-tenant overrides of the request rate limits.
ALTER TABLE "tenants" ADD COLUMN "rate_limits" JSONB;
