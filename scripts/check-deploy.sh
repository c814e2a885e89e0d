#!/usr/bin/env bash
# check-deploy.sh — check what ships for deployment (`make check-deploy`; CI runs it from .ci/run):
#   - deploy/kubernetes renders (kustomize), holds no Secret, and its generated ConfigMap holds a mapping
#     that `scim2ldap mapping check` accepts (its mappings.yaml: a copy of mappings.example.yaml);
#   - the Helm chart deploy/helm/scim2ldap lints and renders for a spread of values, refuses placeholder and
#     missing credentials, and its ConfigMap's mapping passes the same check;
#   - every rendered object decodes strictly into its Kubernetes API type, images are fully qualified and
#     pinned (deploy/manifestcheck);
#   - the Prometheus rules pass `promtool check rules` and their unit tests (`promtool test rules`), the
#     Grafana dashboard is valid JSON, and both name only metrics gateway/metrics.go defines;
#   - docker/*Dockerfile base images are fully qualified and pinned.
# The tools are built from their Go modules at the pinned versions below, once, into
# ${SCIM2LDAP_TOOLS:-~/.cache/scim2ldap-tools} (first build on 2 cores, measured: helm 331 s,
# kustomize 80 s, promtool 474 s; later runs take ~3 s).
set -euo pipefail
cd "$(dirname "$0")/.."

HELM=helm.sh/helm/v4/cmd/helm@v4.3.2
KUSTOMIZE=sigs.k8s.io/kustomize/kustomize/v5@v5.8.1
PROMTOOL=github.com/prometheus/prometheus/cmd/promtool@v0.316.0

command -v jq >/dev/null || { echo "check-deploy: needs jq (apt-get install jq)" >&2; exit 1; }
TOOLS=${SCIM2LDAP_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/scim2ldap-tools}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*" >&2; fails=$((fails + 1)); }

