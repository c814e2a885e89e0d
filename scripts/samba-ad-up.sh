#!/usr/bin/env bash
# samba-ad-up.sh — start a throwaway Samba Active Directory domain controller (Debian
# bookworm's Samba 4.17) in its own directory: LDAP service only, loopback only.
#
# Usage: samba-ad-up.sh DIR
#   DIR  instance dir (created; must be empty or absent)
# Env:   AD_TEMPLATE     provisioned template (default /var/cache/scim2ldap/ad-template):
#                        copied (~0.1 s) when present; otherwise the domain is provisioned
#                        (~6-8 s on 2 cores) and saved there for next time. "none": no template.
#        AD_MAX_RUNTIME  seconds after which samba exits by itself (default 0 = never;
#                        tests set it as a safety net)
#        AD_INSTALL      "yes" (default): install samba from Debian's packages if missing
#
# Domain EXAMPLE.TEST (DC=example,DC=test), Administrator password Passw0rd!Test, an
# EC P-256 certificate for 127.0.0.1/localhost made per instance (DIR/tls/cert.pem).
# Simple binds work on plain ldap://389 too ("ldap server require strong auth = no"),
# so the gateway's own refusal of passwords over plain LDAP can be tested; the old
# password stops working at once ("old password allowed period = 0").
#
# Must run as root: Samba's LDAP server always binds 389, 636, 3268 and 3269 (there is
# no port option), so only one instance per host can run at a time. /etc/samba and the
# packaged services are neither used nor touched.
#
# Prints "export" lines (also in DIR/env); stop with samba-ad-down.sh DIR.
set -euo pipefail

DIR=${1:?usage: samba-ad-up.sh DIR}
REALM=EXAMPLE.TEST
DOMAIN=EXAMPLE
ADMINPW='Passw0rd!Test'
BASEDN=DC=example,DC=test
TEMPLATE=${AD_TEMPLATE:-/var/cache/scim2ldap/ad-template}
MAXRT=${AD_MAX_RUNTIME:-0}
PATH=$PATH:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || { echo "samba-ad-up.sh: a Samba AD DC must run as root (it binds ports 389/636)" >&2; exit 2; }
if ! command -v samba >/dev/null 2>&1 || ! command -v samba-tool >/dev/null 2>&1 || ! command -v ldapsearch >/dev/null 2>&1; then
  [ "${AD_INSTALL:-yes}" = yes ] || { echo "samba-ad-up.sh: samba is not installed" >&2; exit 2; }
  echo "samba-ad-up.sh: installing samba from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind ldap-utils \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind ldap-utils; }; } >/dev/null \
    || { echo "samba-ad-up.sh: could not install samba" >&2; exit 2; }
fi
if command -v ss >/dev/null 2>&1 && ss -ltn | awk '{print $4}' | grep -Eq '(^|:)(389|636)$'; then
  echo "samba-ad-up.sh: something already listens on port 389 or 636:" >&2; ss -ltnp | grep -E ':(389|636) ' >&2; exit 1
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ -z "$(ls -A "$DIR")" ] || { echo "samba-ad-up.sh: $DIR is not empty" >&2; exit 1; }

provision() { # provision into $1 (empty dir) with private runtime dirs and minimal services
  local d=$1 empty
  empty=$(mktemp); : > "$empty"
  # -s empty: otherwise samba-tool copies the globals of /etc/samba/smb.conf into the new one.
  samba-tool domain provision -s "$empty" --targetdir="$d" \
    --realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE \
    --use-rfc2307 --adminpass="$ADMINPW" --host-name=dc1 \
    --option="interfaces = lo" --option="bind interfaces only = yes" --option="ldb:nosync = true" \
    >"$d/provision.log" 2>&1 || { rm -f "$empty"; tail -20 "$d/provision.log" >&2; return 1; }
  rm -f "$empty"
  local extra
  extra=$(printf '\t%s\n' "server services = ldap" "pid directory = $d/run" "ncalrpc dir = $d/run/ncalrpc" \
    "winbindd socket directory = $d/run/winbindd" "ntp signd socket directory = $d/run/ntp_signd" \
    "log file = $d/log/samba.log" "logging = file" "log level = 1" "ldap server require strong auth = no" \
    "old password allowed period = 0" "tls enabled = yes" "tls keyfile = $d/tls/key.pem" \
    "tls certfile = $d/tls/cert.pem" "tls cafile = $d/tls/cert.pem")
  awk -v extra="$extra" '/^[ \t]*server services/ {next} {print} /^\[global\]/ {print extra}' \
    "$d/etc/smb.conf" > "$d/etc/smb.conf.new" && mv "$d/etc/smb.conf.new" "$d/etc/smb.conf"
  echo "$d" > "$d/.template-path"
}

