#!/usr/bin/env bash
# Builds microscaler/node-base:local, a Node 20 base image for the Dockerfile, with no registry:
# a root filesystem holding this machine's own node and npm (Debian bookworm, Node 20), the shared
# libraries node links against, a static busybox for /bin/sh, CA certificates and a `node` user
# (uid 1000), then `docker import`. Faster than debootstrap and needs no mirror; users build from the
# official node image instead (the Dockerfile's default BASE).
# Usage: scripts/build-node-base.sh [IMAGE]   (default microscaler/node-base:local; --force rebuilds)
set -euo pipefail
force=false
image=microscaler/node-base:local
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
node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then busybox=$candidate; break; fi
done
[ -n "$busybox" ] || { echo "no statically linked busybox: apt-get install busybox-static" >&2; exit 1; }
case "$("$node" --version)" in v20.*) ;; *) echo "node 20 expected, found $("$node" --version)" >&2; exit 1 ;; esac

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc/ssl,tmp,home/node,proc,sys,dev}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$node" "$root/usr/local/bin/node"
ln -s /bin/busybox "$root/usr/bin/env" # npm's shebang
# The loader and every library node needs, at the paths ldd resolves them to.
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp -rL /etc/ssl/certs "$root/etc/ssl/certs"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
chown 1000:1000 "$root/home/node"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/bin' -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' -m 'node 20 from the host, for microscaler CI' - "$image" >/dev/null
echo "built $image"
