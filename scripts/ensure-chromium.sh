#!/usr/bin/env bash
# The console's browser tests drive the system's Chromium (playwright-core never downloads a browser here). Installs
# Debian's chromium package where it is missing and we may (root with apt-get); otherwise says what to do.
set -euo pipefail
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the console's browser tests (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "warning: no Chromium at $CHROMIUM_PATH: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH; the console's browser tests will fail" >&2
