#!/usr/bin/env bash
# The Docker image test (test/deploy): Docker (through setup-docker.sh, which is idempotent and would
# otherwise run after this file) and the local Node base image that the Dockerfile is built from, since
# no image registry is reachable in CI. The base is made once; later runs find it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup-docker.sh
scripts/build-node-base.sh microscaler/node-base:local
