#!/usr/bin/env bash
# Builds the images Berth's integration tests run, from this machine alone: no
# registry is needed or used. Each image is `FROM scratch` plus the host's own
# node binary and the shared libraries it links, plus a small server script, so
# a build takes seconds and works offline.
#
# Images are tagged by the sha256 of exactly what goes into them (first 12 hex
# digits), so an unchanged input is never rebuilt; `:latest` follows the last
# build. Progress goes to stderr; stdout gets one NAME=TAG line per image, so
# callers can `eval "$(scripts/build-test-images.sh)"`:
#
#   BERTH_TEST_HTTP_IMAGE=berth-test-http:<hash>
#   BERTH_TEST_GRPC_IMAGE=berth-test-grpc:<hash>
#
# Safe to run concurrently (test files run in parallel): builds are serialised
# by a lock file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images_dir="$root/test/images"

log() { printf '%s\n' "$*" >&2; }
die() { log "build-test-images: $*"; exit 1; }

command -v docker >/dev/null || die "the docker CLI is not installed"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the docker engine does not answer"

node_bin="$(readlink -f "$(command -v node)")" || die "node is not on PATH"
esbuild="$root/node_modules/.bin/esbuild"
[ -x "$esbuild" ] || esbuild="$root/node_modules/esbuild/bin/esbuild"
[ -x "$esbuild" ] || die "esbuild not found under $root/node_modules (run npm ci)"

lock="${TMPDIR:-/tmp}/berth-test-images.lock"
exec 9>"$lock"
flock 9

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-test-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The runtime layer shared by every image: node, its libraries at the paths
# the dynamic loader expects, an unprivileged user and a writable /tmp.
runtime="$work/runtime"
mkdir -p "$runtime/usr/local/bin" "$runtime/etc" "$runtime/tmp"
chmod 1777 "$runtime/tmp"
cp "$node_bin" "$runtime/usr/local/bin/node"
chmod 0755 "$runtime/usr/local/bin/node"
while read -r lib; do
  [ -n "$lib" ] || continue
  [ -e "$lib" ] || die "node links $lib, which does not exist"
  mkdir -p "$runtime$(dirname "$lib")"
  cp -L "$lib" "$runtime$lib"
done < <(ldd "$node_bin" | awk '
  /=> not found/ { print "missing:" $1; next }
  /=>/ { if ($3 ~ /^\//) print $3; next }
  $1 ~ /^\// { print $1 }')
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$runtime/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$runtime/etc/group"

# Prints a content hash of a build context: every path, its mode and its bytes.
context_hash() {
  (
    cd "$1"
    find . -mindepth 1 -printf '%y %m %p\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -c1-12
}

# build_image NAME VAR CONTEXT: builds CONTEXT as NAME:<hash> unless it exists,
# points NAME:latest at it and prints VAR=NAME:<hash>.
build_image() {
  local name="$1" var="$2" context="$3" tag
  tag="$name:$(context_hash "$context")"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag is up to date"
  else
    log "building $tag"
    # The classic builder: enough for COPY-only images, and needs no buildx.
    # Its deprecation notice is noise here, so its output shows only on failure.
    if ! DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$context" >"$work/build.log" 2>&1; then
      cat "$work/build.log" >&2
      die "docker build of $tag failed"
    fi
  fi
  docker tag "$tag" "$name:latest"
  log "$name: $tag (also $name:latest)"
  printf '%s=%s\n' "$var" "$tag"
}

# new_context DIR: a build context whose first layer is the shared runtime.
new_context() {
  mkdir -p "$1/app"
  cp -al "$runtime" "$1/runtime"
}

# berth-test-http: the plain HTTP server, no dependencies.
http="$work/http"
new_context "$http"
cp "$images_dir/http-server/server.js" "$http/app/server.js"
cat >"$http/Dockerfile" <<'EOF'
FROM scratch
COPY runtime/ /
COPY app/ /app/
USER 65534:65534
ENV HOME=/tmp PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/node", "/app/server.js"]
EOF
build_image berth-test-http BERTH_TEST_HTTP_IMAGE "$http"

# berth-test-grpc: the gRPC server bundled into one file with its dependencies.
grpc="$work/grpc"
new_context "$grpc"
# From the repository root: the bundle's path comments, and so its hash, must
# not depend on where the script was started.
(cd "$root" && "$esbuild" test/images/grpc-server/server.js --bundle --platform=node --target=node20 \
  --log-level=warning --outfile="$grpc/app/server.js")
cp "$images_dir/grpc-server/echo.proto" "$grpc/app/echo.proto"
# grpc-health-check loads its .proto from `${__dirname}/../../proto` at startup;
# with the bundle in /app that resolves to /proto.
mkdir -p "$grpc/app-proto/health/v1"
cp "$root/node_modules/grpc-health-check/proto/health/v1/health.proto" "$grpc/app-proto/health/v1/"
cat >"$grpc/Dockerfile" <<'EOF'
FROM scratch
COPY runtime/ /
COPY app/ /app/
COPY app-proto/ /proto/
USER 65534:65534
ENV HOME=/tmp PORT=50051
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/node", "/app/server.js"]
EOF
build_image berth-test-grpc BERTH_TEST_GRPC_IMAGE "$grpc"
