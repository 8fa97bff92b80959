#!/usr/bin/env bash
# Browser tests drive Debian's chromium with playwright-core (never a
# downloaded browser): install it when missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium (apt) for the browser tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "the browser tests need Debian's chromium: apt-get install -y chromium" >&2
exit 1
