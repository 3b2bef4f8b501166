#!/usr/bin/env bash
# Runs a command with Node.js 24 and pnpm 10 first on PATH. Uses the machine's own when it is new enough,
# otherwise fetches both from the npm registry (the only network our machines reach).
set -euo pipefail
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 24 ] && command -v pnpm >/dev/null 2>&1; then
  exec "$@"
fi
exec npx -y -p node@24 -p pnpm@10.34.9 -- "$@"
