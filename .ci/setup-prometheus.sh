#!/usr/bin/env bash
# Prometheus for the prometheus source's tests (src/sources/prometheus.test.ts). The tests start their own
# server on a free port with a temporary config and storage, so Debian's service (if any) is not needed.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  echo "prometheus present: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus
# The package starts a service on 9090 where an init system runs; the tests do not use it.
prometheus --version 2>&1 | head -1
