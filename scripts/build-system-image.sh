#!/usr/bin/env bash
# Builds berth-python, the standard system image of checkpoint instances under
# the docker runtime: a minimal Debian root with python3 and the common
# data-science stack (numpy, pandas, scikit-learn, scipy), made with debootstrap
# from Debian's packages (no container registry needed) and imported into the
# local engine. Without debootstrap, images/python/Dockerfile builds the same
# role from python:3.11-slim (that needs a registry).
#
#   scripts/build-system-image.sh               # prints BERTH_SYSTEM_IMAGE=berth-python:<hash>
#   scripts/build-system-image.sh --tag IMAGE   # builds IMAGE anew, prints BERTH_SYSTEM_IMAGE=IMAGE
#
# Without arguments the image is tagged by the hash of its inputs, so an
# unchanged image is not built again; `berth-python:latest` points at the
# newest. With --tag (how Berth builds its configured system image when it is
# missing) the image is built anew unless IMAGE exists by the time the build
# lock is held (another process just built it).
#
# The root file system debootstrap makes is kept (one, the newest, next to the
# package cache), so that building the image again after it was removed only
# imports it; --no-cache makes it anew.
#
# Progress goes to stderr; lines `[n/5] …` mark the stages.
set -euo pipefail

SUITE=${BERTH_SYSTEM_SUITE:-bookworm}
MIRROR=${BERTH_SYSTEM_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,ca-certificates,python3-numpy,python3-pandas,python3-sklearn,python3-scipy
# One build at a time on this host, whoever asks, under this lock.
LOCK=${BERTH_SYSTEM_IMAGE_LOCK:-/tmp/berth-system-image.lock}
# Downloaded packages are kept here, so that a rebuild does not fetch them again.
CACHE=${BERTH_SYSTEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/debs}
ROOTFS_DIR=${BERTH_SYSTEM_ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/rootfs}
DOCKERFILE_DIR=$(cd "$(dirname "$0")/../images/python" && pwd)

target=
reuse_rootfs=1
while [ $# -gt 0 ]; do
  case $1 in
    --tag) target=${2:?--tag needs an image name}; shift 2 ;;
    --tag=*) target=${1#--tag=}; shift ;;
    --cache-dir) CACHE=${2:?--cache-dir needs a folder}; shift 2 ;;
    --cache-dir=*) CACHE=${1#--cache-dir=}; shift ;;
    --no-cache) reuse_rootfs=0; shift ;;
    *) echo "unknown argument: $1 (usage: $0 [--tag IMAGE] [--cache-dir DIR] [--no-cache])" >&2; exit 2 ;;
  esac
done

hash=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$(cat "$0")" | sha256sum | cut -c1-12)
tag=${target:-berth-python:$hash}
rootfs=$ROOTFS_DIR/rootfs-$hash.tar

exists() { docker image inspect "$1" >/dev/null 2>&1; }

exec 9>"$LOCK"
echo "[1/5] waiting for the build lock $LOCK" >&2
flock 9

import_rootfs() {
  echo "[4/5] importing the root into the Docker engine as $tag" >&2
  docker import \
    --change 'ENV PYTHONUNBUFFERED=1 LANG=C.UTF-8' \
    --change 'USER 10001:10001' \
    --change 'WORKDIR /tmp' \
    --change 'CMD ["python3"]' \
    "$rootfs" "$tag" >&2
}

build_debootstrap() {
  if [ "$reuse_rootfs" = 1 ] && [ -f "$rootfs" ]; then
    echo "[2/5] reusing the root file system made earlier from the same inputs ($rootfs)" >&2
    echo "[3/5] nothing to trim" >&2
    import_rootfs
    return
  fi
  root=$(mktemp -d /tmp/berth-python-root.XXXXXX)
  trap 'rm -rf "$root" "$rootfs.part"' EXIT
  echo "[2/5] downloading and unpacking Debian packages with debootstrap ($SUITE from $MIRROR, cache $CACHE)" >&2
  mkdir -p "$CACHE" "$ROOTFS_DIR"
  debootstrap --variant=minbase --cache-dir="$CACHE" --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >&2
  echo "[3/5] trimming the root (apt lists, docs, locales, C headers and compilers) and adding the berth user" >&2
  # Smaller and reproducible enough: no apt lists, docs or caches in the image.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
  # scipy's packaging pulls in a C/C++ tool chain it needs only to be built; an image without a network compiles nothing.
  rm -rf "$root"/usr/include/* "$root"/usr/lib/gcc "$root"/usr/libexec/gcc
  find "$root"/usr/lib -name '*.a' -type f -delete
  # Instances run unprivileged.
  grep -q '^berth:' "$root/etc/passwd" || echo 'berth:x:10001:10001:berth:/tmp:/usr/sbin/nologin' >>"$root/etc/passwd"
  grep -q '^berth:' "$root/etc/group" || echo 'berth:x:10001:' >>"$root/etc/group"
  # Only the newest root is kept.
  find "$ROOTFS_DIR" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$hash.tar" -delete
  tar -C "$root" -cf "$rootfs.part" .
  mv "$rootfs.part" "$rootfs"
  rm -rf "$root"
  trap - EXIT
  import_rootfs
}

build_dockerfile() {
  why=$1
  echo "[2/5] $why: building $DOCKERFILE_DIR/Dockerfile (needs a registry for python:3.11-slim and PyPI)" >&2
  echo "[3/5] docker build" >&2
  if ! DOCKER_BUILDKIT=1 docker build --progress=plain -t "$tag" "$DOCKERFILE_DIR" >&2; then
    echo "cannot build the system image $tag: $why, and docker build of $DOCKERFILE_DIR/Dockerfile failed (it needs a reachable registry)" >&2
    exit 1
  fi
  echo "[4/5] built $tag" >&2
}

if [ -n "$target" ] && exists "$target"; then
  echo "[4/5] $target was built meanwhile by another process" >&2
elif [ -n "$target" ] || ! exists "$tag"; then
  if [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null; then
    build_debootstrap
  elif command -v debootstrap >/dev/null; then
    build_dockerfile "debootstrap needs root (run Berth as root)"
  else
    build_dockerfile "debootstrap is not installed (apt-get install debootstrap)"
  fi
fi
[ -n "$target" ] || docker tag "$tag" berth-python:latest
echo "[5/5] checking that python3, numpy, pandas, scikit-learn and scipy import" >&2
docker run --rm --network none "$tag" python3 -c 'import sys, numpy, pandas, sklearn, scipy; assert sys.version_info >= (3, 8)' >&2
echo "BERTH_SYSTEM_IMAGE=$tag"
