#!/usr/bin/env bash
# samba-ad-down.sh DIR [--keep] — stop the samba that samba-ad-up.sh DIR started
# (SIGTERM to the root process in DIR/run/samba.pid; its children exit with it), wait
# until port 389 is free, and remove DIR unless --keep is given.
set -euo pipefail
DIR=${1:?usage: samba-ad-down.sh DIR [--keep]}
PIDF="$DIR/run/samba.pid"
if [ -f "$PIDF" ]; then
  PID=$(cat "$PIDF")
  # Only our own samba: the pid must still be a samba process started with DIR's smb.conf.
  if kill -0 "$PID" 2>/dev/null && tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q "^samba .*$DIR/etc/smb.conf"; then
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
