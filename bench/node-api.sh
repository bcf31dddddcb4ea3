#!/usr/bin/env bash
# Runs the node-API benchmark (bench/node-api.ts) without npm. Installs Debian's
# wrk, nginx-light and nghttp2-client (h2load, for the gRPC rows) first when they
# are missing; the flags are passed on:
#
#   bench/node-api.sh --duration 10 --connections 16
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
[ -x /usr/bin/wrk ] || missing+=(wrk)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/h2load ] || missing+=(nghttp2-client)
[ -x /usr/bin/taskset ] || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

tsx="$root/node_modules/.bin/tsx"
[ -x "$tsx" ] || { echo "node-api.sh: $tsx is missing: run npm ci first" >&2; exit 1; }

cd "$root"
exec "$tsx" bench/node-api.ts "$@"
