#!/usr/bin/env bash
# Debian's Chromium for the browser tests (test/browser), driven by playwright-core. Idempotent: does
# nothing when /usr/bin/chromium is there. Never downloads a browser any other way.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run (unattended upgrades, a parallel setup script) rather than fail on its lock.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium
test -x /usr/bin/chromium
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
