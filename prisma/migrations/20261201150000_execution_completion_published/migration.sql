-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "completion_published_at" TIMESTAMP(3);

-- Executions already final had their event published when they ended.
UPDATE "executions" SET "completion_published_at" = COALESCE("completed_at", CURRENT_TIMESTAMP)
WHERE "status" NOT IN ('QUEUED', 'RUNNING', 'AWAITING_APPROVAL', 'AWAITING_AUTH');
