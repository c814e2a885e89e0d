# scim2ldap — see README.md.
GO ?= go

.PHONY: dev test test-ad test-389ds cluster unit soak soak-ad bench bench-bulk perf build deps check vet check-deploy readme-session

## dev: quick start — private slapd + the gateway with a fresh token (Ctrl-C stops both)
dev:
	bash scripts/dev.sh

## test: unit tests and integration tests against a real slapd (installed if missing), the failover test
## alone (slapd's multi-provider replication replayed a stale change under the other packages' load), then the
## Active Directory tests against a throwaway Samba AD DC (gateway/adtest; root only: skipped otherwise)
## and the 389 Directory Server tests (gateway/ds389test; skipped without the 389-ds-base package)
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 $$($(GO) list ./... | grep -Ev '/gateway/(adtest|ds389test)$$|/internal/clustertest$$')
	$(GO) test -count=1 ./internal/clustertest/
	bash -o pipefail -c '$(GO) test -count=1 -v ./gateway/adtest/ 2>&1 | grep -Ev "^=== (RUN|PAUSE|CONT)"'
	bash -o pipefail -c '$(GO) test -count=1 -v ./gateway/ds389test/ 2>&1 | grep -Ev "^=== (RUN|PAUSE|CONT)"'

## test-ad: only the Active Directory integration tests (root; installs samba if missing)
test-ad:
	bash -o pipefail -c '$(GO) test -count=1 -v ./gateway/adtest/ 2>&1 | grep -Ev "^=== (RUN|PAUSE|CONT)"'

## test-389ds: only the 389 Directory Server integration tests (apt-get install 389-ds-base first;
## the first run creates the cached instance template, ~15 s)
test-389ds:
	bash -o pipefail -c '$(GO) test -count=1 -v ./gateway/ds389test/ 2>&1 | grep -Ev "^=== (RUN|PAUSE|CONT)"'

## cluster: the failover test (internal/clustertest) at length: slapd providers in multi-provider
## replication, 2 gateways, 16 clients, the preferred provider killed and restarted twice (docs/operations.md);
## LOAD=duration (default 2m), PROVIDERS=n (default 2; 3 diverges on slapd 2.5.13, see docs/operations.md); an acknowledged
## value on some providers only fails it (-cluster.strict). `make test` runs it with 2 providers and 8 s of load.
cluster: deps
	bash -o pipefail -c '$(GO) test -count=1 -run "^TestFailoverUnderLoad$$" -timeout 30m -v ./internal/clustertest/ \
	  -cluster.strict -cluster.providers=$${PROVIDERS:-2} -cluster.load=$${LOAD:-2m} 2>&1 | grep -Ev "^=== (RUN|PAUSE|CONT)"'

## unit: tests that need no directory
unit:
	$(GO) test -count=1 ./filterxlate/ ./mapping/

## soak: TestModel (gateway/model_test.go) with many more generated request sequences than `make test`,
## seeded from the clock; prints the seed. SEED=n repeats a run, CHECKS=n sequences per variant (default
## 2000), STEPS=n their length (default 24; see the test's doc). A failure prints the shrunk sequence.
soak: deps
	@seed=$${SEED:-$$(date +%s)}; echo "make soak: seed $$seed (again: make soak SEED=$$seed)"; \
	bash -o pipefail -c "$(GO) test -count=1 -run '^TestModel$$' -timeout 3h -v ./gateway/ \
	  -rapid.seed=$$seed -rapid.checks=$${CHECKS:-2000} -rapid.steps=$${STEPS:-24} -rapid.shrinktime=5m 2>&1 \
	  | grep -v '\[rapid\] draw'"

## soak-ad: the same for TestModelAD (gateway/adtest/model_test.go), the model on the Samba AD DC (root;
## see test-ad): SEED, STEPS and CHECKS as for soak, CHECKS defaulting to 1000 (AD writes are slower: ~20 min on 2 cores).
soak-ad:
	@seed=$${SEED:-$$(date +%s)}; echo "make soak-ad: seed $$seed (again: make soak-ad SEED=$$seed)"; \
	bash -o pipefail -c "$(GO) test -count=1 -run '^TestModelAD$$' -timeout 3h -v ./gateway/adtest/ \
	  -rapid.seed=$$seed -rapid.checks=$${CHECKS:-1000} -rapid.steps=$${STEPS:-24} -rapid.shrinktime=5m 2>&1 \
	  | grep -v '\[rapid\] draw'"

## bench: gateway vs direct-LDAP benchmarks (create, get by id, filter, PATCH, a 10,000-member group)
bench: deps
	$(GO) test -run '^$$' -bench 'Create|GetByID|FilterUserName|PatchReplace' -benchtime 2000x ./gateway/
	$(GO) test -run '^$$' -bench 'GetGroup10k' -benchtime 20x -benchmem ./gateway/

## bench-bulk: 1,000 user creates as one POST /Bulk vs as 1,000 POST /Users one by one (one run each)
bench-bulk: deps
	$(GO) test -run '^$$' -bench 'BulkVersusSingle' -benchtime 1x ./gateway/

## perf: the load harness (docs/performance.md): gateway vs direct LDAP with 32 clients, paging a
## 100,000-user list, a 50,000-member group; its own slapd and gateway; results in bench-out/ (~20 min on 2 cores)
perf: deps
	$(GO) run ./cmd/scim2ldap-bench -out bench-out

build:
	$(GO) build -o bin/scim2ldap ./cmd/scim2ldap

deps:
	bash scripts/deps.sh

check:
	$(GO) run ./cmd/scim2ldap mapping check mappings.example.yaml

## check-deploy: deploy/kubernetes (kustomize), the Helm chart, the Prometheus rules and Grafana dashboard,
## the Dockerfiles' base images (scripts/check-deploy.sh; helm, kustomize and promtool built from their Go
## modules at pinned versions, once: ~15 min on 2 cores, then ~3 s). CI runs it.
check-deploy:
	bash scripts/check-deploy.sh

## readme-session: README's "A first session" block, run against `make dev` (needs curl and jq). CI runs it.
readme-session:
	bash scripts/readme-session.sh