# tool PKG@VERSION: the path of that command, built once.
tool() {
  local pkg=${1%@*} ver=${1#*@} name
  name=$(basename "$pkg")
  [[ $name =~ ^v[0-9]+$ ]] && name=$(basename "$(dirname "$pkg")") # …/kustomize/v5 builds kustomize
  local dir="$TOOLS/$name-$ver"
  if [ ! -x "$dir/$name" ]; then
    echo "building $name $ver from its Go module (once; cached in $dir)..." >&2
    local t0=$SECONDS
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-buildvcs=false go install "$1" >&2
    echo "built $name $ver in $((SECONDS - t0)) s" >&2
  fi
  echo "$dir/$name"
}

helm=$(tool "$HELM")
kustomize=$(tool "$KUSTOMIZE")
promtool=$(tool "$PROMTOOL")
echo "building scim2ldap and deploy/manifestcheck..." >&2
go build -o "$T/scim2ldap" ./cmd/scim2ldap
(cd deploy/manifestcheck && go build -o "$T/manifestcheck" .)

# --- kustomize ----------------------------------------------------------------------------------
# kustomize reads files only from below the kustomization (no symlink out of it): the shipped mapping is
# a copy of the example, kept the same here.
cmp -s deploy/kubernetes/mappings.yaml mappings.example.yaml && ok "deploy/kubernetes/mappings.yaml is mappings.example.yaml" ||
  bad "deploy/kubernetes/mappings.yaml differs from mappings.example.yaml: cp mappings.example.yaml deploy/kubernetes/mappings.yaml"
if "$kustomize" build deploy/kubernetes >"$T/kustomize.yaml" 2>"$T/err"; then
  if "$T/manifestcheck" -no-secrets -extract "scim2ldap-mapping/mappings.yaml=$T/k-mapping.yaml" <"$T/kustomize.yaml" >"$T/mc.out" 2>&1; then
    ok "kustomize build deploy/kubernetes: $(cat "$T/mc.out")"
  else
    bad "kustomize build deploy/kubernetes: $(cat "$T/mc.out")"
  fi
  if [ -s "$T/k-mapping.yaml" ] && "$T/scim2ldap" mapping check "$T/k-mapping.yaml" >"$T/out" 2>&1; then
    ok "kustomize's ConfigMap: scim2ldap mapping check: $(tail -1 "$T/out")"
  else
    bad "kustomize's ConfigMap: scim2ldap mapping check: $(cat "$T/out" 2>/dev/null)"
  fi
  grep -q 'name: scim2ldap-mapping-[a-z0-9]\{10\}$' "$T/kustomize.yaml" &&
    ok "the Deployment mounts the generated ConfigMap (name with its content hash)" ||
    bad "no scim2ldap-mapping-<hash> reference in the kustomize output"
else
  bad "kustomize build deploy/kubernetes: $(cat "$T/err")"
fi

# --- Helm -----------------------------------------------------------------------------------------
CHART=deploy/helm/scim2ldap
PW=(--set credentials.ldapBindPassword=a-test-password-0123)
if "$helm" lint --strict "$CHART" "${PW[@]}" >"$T/out" 2>&1; then ok "helm lint --strict"; else bad "helm lint --strict: $(cat "$T/out")"; fi
declare -A cases=(
  [defaults+generated-credentials]="${PW[*]}"
  [everything-on]="${PW[*]} --set ingress.enabled=true --set networkPolicy.enabled=true --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set directory.caConfigMap.name=ldap-ca --set tls.clientCAConfigMap.name=client-ca --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --set env.SCIM2LDAP_MAX_PAGE_SIZE=500"
  [existing-secret-tokens-no-tls]="--set credentials.existingSecret=mine --set credentials.existingSecretFormat=tokens --set tls.enabled=false --set networkPolicy.enabled=true --set-json networkPolicy.scimFrom=[{\"podSelector\":{}}]"
  [existing-secret-and-mapping]="--set credentials.existingSecret=mine --set mapping.existingConfigMap=my-mapping"
)
for name in "${!cases[@]}"; do
  # shellcheck disable=SC2086
  if "$helm" template t "$CHART" ${cases[$name]} >"$T/h.yaml" 2>"$T/err"; then
    rm -f "$T/h-mapping.yaml"
    if [ "$name" = existing-secret-and-mapping ]; then
      "$T/manifestcheck" <"$T/h.yaml" >"$T/mc.out" 2>&1 && ok "helm template ($name): $(cat "$T/mc.out")" || bad "helm template ($name): $(cat "$T/mc.out")"
      grep -q 'kind: ConfigMap' "$T/h.yaml" && bad "helm template ($name): renders a ConfigMap besides the existing one"
      continue
    fi
    if "$T/manifestcheck" -extract "t-scim2ldap-mapping/mappings.yaml=$T/h-mapping.yaml" <"$T/h.yaml" >"$T/mc.out" 2>&1; then
      ok "helm template ($name): $(cat "$T/mc.out")"
    else
      bad "helm template ($name): $(cat "$T/mc.out")"
    fi
    if [ -s "$T/h-mapping.yaml" ] && "$T/scim2ldap" mapping check "$T/h-mapping.yaml" >"$T/out" 2>&1; then
      ok "helm template ($name): the ConfigMap's mapping passes scim2ldap mapping check"
    else
      bad "helm template ($name): scim2ldap mapping check: $(cat "$T/out" 2>/dev/null)"
    fi
  else
    bad "helm template ($name): $(cat "$T/err")"
  fi
done
grep -q "kind: PrometheusRule" <("$helm" template t "$CHART" "${PW[@]}" --set prometheusRule.enabled=true 2>/dev/null) &&
  ok "helm template: prometheusRule.enabled renders the alert rules" || bad "helm template: no PrometheusRule"
# Refused: no credentials, a placeholder password, TLS without its Secret, a misspelt key (values.schema.json).
for args in "" "--set credentials.ldapBindPassword=CHANGE-ME-password" "${PW[*]} --set tls.existingSecret=" \
  "${PW[*]} --set directory.bindDn=cn=x"; do
  # shellcheck disable=SC2086
  if "$helm" template t "$CHART" $args >/dev/null 2>"$T/err"; then
    bad "helm template ${args:-(no values)}: rendered, want a refusal"
  else
    ok "helm template ${args:-(no values)}: refused: $(grep -v 'level=INFO' "$T/err" | grep -o "execution error.*\|additional properties.*" | sed 's/.*): //' | head -1)"
  fi
done

# --- Prometheus rules and the Grafana dashboard ------------------------------------------------------
"$promtool" check rules deploy/monitoring/alerts.yaml >"$T/out" 2>&1 && ok "promtool check rules: $(grep -o 'SUCCESS.*' "$T/out")" || bad "promtool check rules: $(cat "$T/out")"
(cd deploy/monitoring && "$promtool" test rules alerts_test.yaml) >"$T/out" 2>&1 && ok "promtool test rules: $(grep -o 'SUCCESS' "$T/out")" || bad "promtool test rules: $(cat "$T/out")"
jq empty deploy/monitoring/grafana-dashboard.json 2>"$T/err" && ok "grafana-dashboard.json is valid JSON" || bad "grafana-dashboard.json: $(cat "$T/err")"
for m in $(grep -oh 'scim2ldap_[a-z_]*' deploy/monitoring/alerts.yaml deploy/monitoring/grafana-dashboard.json | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q "\"$m\"" gateway/metrics.go || bad "deploy/monitoring names $m, which gateway/metrics.go does not define"
done
ok "deploy/monitoring names only metrics of gateway/metrics.go"

# --- images --------------------------------------------------------------------------------------
while read -r file from; do
  [[ $from =~ ^[a-z0-9.-]+\.[a-z]+/[a-z0-9._/-]+(:[A-Za-z0-9_.-]+)?(@sha256:[0-9a-f]{64})?$ ]] && [[ $from == *@sha256:* || $from =~ :[0-9] ]] &&
    ok "$file: FROM $from" || bad "$file: FROM $from: want a fully qualified name pinned by digest or an exact version tag"
done < <(awk 'toupper($1)=="FROM" {print FILENAME, $2}' docker/*Dockerfile)

[ "$fails" = 0 ] || { echo "check-deploy: $fails failed" >&2; exit 1; }
echo "check-deploy: all passed"
