#!/usr/bin/env bash
# The benchmark of issue 5 (bench/README.md): sets up like the run command, against a database of its own, then runs
# the scenarios, prints the table and writes bench/results.json.
#   ./scripts/bench.sh                 full run (about 15 minutes)
#   ./scripts/bench.sh --quick         short smoke run
#   ./scripts/bench.sh --only P1,P3    some scenarios
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kronos_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if [ "${BENCH_SKIP_SETUP:-0}" = "1" ]; then
  exec ./scripts/with-node24.sh node bench/run.ts "$@"
fi
exec ./scripts/with-node24.sh bash -c 'bash scripts/setup.sh && exec node bench/run.ts "$@"' bench "$@"
