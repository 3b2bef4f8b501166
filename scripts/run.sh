#!/usr/bin/env bash
# The run command: set up everything, then start the gateway (:8000), the webhooks service (:8001) and the
# workers. Without COMPOSIO_API_KEY it also starts the Composio emulator (:8010) and points the services at it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./scripts/with-node24.sh bash -c 'bash scripts/setup.sh && exec node scripts/start-all.mjs'
