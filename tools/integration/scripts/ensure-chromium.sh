#!/usr/bin/env bash
# The dashboard test drives Debian's chromium with playwright-core (no browser
# downloads: playwright's own browsers are never installed).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium (apt) for the dashboard test" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "the dashboard test needs: apt-get install -y chromium" >&2
exit 1
