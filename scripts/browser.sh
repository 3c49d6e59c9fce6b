#!/usr/bin/env bash
# Debian's Chromium for the browser tests; Playwright drives it by its path (no download).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    echo "browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
echo "browser: $(chromium --version 2>/dev/null)"
