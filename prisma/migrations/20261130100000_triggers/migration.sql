-- CreateEnum
CREATE TYPE "TriggerStatus" AS ENUM ('PENDING', 'ACTIVE', 'DISABLED', 'FAILED');

-- CreateTable
CREATE TABLE "triggers" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "connection_id" UUID,
    "toolkit_slug" TEXT NOT NULL,
    "trigger_slug" TEXT NOT NULL,
    "composio_trigger_id" TEXT,
    "config" JSONB NOT NULL DEFAULT '{}',
    "labels" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "status" "TriggerStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "triggers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "triggers_composio_trigger_id_key" ON "triggers"("composio_trigger_id");

-- CreateIndex
CREATE INDEX "triggers_tenant_id_user_id_created_at_idx" ON "triggers"("tenant_id", "user_id", "created_at");

-- CreateIndex
CREATE INDEX "triggers_connection_id_idx" ON "triggers"("connection_id");

-- CreateIndex
CREATE INDEX "triggers_labels_idx" ON "triggers" USING GIN ("labels");

-- AddForeignKey
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;

