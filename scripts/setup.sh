#!/usr/bin/env bash
# Everything a fresh machine needs before the services can start: dependencies, the Prisma client, the database
# and its migrations, the build. Idempotent. Runs under Node 24 (scripts/with-node24.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 TURBO_TELEMETRY_DISABLED=1 # no update checks or telemetry calls
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kronos}"

step() { printf '\n==> %s\n' "$*"; }
step "Installing dependencies"
pnpm install --frozen-lockfile
step "Generating the Prisma client"
pnpm exec prisma generate
step "Creating the database if needed and applying migrations"
node scripts/ensure-database.mjs
pnpm exec prisma migrate deploy
step "Building"
pnpm exec turbo run build --output-logs=errors-only
