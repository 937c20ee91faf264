#!/usr/bin/env bash
# Installs, from Debian's packages, what the tests need beside Node and that the machine lacks:
# Chromium (the dashboard's browser test), gRPC and Redis for Debian's own Python (/usr/bin/python3, the
# Python peers; a python3 earlier on PATH may be another one) and promtool (Prometheus's checker).
# Quiet when everything is there; apt-get's output is shown only when an install fails.
set -euo pipefail

python=/usr/bin/python3
pyhas() { [ -x "$python" ] && "$python" -c "import $1" >/dev/null 2>&1; }
check() {
  missing=()        # installed with what they recommend (Chromium's fonts and GL)
  missing_bare=()   # installed without (Prometheus recommends the node exporter)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  pyhas grpc || missing_bare+=(python3-grpcio)
  pyhas grpc_tools || missing_bare+=(python3-grpc-tools)
  pyhas google.protobuf || missing_bare+=(python3-protobuf)
  pyhas redis || missing_bare+=(python3-redis)
  [ -x /usr/bin/promtool ] || missing_bare+=(prometheus)
  all=$(echo "${missing[*]} ${missing_bare[*]}" | xargs)
}

check
[ -z "$all" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "the tests need Debian's packages $all: install them as root with apt-get install $all" >&2
  exit 1
fi

echo "installing what the tests need: $all" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
install() {
  if [ ${#missing[@]} -gt 0 ]; then apt-get install -y -q "${missing[@]}" >>"$log" 2>&1 || return 1; fi
  if [ ${#missing_bare[@]} -gt 0 ]; then apt-get install -y -q --no-install-recommends "${missing_bare[@]}" >>"$log" 2>&1 || return 1; fi
}
# A machine that never read the package lists (or read them long ago) needs apt-get update first.
install || { apt-get update -q >>"$log" 2>&1 && install; } || true
check
if [ -n "$all" ]; then
  cat "$log" >&2
  echo "still missing after apt-get install: $all" >&2
  exit 1
fi
