#!/usr/bin/env bash
# The test command: the same set-up as the run command, against the test database, then lint, typecheck and every
# test. Every step runs even when an earlier check failed, so one report says everything; the exit code is non-zero
# if any step failed. The vitest JSON report lands in reports/vitest.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kronos_test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
mkdir -p reports
exec ./scripts/with-node24.sh bash -c '
  set -uo pipefail
  bash scripts/setup.sh || exit 1
  printf "\n==> Chromium for the browser tests\n"; bash scripts/ensure-chromium.sh || exit 1
  failed=0
  printf "\n==> Lint\n";      pnpm exec biome check . || failed=1
  printf "\n==> Typecheck\n"; pnpm exec turbo run typecheck --output-logs=errors-only || failed=1
  # The cross-service tests (test/: e2e, faults, docs checks) and the benchmark (bench/) belong to no workspace
  # package: checked on their own.
  pnpm exec tsc -p test/tsconfig.json || failed=1
  pnpm exec tsc -p bench/tsconfig.json || failed=1
  printf "\n==> Tests\n";     pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=reports/vitest.json || failed=1
  exit $failed
'
