-- AlterTable
ALTER TABLE "webhook_events" ADD COLUMN     "claimed_at" TIMESTAMP(3),
ADD COLUMN     "claimed_by" TEXT;

-- CreateTable
CREATE TABLE "accepted_jobs" (
    "key_prefix" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "tenant_id" UUID,
    "data" JSONB NOT NULL,
    "opts" JSONB NOT NULL DEFAULT '{}',
    "children" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),
    "redrive_count" INTEGER NOT NULL DEFAULT 0,
    "redriven_at" TIMESTAMP(3),

    CONSTRAINT "accepted_jobs_pkey" PRIMARY KEY ("key_prefix","queue","job_id")
);

-- CreateIndex
CREATE INDEX "accepted_jobs_key_prefix_finished_at_created_at_idx" ON "accepted_jobs"("key_prefix", "finished_at", "created_at");

