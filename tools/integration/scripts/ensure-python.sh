#!/usr/bin/env bash
# The cross-language test needs Debian's grpcio and grpc-tools for /usr/bin/python3.
set -euo pipefail
if /usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing python3-grpcio python3-grpc-tools (apt) for the cross-language test" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpcio python3-grpc-tools >/dev/null
  exit 0
fi
echo "the cross-language test needs: apt-get install -y python3-grpcio python3-grpc-tools" >&2
exit 1
