-- API keys with a lifecycle: a name, scopes (existing keys keep full access: "*"), last use, and the end of a
-- rotation's overlap.
ALTER TABLE "api_keys" ADD COLUMN "name" TEXT NOT NULL DEFAULT '',
ADD COLUMN "scopes" TEXT[] DEFAULT ARRAY['*']::TEXT[],
ADD COLUMN "last_used_at" TIMESTAMP(3),
ADD COLUMN "expires_at" TIMESTAMP(3);
