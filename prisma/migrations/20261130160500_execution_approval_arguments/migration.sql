-- The arguments an approval request showed (secret values redacted), for approvers reading the execution.
ALTER TABLE "executions" ADD COLUMN "approval_arguments" JSONB;
