#!/usr/bin/env bash
# deps.sh — install what scim2ldap's quick start and tests need from Debian's
# packages, if missing: slapd and ldap-utils (plus openssl for test certificates, and curl and jq:
# cmd/scim2ldap's mapping init test runs README's first session against a drafted mapping).
# Uses sudo when not root. The packaged default slapd instance is not configured
# (debconf slapd/no_configuration) and never started: we run private instances.
set -euo pipefail
need=()
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need+=(ldap-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing ${need[*]} from Debian's packages..." >&2
echo 'slapd slapd/no_configuration boolean true' | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
