#!/usr/bin/env bash
# dev.sh — the quick start (`make dev`): a private slapd in a temp dir on
# 127.0.0.1, seeded with dc=example,dc=org, ou=people and ou=groups, and
# `scim2ldap serve` in front of it with mappings.example.yaml and a fresh token,
# bound as the directory's least-privilege service account (docs/directory.md).
# When the gateway is ready it prints `export` lines to paste into another shell
# (SCIM, TOKEN, the directory's URL and accounts): README's first session uses them.
# Ctrl-C stops both and removes the temp dir. The system's slapd is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "make dev: $*" >&2; }
t0=$SECONDS
say "checking for slapd, ldap-utils and openssl (installed from Debian's packages if missing)..."
bash scripts/deps.sh
PATH=$PATH:/usr/sbin

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { local p=$1; while ! port_free "$p"; do p=$((p+1)); done; echo "$p"; }
LDAP_PORT=$(pick_port "${DEV_LDAP_PORT:-3389}")
LDAPS_PORT=$(pick_port $((LDAP_PORT+247)))
HTTP_ADDR=${SCIM2LDAP_LISTEN_ADDR:-127.0.0.1:$(pick_port 8080)}

DIR=$(mktemp -d /tmp/scim2ldap-dev.XXXXXX)
cleanup() { bash scripts/slapd-down.sh "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
say "starting a private slapd on 127.0.0.1:$LDAP_PORT in $DIR..."
bash scripts/slapd-up.sh "$DIR" "$LDAP_PORT" "$LDAPS_PORT" >/dev/null
# shellcheck disable=SC1091
source "$DIR/env"

mkdir -p bin
say "downloading Go modules (only what the module cache lacks)..."
go mod download
say "building bin/scim2ldap (a cold build compiles every dependency: a minute or two on 2 cores)..."
tb=$SECONDS
go build -o bin/scim2ldap ./cmd/scim2ldap
say "built in $((SECONDS - tb)) s"
TOKEN=$(openssl rand -hex 24)
SCIM="http://$HTTP_ADDR/scim/v2"

say "starting the gateway on $HTTP_ADDR..."
SCIM2LDAP_LISTEN_ADDR=$HTTP_ADDR \
SCIM2LDAP_MAPPING_FILE=mappings.example.yaml \
SCIM2LDAP_LDAP_URL=$LDAP_URL \
SCIM2LDAP_LDAP_BIND_DN=$LDAP_BIND_DN \
SCIM2LDAP_LDAP_BIND_PASSWORD=$LDAP_BIND_PW \
SCIM2LDAP_BEARER_TOKENS=$TOKEN \
  bin/scim2ldap serve &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; exit 130' INT TERM
for i in $(seq 1 100); do
  bin/scim2ldap healthcheck "http://$HTTP_ADDR/readyz" >/dev/null 2>&1 && break
  kill -0 $GW 2>/dev/null || { wait $GW; exit 1; }
  [ "$i" = 100 ] && { say "the gateway did not become ready in 10 s (its log is above)"; exit 1; }
  sleep 0.1
done
say "ready in $((SECONDS - t0)) s"
cat <<MSG

  scim2ldap is running against a private slapd ($LDAP_URL, base $LDAP_BASE), bound as
  the service account $LDAP_BIND_DN (docs/directory.md).
  Paste these lines into another shell, then try README's "A first session":

export SCIM=$SCIM
export TOKEN=$TOKEN
export LDAP_URL=$LDAP_URL LDAP_BASE=$LDAP_BASE
export LDAP_ROOT_DN=$LDAP_ROOT_DN LDAP_ROOT_PW=$LDAP_ROOT_PW

  Look at the directory: ldapsearch -x -H \$LDAP_URL -D \$LDAP_ROOT_DN -w \$LDAP_ROOT_PW -b ou=people,\$LDAP_BASE
  Ctrl-C stops the gateway and slapd and removes $DIR.

MSG
wait $GW
