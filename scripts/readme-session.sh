#!/usr/bin/env bash
# readme-session.sh — README's "A first session", run as a reader would: start `make dev`'s script,
# take the `export` lines it prints, and run the README's block (the first ```sh block under
# "## A first session") in a fresh bash with `set -euo pipefail`. Fails when make dev does not become
# ready, when any command of the block fails (curl -f: any HTTP error), or when its output lacks what
# the block's comments promise. CI runs it from .ci/run; needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
for c in curl jq; do command -v $c >/dev/null || { echo "readme-session: needs $c (apt-get install curl jq)" >&2; exit 1; }; done
T=$(mktemp -d)
DEV=""
stop() {
  if [ -n "$DEV" ] && kill -0 "$DEV" 2>/dev/null; then
    kill -TERM "$DEV" 2>/dev/null || true # dev.sh stops the gateway and slapd and removes its dir
    for _ in $(seq 1 100); do kill -0 "$DEV" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$T"
}
trap stop EXIT

awk '/^## A first session/ {s=1} s && /^```sh$/ {b=1; next} b && /^```$/ {exit} b' README.md >"$T/block.sh"
[ -s "$T/block.sh" ] || { echo "readme-session: no sh block under '## A first session' in README.md" >&2; exit 1; }

t0=$SECONDS
bash scripts/dev.sh >"$T/dev.out" 2>&1 &
DEV=$!
until grep -q '^export TOKEN=' "$T/dev.out"; do
  if ! kill -0 "$DEV" 2>/dev/null || [ $((SECONDS - t0)) -gt 900 ]; then
    echo "readme-session: make dev did not print its export lines; its output:" >&2; cat "$T/dev.out" >&2; exit 1
  fi
  sleep 0.5
done
echo "readme-session: make dev ready in $((SECONDS - t0)) s; its progress lines:"
grep '^make dev:' "$T/dev.out" | sed 's/^/  /'
grep '^export ' "$T/dev.out" >"$T/env.sh"

if ! (cd "$T" && bash -c 'set -euo pipefail; source ./env.sh; source ./block.sh') >"$T/out" 2>&1; then
  echo "readme-session: README's first session failed; its output:" >&2; cat "$T/out" >&2
  echo "--- make dev:" >&2; cat "$T/dev.out" >&2
  exit 1
fi
cat "$T/out" | sed 's/^/  | /'
# What the block's comments promise, in order of the commands.
want=('^Alice: [0-9a-f-]{36}$' '^1$' '^Engineer$' '^false$' '^engineering: [0-9a-f-]{36}$' 'urn:ietf:params:scim:schemas:core:2.0:User')
fails=0
for w in "${want[@]}"; do grep -Eq "$w" "$T/out" || { echo "readme-session: no line matching $w" >&2; fails=$((fails + 1)); }; done
# The group lists Alice's id as its member, and Alice's groups the group's id.
id=$(sed -n 's/^Alice: //p' "$T/out"); gid=$(sed -n 's/^engineering: //p' "$T/out")
[ -n "$id" ] && [ "$(grep -cx "$id" "$T/out")" = 1 ] || { echo "readme-session: the group's members should list Alice's id once" >&2; fails=$((fails + 1)); }
[ -n "$gid" ] && [ "$(grep -cx "$gid" "$T/out")" = 1 ] || { echo "readme-session: Alice's groups should list the group's id once" >&2; fails=$((fails + 1)); }
[ "$fails" = 0 ] || exit 1
echo "readme-session: 1 passed, 0 failed"
