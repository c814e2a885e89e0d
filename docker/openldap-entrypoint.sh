#!/usr/bin/env bash
# First start: build the instance with slapd-up.sh (which listens on loopback), stop it
# keeping the data; every start: run slapd in the foreground on all interfaces.
set -euo pipefail
DIR=/var/lib/ldapdemo/instance
export PATH=$PATH:/usr/sbin
if [ ! -d "$DIR/slapd.d" ]; then
  bash /opt/slapd/slapd-up.sh "$DIR" 1389 1636 >/dev/null
  bash /opt/slapd/slapd-down.sh "$DIR" --keep
fi
exec slapd -d 0 -F "$DIR/slapd.d" -h "ldap://0.0.0.0:1389/ ldapi://$(printf '%s' "$DIR/ldapi" | sed 's,/,%2F,g')"
