#!/usr/bin/env bash
# The browser tests (the dashboard's, the newsroom's) drive Debian's chromium
# with playwright-core (no browser downloads: playwright's own browsers are
# never installed).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium (apt) for the browser tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "the browser tests (dashboard, newsroom) need: apt-get install -y chromium" >&2
exit 1
