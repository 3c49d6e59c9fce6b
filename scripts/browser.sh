#!/usr/bin/env bash
# Debian's Chromium for the browser tests; Playwright drives it by its path (no download).
# NSS's certutil: a test's browser trusts the deployment's own CA the way a user's would,
# from its certificate database.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
if [ ${#missing[@]} -gt 0 ]; then
    echo "browser: installing Debian's ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "browser: $(chromium --version 2>/dev/null)"
