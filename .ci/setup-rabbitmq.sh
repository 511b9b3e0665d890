#!/usr/bin/env bash
# The rabbitmq source's management mode (ready + unacknowledged, publish rate) is tested against the real
# management API: enable the plugin on the running broker if it is not yet (about 8 s, once).
set -euo pipefail
if ! command -v rabbitmq-plugins >/dev/null 2>&1; then
  echo "rabbitmq-plugins not found; RabbitMQ runs elsewhere, skipping"
  exit 0
fi
if rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
  echo "rabbitmq_management already enabled"
  exit 0
fi
rabbitmq-plugins enable rabbitmq_management
for _ in $(seq 1 60); do
  if (echo > /dev/tcp/127.0.0.1/15672) 2>/dev/null; then echo "management API up on 15672"; exit 0; fi
  sleep 0.5
done
echo "management API did not come up on 15672" >&2
exit 1
