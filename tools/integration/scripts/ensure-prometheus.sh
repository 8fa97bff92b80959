#!/usr/bin/env bash
# The metrics test scrapes a cluster with a real Prometheus (Debian's package;
# its own service is not started: the test runs its own on 127.0.0.1).
set -euo pipefail
if command -v prometheus >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing prometheus (apt) for the metrics test" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  exit 0
fi
echo "the metrics test needs: apt-get install -y --no-install-recommends prometheus" >&2
exit 1
