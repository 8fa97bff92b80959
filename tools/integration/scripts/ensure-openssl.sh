#!/usr/bin/env bash
# The TLS tests (and `pnpm start -- --tls`) make throwaway certificates with openssl.
set -euo pipefail
if command -v openssl >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing openssl (apt) for the TLS tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  exit 0
fi
echo "the TLS tests need: apt-get install -y openssl" >&2
exit 1
