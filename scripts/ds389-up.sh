#!/usr/bin/env bash
# ds389-up.sh — start a throwaway 389 Directory Server (Debian bookworm's 389-ds-base 2.3)
# in its own directory: suffix dc=example,dc=org, loopback only.
#
# Usage: ds389-up.sh DIR PORT LDAPS_PORT
#   DIR  instance dir (created; must be empty or absent)
# Env:   DS389_TEMPLATE   a created instance to copy (default /var/cache/scim2ldap/ds389-template
#                         as root, ~/.cache/scim2ldap/ds389-template otherwise): copied (~0.3 s)
#                         when present; otherwise one is created with dscreate (~12 s on 2 cores)
#                         and saved there for next time. "none": no template.
#        DS389_WATCH_PID  stop this instance and remove DIR when that process is gone
#
# The instance is a "prefix" install (`dscreate ds-root`, as 389 DS documents for
# non-root instances): everything lives in DIR, systemd and /etc/dirsrv are neither
# needed nor touched. dscreate refuses to make a prefix instance as root, so as root the
# instance is made and run as the package's own user, dirsrv; as another user, that user
# must be in group dirsrv (dscreate reads /etc/dirsrv/config, mode 0750).
#
# Changed from dscreate's defaults (cn=config in dse.ldif, before the first start):
#   - nsslapd-listenhost / nsslapd-securelistenhost 127.0.0.1 (the default is every interface)
#   - the MemberOf, Referential Integrity and USN plugins enabled (all three are off by
#     default): memberOf for SCIM's groups, refint to see it cooperate with the gateway's
#     own reference upkeep, USN for entryusn, which changes on every write (the ETag)
# Entries: ou=people, ou=groups, and the gateway's service account
# cn=scim2ldap,ou=services (ACIs: read and write below the two containers, nothing else);
# passwordCheckSyntax on, passwordMinLength 8 (passwordMinTokenLength 20: the check for
# the user's own names in a password would refuse the Okta test's "…-Okta" for
# test.user@okta.local). Root DN "cn=Directory Manager"; LDAPS with dscreate's
# self-signed CA (DIR/.../ca.crt; the server certificate names DNS:localhost only).
#
# Exit 2: 389 DS cannot run here (not installed, or no usable user). Prints "export"
# lines (also in DIR/env); stop with ds389-down.sh DIR.
set -euo pipefail

DIR=${1:?usage: ds389-up.sh DIR PORT LDAPS_PORT}
PORT=${2:?usage: ds389-up.sh DIR PORT LDAPS_PORT}
SPORT=${3:?usage: ds389-up.sh DIR PORT LDAPS_PORT}
NAME=scim
SUFFIX=dc=example,dc=org
ROOTDN="cn=Directory Manager"
ROOTPW=Directory_Manager_Password1
BINDDN=cn=scim2ldap,ou=services,$SUFFIX
BINDPW=Scim2ldap_Service_Password1
# A template made by another version of create() is made again.
TEMPLATE_VERSION=3
PATH=$PATH:/usr/sbin:/sbin
if [ "$(id -u)" = 0 ]; then
  DEFAULT_TEMPLATE=/var/cache/scim2ldap/ds389-template
else
  DEFAULT_TEMPLATE=${XDG_CACHE_HOME:-$HOME/.cache}/scim2ldap/ds389-template
fi
TEMPLATE=${DS389_TEMPLATE:-$DEFAULT_TEMPLATE}

command -v ns-slapd >/dev/null 2>&1 && command -v dscreate >/dev/null 2>&1 && command -v ldapsearch >/dev/null 2>&1 \
  || { echo "ds389-up.sh: 389 Directory Server is not installed (apt-get install 389-ds-base ldap-utils)" >&2; exit 2; }
if [ "$(id -u)" = 0 ]; then
  id dirsrv >/dev/null 2>&1 || { echo "ds389-up.sh: the 389-ds-base package's user dirsrv is missing" >&2; exit 2; }
  as() { runuser -u dirsrv -- "$@"; }
  OWNER=dirsrv
else
  as() { "$@"; }
  OWNER=$(id -un)
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ -z "$(ls -A "$DIR")" ] || { echo "ds389-up.sh: $DIR is not empty" >&2; exit 1; }
chown "$OWNER" "$DIR"