t0=$(date +%s.%N)
if [ "$TEMPLATE" != none ] && [ -f "$TEMPLATE/etc/smb.conf" ] && [ -f "$TEMPLATE/.template-path" ]; then
  cp -a "$TEMPLATE/." "$DIR/"
  OLD=$(cat "$DIR/.template-path")
  sed -i "s#$OLD#$DIR#g" "$DIR/etc/smb.conf"
  echo "$DIR" > "$DIR/.template-path"
  how="copied template $TEMPLATE"
else
  provision "$DIR"
  how="provisioned"
  if [ "$TEMPLATE" != none ]; then
    # Saved atomically, so a concurrent or interrupted run never sees half a template.
    mkdir -p "$(dirname "$TEMPLATE")"
    tmp=$(mktemp -d "$TEMPLATE.tmp.XXXXXX")
    cp -a "$DIR/." "$tmp/"
    rm -rf "$tmp/run" "$tmp/log" "$tmp/tls"
    if mv -T "$tmp" "$TEMPLATE" 2>/dev/null; then how="$how (saved as template $TEMPLATE)"; else rm -rf "$tmp"; fi
  fi
fi
rm -rf "$DIR/run" "$DIR/log" "$DIR/tls"
mkdir -p "$DIR/run" "$DIR/log" "$DIR/tls"
# A fresh EC P-256 certificate per instance (a template never carries an expired one).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:dc1.example.test" >/dev/null 2>&1
chmod 600 "$DIR/tls/key.pem"
t1=$(date +%s.%N)

samba -s "$DIR/etc/smb.conf" -D --maximum-runtime="$MAXRT" >"$DIR/log/samba.out" 2>&1 \
  || { cat "$DIR/log/samba.out" >&2; exit 1; }

# Ready = an LDAPS simple bind as Administrator works (Samba has no WhoAmI).
for i in $(seq 1 300); do
  if LDAPTLS_CACERT="$DIR/tls/cert.pem" ldapsearch -x -LLL -H ldaps://127.0.0.1 \
       -D "Administrator@$REALM" -w "$ADMINPW" -b "$BASEDN" -s base dn >/dev/null 2>&1; then
    break
  fi
  [ "$i" = 300 ] && { echo "samba-ad-up.sh: samba did not come up; see $DIR/log" >&2; tail "$DIR"/log/* >&2; exit 1; }
  sleep 0.1
done
t2=$(date +%s.%N)

cat > "$DIR/env" <<ENV
export AD_DIR=$DIR
export AD_LDAP_URL=ldap://127.0.0.1:389
export AD_LDAPS_URL=ldaps://127.0.0.1:636
export AD_BASE=$BASEDN
export AD_BIND_DN=Administrator@$REALM
export AD_BIND_DN_FULL=CN=Administrator,CN=Users,$BASEDN
export AD_BIND_PW='$ADMINPW'
export AD_CACERT=$DIR/tls/cert.pem
export AD_PID=$(cat "$DIR/run/samba.pid")
ENV
cat "$DIR/env"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v h="$how" \
  'BEGIN{printf "# %s in %.2fs; samba ready %.2fs after start; total %.2fs\n", h, b-a, c-b, c-a}'
