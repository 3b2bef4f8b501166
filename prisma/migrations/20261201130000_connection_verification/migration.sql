-- The user verifier (docs/security.md, "Who completes a sign-in"): a tenant's verification URL, where each
-- connection's confirmation stands, and the one-time codes (stored as SHA-256 only).

-- CreateEnum
CREATE TYPE "ConnectionVerification" AS ENUM ('AWAITING_SIGN_IN', 'AWAITING_CONFIRMATION', 'CONFIRMED', 'REFUSED');

-- AlterTable
ALTER TABLE "tenants" ADD COLUMN "verification_url" TEXT;

-- AlterTable
ALTER TABLE "connections" ADD COLUMN "verification" "ConnectionVerification";

-- CreateTable
CREATE TABLE "connection_verification_codes" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "used_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "connection_verification_codes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "connection_verification_codes_code_hash_key" ON "connection_verification_codes"("code_hash");

-- CreateIndex
CREATE INDEX "connection_verification_codes_connection_id_idx" ON "connection_verification_codes"("connection_id");

-- AddForeignKey
ALTER TABLE "connection_verification_codes" ADD CONSTRAINT "connection_verification_codes_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;
