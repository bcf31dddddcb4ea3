#!/usr/bin/env bash
# Builds berth-python, the standard system image of checkpoint instances under
# the docker runtime: a minimal Debian root with python3 and the common
# data-science stack (numpy, pandas, scikit-learn, scipy), made with debootstrap
# from Debian's packages (no container registry needed) and imported into the
# local engine. Tagged by the hash of its inputs, so an unchanged image is not
# built again; `berth-python:latest` points at the newest.
#
# Where a registry is reachable, images/python/Dockerfile builds the same role
# from python:3.11-slim instead.
#
#   scripts/build-system-image.sh      # prints BERTH_SYSTEM_IMAGE=berth-python:<hash>
set -euo pipefail

SUITE=${BERTH_SYSTEM_SUITE:-bookworm}
MIRROR=${BERTH_SYSTEM_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,ca-certificates,python3-numpy,python3-pandas,python3-sklearn,python3-scipy
# Downloaded packages are kept here, so that a rebuild does not fetch them again.
CACHE=${BERTH_SYSTEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debs}

hash=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$(cat "$0")" | sha256sum | cut -c1-12)
tag="berth-python:$hash"

exec 9>/tmp/berth-system-image.lock
flock 9

if ! docker image inspect "$tag" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
  root=$(mktemp -d /tmp/berth-python-root.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "building $tag with debootstrap ($SUITE from $MIRROR)…" >&2
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --cache-dir="$CACHE" --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >&2
  # Smaller and reproducible enough: no apt lists, docs or caches in the image.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  # Instances run unprivileged.
  grep -q '^berth:' "$root/etc/passwd" || echo 'berth:x:10001:10001:berth:/tmp:/usr/sbin/nologin' >>"$root/etc/passwd"
  grep -q '^berth:' "$root/etc/group" || echo 'berth:x:10001:' >>"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8' \
    --change 'USER 10001:10001' \
    --change 'WORKDIR /tmp' \
    --change 'CMD ["python3"]' \
    - "$tag" >&2
fi
docker tag "$tag" berth-python:latest
docker run --rm --network none "$tag" python3 -c 'import sys, numpy, pandas, sklearn, scipy; assert sys.version_info >= (3, 8)' >&2
echo "BERTH_SYSTEM_IMAGE=$tag"