conf() { echo "$1/root/etc/dirsrv/slapd-$NAME"; }
pidfile() { echo "$1/root/run/dirsrv/slapd-$NAME.pid"; }

# create D: a new instance in the empty dir D (owned by $OWNER), configured and with
# the base entries, stopped.
create() {
  local d=$1
  if [ "$(id -u)" != 0 ] && ! [ -r /etc/dirsrv/config ]; then
    echo "ds389-up.sh: $(id -un) cannot read /etc/dirsrv/config: add it to group dirsrv (usermod -aG dirsrv $(id -un)), or run as root" >&2
    return 2
  fi
  cat > "$d/instance.inf" <<INF
[general]
config_version = 2
full_machine_name = localhost
start = False
strict_host_checking = False

[slapd]
instance_name = $NAME
port = $PORT
secure_port = $SPORT
root_password = $ROOTPW
self_sign_cert = True

[backend-userroot]
suffix = $SUFFIX
create_suffix_entry = True
INF
  chown "$OWNER" "$d/instance.inf"
  # PREFIX is what the wrappers of `dscreate ds-root` set (lib389 reads it).
  as env HOME="$d" PREFIX="$d/root" INSTALL_PREFIX="$d/root" PATH="$d/bin:$PATH" dscreate ds-root "$d/root" "$d/bin" >"$d/create.log" 2>&1 \
    && as env HOME="$d" PREFIX="$d/root" INSTALL_PREFIX="$d/root" PATH="$d/root:$PATH" dscreate from-file "$d/instance.inf" >>"$d/create.log" 2>&1 \
    || { tail -20 "$d/create.log" >&2; return 1; }
  python3 - "$(conf "$d")/dse.ldif" <<'PY'
import re, sys
p = sys.argv[1]
blocks = open(p).read().split("\n\n")
on = {"dn: cn=memberof plugin,cn=plugins,cn=config",
      "dn: cn=referential integrity postoperation,cn=plugins,cn=config",
      "dn: cn=usn,cn=plugins,cn=config"}
for i, b in enumerate(blocks):
    first = b.split("\n", 1)[0].lower()
    if first == "dn: cn=config":
        b += "\nnsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1"
    if first in on:
        b = re.sub(r"(?im)^nsslapd-pluginEnabled: off$", "nsslapd-pluginEnabled: on", b)
    blocks[i] = b
open(p, "w").write("\n\n".join(blocks))
PY
  start "$d"
  # The containers, the gateway's service account and its rights (ACIs on the two
  # containers only), and a password syntax policy that applies to the account's
  # writes (the Directory Manager bypasses it).
  ldapmodify -x -H "ldap://127.0.0.1:$PORT" -D "$ROOTDN" -w "$ROOTPW" >/dev/null <<LDIF
dn: cn=config
changetype: modify
replace: passwordCheckSyntax
passwordCheckSyntax: on
-
replace: passwordMinLength
passwordMinLength: 8
-
replace: passwordMinTokenLength
passwordMinTokenLength: 20

dn: ou=people,$SUFFIX
changetype: add
objectClass: organizationalUnit
ou: people
aci: (targetattr="* || nsAccountLock || nsUniqueId || entryusn || entrydn || createTimestamp || modifyTimestamp")(version 3.0; acl "scim2ldap provisions users"; allow (read, search, compare, write, add, delete) userdn="ldap:///$BINDDN";)

dn: ou=groups,$SUFFIX
changetype: add
objectClass: organizationalUnit
ou: groups
aci: (targetattr="* || nsUniqueId || entryusn || entrydn || createTimestamp || modifyTimestamp")(version 3.0; acl "scim2ldap provisions groups"; allow (read, search, compare, write, add, delete) userdn="ldap:///$BINDDN";)

dn: ou=services,$SUFFIX
changetype: add
objectClass: organizationalUnit
ou: services

dn: $BINDDN
changetype: add
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: scim2ldap
userPassword: $BINDPW
LDIF
  stop "$d"
  echo "$d" > "$d/.template-path"
  echo "$TEMPLATE_VERSION" > "$d/.template-version"
}

