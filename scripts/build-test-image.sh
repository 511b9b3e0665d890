#!/usr/bin/env bash
# Builds the small local image that the docker demo, tests and benchmark use, with no registry:
# `docker import` of a root filesystem holding busybox-static (apt-get install busybox-static).
# Usage: scripts/build-test-image.sh [IMAGE]   (default microscaler/busybox:test; --force rebuilds)
set -euo pipefail
force=false
image=microscaler/busybox:test
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    *) image=$arg ;;
  esac
done
if ! $force && docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image is already built"
  exit 0
fi
# Only a static busybox runs in an empty root filesystem: its ELF program headers have no PT_INTERP (3).
is_static() {
  node -e '
    const b = require("fs").readFileSync(process.argv[1]);
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) process.exit(1);
    const phoff = Number(b.readBigUInt64LE(32)), size = b.readUInt16LE(54), count = b.readUInt16LE(56);
    for (let i = 0; i < count; i++) if (b.readUInt32LE(phoff + i * size) === 3) process.exit(1);
  ' "$1"
}
busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [ -x "$candidate" ] && is_static "$candidate"; then
    busybox=$candidate
    break
  fi
done
if [ -z "$busybox" ]; then
  echo "no statically linked busybox found: apt-get install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
tar -C "$root" -c . | docker import \
  -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
  -m 'busybox-static root filesystem for microscaler tests' - "$image" >/dev/null
echo "built $image"
