#!/usr/bin/env bash
# Docker for the docker and swarm back-ends' tests and benchmark: installs what is missing (docker.io,
# busybox-static, docker-registry), starts dockerd, builds the local test image, starts a registry on
# 127.0.0.1:5000 and initialises a one-node swarm. Idempotent: what is already there is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in docker.io busybox-static docker-registry; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

wait_for() { # what, seconds, command...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$what did not come up within ${seconds}s" >&2
  return 1
}

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (log: /var/log/dockerd.log)"
  setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  wait_for dockerd 60 docker info || { tail -20 /var/log/dockerd.log >&2; exit 1; }
fi

scripts/build-test-image.sh

registry_up() {
  node -e "fetch('http://127.0.0.1:5000/v2/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
}
if ! registry_up; then
  echo "starting a registry on 127.0.0.1:5000 (log: /var/log/microscaler-registry.log)"
  mkdir -p /var/lib/microscaler-registry
  cat >/var/lib/microscaler-registry/config.yml <<'YAML'
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: /var/lib/microscaler-registry/data }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:5000
YAML
  setsid nohup docker-registry serve /var/lib/microscaler-registry/config.yml \
    >/var/log/microscaler-registry.log 2>&1 </dev/null &
  wait_for registry 20 registry_up || { tail -20 /var/log/microscaler-registry.log >&2; exit 1; }
fi

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  echo "initialising a one-node swarm"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
echo "docker ready: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
