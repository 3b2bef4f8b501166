#!/usr/bin/env bash
# The fault suite of issue 11 (docs/operations.md): starts the system as processes with its own redis-server and a
# TCP proxy in front of Postgres, plays each fault scenario and prints the table. Not part of ./scripts/test.sh.
#   ./scripts/faults.sh                               every scenario (a few minutes)
#   ./scripts/faults.sh --only="bad input,duplicate webhooks"
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kronos_faults}"
if [ "${FAULTS_SKIP_SETUP:-0}" = "1" ]; then
  exec ./scripts/with-node24.sh node test/faults/run.ts "$@"
fi
exec ./scripts/with-node24.sh bash -c 'bash scripts/setup.sh && exec node test/faults/run.ts "$@"' faults "$@"
