#!/usr/bin/env bash
# bench:compare and its test run etcd 3.4 side by side: install Debian's etcd-server when missing.
set -euo pipefail
if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || [ -n "${ETCD_BIN:-}" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing etcd-server (apt) for the side-by-side benchmark" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
  exit 0
fi
echo "the side-by-side benchmark needs etcd: apt-get install -y etcd-server etcd-client (or set ETCD_BIN)" >&2
exit 1
