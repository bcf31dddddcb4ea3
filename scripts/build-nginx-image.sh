#!/usr/bin/env bash
# Builds berth-test-nginx, a stock image for Berth's tests: Debian's own nginx
# package (nginx-light) on a minimal Debian root made with debootstrap, started
# as root with the package's configuration. The one change is the listen port
# of the default site (80 → 8080), so that the image reads like any image off
# a registry that starts as root and lets nginx drop to www-data.
#
# No registry is needed: packages come from Debian's mirror and are cached in
# the same place scripts/build-system-image.sh keeps them. Tagged by the hash
# of its inputs, so an unchanged image is not built again; builds are
# serialised by a lock file.
#
#   scripts/build-nginx-image.sh      # prints BERTH_TEST_NGINX_IMAGE=berth-test-nginx:<hash>
set -euo pipefail

SUITE=${BERTH_SYSTEM_SUITE:-bookworm}
MIRROR=${BERTH_SYSTEM_MIRROR:-http://deb.debian.org/debian}
PACKAGES=nginx-light
CACHE=${BERTH_SYSTEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debs}

hash=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$(cat "$0")" | sha256sum | cut -c1-12)
tag="berth-test-nginx:$hash"

exec 9>"${TMPDIR:-/tmp}/berth-nginx-image.lock"
flock 9

if ! docker image inspect "$tag" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
  root=$(mktemp -d "${TMPDIR:-/tmp}/berth-nginx-root.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "building $tag with debootstrap ($SUITE from $MIRROR)…" >&2
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --cache-dir="$CACHE" --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >&2
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  # The only change to the package's configuration: the default site listens on 8080.
  site="$root/etc/nginx/sites-available/default"
  grep -q 'listen 80 default_server' "$site" || { echo "$site has no 'listen 80 default_server'" >&2; exit 1; }
  sed -i -e 's/listen 80 default_server/listen 8080 default_server/' -e 's/listen \[::\]:80 default_server/listen [::]:8080 default_server/' "$site"
  tar -C "$root" -c . | docker import --change 'EXPOSE 8080' --change 'CMD ["nginx","-g","daemon off;"]' - "$tag" >&2
fi
docker tag "$tag" berth-test-nginx:latest
echo "BERTH_TEST_NGINX_IMAGE=$tag"