# start D / stop D: ns-slapd by the instance's pid file.
start() {
  local d=$1
  as ns-slapd -D "$(conf "$d")" -i "$(pidfile "$d")" >"$d/ns-slapd.out" 2>&1 || { cat "$d/ns-slapd.out" >&2; return 1; }
  for i in $(seq 1 300); do
    ldapsearch -x -LLL -H "ldap://127.0.0.1:$PORT" -D "$ROOTDN" -w "$ROOTPW" -b "$SUFFIX" -s base dn >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "ds389-up.sh: ns-slapd did not come up; see $d/root/var/log/dirsrv/slapd-$NAME/errors" >&2
  tail -20 "$d/root/var/log/dirsrv/slapd-$NAME/errors" >&2
  return 1
}
stop() {
  local pid
  pid=$(cat "$(pidfile "$1")")
  kill "$pid"
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  echo "ds389-up.sh: ns-slapd $pid did not stop" >&2
  return 1
}

t0=$(date +%s.%N)
if [ "$TEMPLATE" != none ] && [ -f "$TEMPLATE/.template-path" ] && [ "$(cat "$TEMPLATE/.template-version" 2>/dev/null)" = "$TEMPLATE_VERSION" ]; then
  cp -a "$TEMPLATE/." "$DIR/"
  OLD=$(cat "$DIR/.template-path")
  # The instance's own paths (config, logs, database) and ports; the Berkeley DB
  # region files are recreated at start (they hold the old path).
  C=$(conf "$DIR")
  sed -i -e "s#$OLD/#$DIR/#g" -e "s/^nsslapd-port: .*/nsslapd-port: $PORT/I" -e "s/^nsslapd-secureport: .*/nsslapd-secureport: $SPORT/I" \
    "$C/dse.ldif" "$C/pkcs11.txt" "$DIR/root/etc/dirsrv/ssca/pkcs11.txt"
  rm -f "$C/dse.ldif.bak" "$C/dse.ldif.startOK" "$DIR/root/var/lib/dirsrv/slapd-$NAME/db/__db."*
  echo "$DIR" > "$DIR/.template-path"
  how="copied template $TEMPLATE"
  start "$DIR"
else
  create "$DIR" || exit $?
  how="created"
  if [ "$TEMPLATE" != none ]; then
    # Saved atomically, so a concurrent or interrupted run never sees half a template;
    # the copy is made from the stopped instance.
    mkdir -p "$(dirname "$TEMPLATE")"
    tmp=$(mktemp -d "$TEMPLATE.tmp.XXXXXX")
    cp -a "$DIR/." "$tmp/"
    chown "$OWNER" "$tmp"
    if [ -d "$TEMPLATE" ] && [ "$(cat "$TEMPLATE/.template-version" 2>/dev/null)" != "$TEMPLATE_VERSION" ]; then
      rm -rf "$TEMPLATE" # made by an older version of this script
    fi
    if mv -T "$tmp" "$TEMPLATE" 2>/dev/null; then how="$how (saved as template $TEMPLATE)"; else rm -rf "$tmp"; fi
  fi
  start "$DIR"
fi
t1=$(date +%s.%N)

if [ -n "${DS389_WATCH_PID:-}" ]; then
  nohup setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
    [ -f "$2" ] && kill "$(cat "$2")" 2>/dev/null; sleep 3; rm -rf "$3"' \
    watchdog "$DS389_WATCH_PID" "$(pidfile "$DIR")" "$DIR" </dev/null >/dev/null 2>&1 &
fi

cat > "$DIR/env" <<ENV
export DS389_DIR=$DIR
export DS389_URL=ldap://127.0.0.1:$PORT
export DS389_LDAPS_URL=ldaps://localhost:$SPORT
export DS389_BASE=$SUFFIX
export DS389_BIND_DN=$BINDDN
export DS389_BIND_PW=$BINDPW
export DS389_ROOT_DN='$ROOTDN'
export DS389_ROOT_PW='$ROOTPW'
export DS389_CACERT=$(conf "$DIR")/ca.crt
export DS389_PID=$(cat "$(pidfile "$DIR")")
ENV
cat "$DIR/env"
awk -v a="$t0" -v b="$t1" -v h="$how" 'BEGIN{printf "# %s; ready in %.2fs\n", h, b-a}'
