-- AlterEnum: the execution lifecycle (packages/shared EXECUTION_STATUSES). IF NOT EXISTS: another change may add
-- OUTCOME_UNKNOWN too.
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'AWAITING_AUTH';
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'AWAITING_APPROVAL';
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'DENIED';
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'EXPIRED';
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'CANCELLED';
ALTER TYPE "ExecutionStatus" ADD VALUE IF NOT EXISTS 'OUTCOME_UNKNOWN';

-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "approval_rules" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "arguments_hash" TEXT,
ADD COLUMN     "decided_at" TIMESTAMP(3),
ADD COLUMN     "decided_by" TEXT,
ADD COLUMN     "parked_until" TIMESTAMP(3),
ADD COLUMN     "requested_by" TEXT;

-- CreateTable
CREATE TABLE "tool_policies" (
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL DEFAULT '',
    "document" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "updated_by" TEXT NOT NULL,

    CONSTRAINT "tool_policies_pkey" PRIMARY KEY ("tenant_id","user_id")
);

-- CreateIndex
CREATE INDEX "executions_connection_id_status_idx" ON "executions"("connection_id", "status");

-- CreateIndex
CREATE INDEX "executions_status_parked_until_idx" ON "executions"("status", "parked_until");

-- AddForeignKey
ALTER TABLE "tool_policies" ADD CONSTRAINT "tool_policies_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
