#!/usr/bin/env bash
# ds389-down.sh DIR [--keep] — stop the ns-slapd that ds389-up.sh DIR started (SIGTERM to
# the pid in its pid file, SIGKILL after 10 s) and remove DIR unless --keep is given.
set -euo pipefail
DIR=${1:?usage: ds389-down.sh DIR [--keep]}
PIDF="$DIR/root/run/dirsrv/slapd-scim.pid"
if [ -f "$PIDF" ]; then
  PID=$(cat "$PIDF")
  # Only our own server: the pid must still be an ns-slapd.
  if kill -0 "$PID" 2>/dev/null && [ "$(basename "$(readlink "/proc/$PID/exe" 2>/dev/null)")" = ns-slapd ]; then
    kill "$PID"
    for i in $(seq 1 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$PID" 2>/dev/null && { echo "ns-slapd $PID ignored SIGTERM; sending SIGKILL" >&2; kill -9 "$PID"; }
  fi
fi
[ "${2:-}" = "--keep" ] || rm -rf "$DIR"
