#!/usr/bin/env bash
# samba-ad-down.sh DIR [--keep] — stop the samba that samba-ad-up.sh DIR started
# (SIGTERM to the root process in DIR/run/samba.pid; its children exit with it), wait
# until port 389 is free, and remove DIR unless --keep is given.
set -euo pipefail
DIR=${1:?usage: samba-ad-down.sh DIR [--keep]}
PIDF="$DIR/run/samba.pid"
if [ -f "$PIDF" ]; then
  PID=$(cat "$PIDF")
  # Only our own samba: the pid from DIR's pid file must still be a samba process
  # (samba renames its command line to "samba: root process", so check the binary).
  if kill -0 "$PID" 2>/dev/null && [ "$(basename "$(readlink "/proc/$PID/exe" 2>/dev/null)")" = samba ]; then
    kill "$PID"
    for i in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && { echo "samba $PID ignored SIGTERM; sending SIGKILL" >&2; kill -9 "$PID"; }
  fi
fi
if command -v ss >/dev/null 2>&1; then
  for i in $(seq 1 100); do
    ss -ltn | awk '{print $4}' | grep -Eq '^127\.0\.0\.1:389$' || break; sleep 0.1
  done
fi
[ "${2:-}" = "--keep" ] || rm -rf "$DIR"
