-- The secret of a connection's callback URL (docs/security.md, "Who completes a sign-in"): only its SHA-256 is
-- stored. Connections made before have none, and the callback issues them no verification code (sign in again).

-- AlterTable
ALTER TABLE "connections" ADD COLUMN "callback_secret_hash" TEXT;
