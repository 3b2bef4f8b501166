ALTER TABLE "tenants" ADD COLUMN "retry_unknown_outcomes" BOOLEAN NOT NULL DEFAULT false;

ALTER TABLE "executions" ADD COLUMN "composio_called_at" TIMESTAMP(3);
