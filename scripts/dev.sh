#!/usr/bin/env bash
# dev.sh — the quick start (`make dev`): a private slapd in a temp dir on
# 127.0.0.1, seeded with dc=example,dc=org, ou=people and ou=groups, and
# `scim2ldap serve` in front of it with mappings.example.yaml and a fresh token.
# Ctrl-C stops both and removes the temp dir. The system's slapd is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
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
bash scripts/slapd-up.sh "$DIR" "$LDAP_PORT" "$LDAPS_PORT" >/dev/null
# shellcheck disable=SC1091
source "$DIR/env"

mkdir -p bin
go build -o bin/scim2ldap ./cmd/scim2ldap
TOKEN=$(openssl rand -hex 24)
BASE="http://$HTTP_ADDR/scim/v2"
cat <<MSG

  scim2ldap is running against a private slapd ($LDAP_URL, base $LDAP_BASE).
  SCIM base URL: $BASE
  Bearer token:  $TOKEN
  Directory:     ldapsearch -x -H $LDAP_URL -D '$LDAP_BIND_DN' -w $LDAP_BIND_PW -b ou=people,$LDAP_BASE

  Try:
    curl -s -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/scim+json' \\
      -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.org","name":{"givenName":"Alice","familyName":"Smith"},"emails":[{"type":"work","value":"alice@example.org"}]}' \\
      $BASE/Users
    curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/Users?filter=userName%20eq%20%22ALICE@example.org%22'

  Ctrl-C stops the gateway and slapd and removes $DIR.

MSG
SCIM2LDAP_LISTEN_ADDR=$HTTP_ADDR \
SCIM2LDAP_MAPPING_FILE=mappings.example.yaml \
SCIM2LDAP_LDAP_URL=$LDAP_URL \
SCIM2LDAP_LDAP_BIND_DN=$LDAP_BIND_DN \
SCIM2LDAP_LDAP_BIND_PASSWORD=$LDAP_BIND_PW \
SCIM2LDAP_BEARER_TOKENS=$TOKEN \
  bin/scim2ldap serve &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; exit 130' INT TERM
wait $GW
