package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/scim2ldap/scim2ldap/gateway"
)

// signJWTClaims signs the registered claims c together with extra ones (roles, scp…).
func signJWTClaims(t *testing.T, key jose.JSONWebKey, c jwt.Claims, extra map[string]any) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Claims(extra).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadJWTIssuer writes a credentials file with one jwtIssuers entry (body: its
// fields after name, issuer, audiences and jwksURL) and loads it.
func loadJWTIssuer(t *testing.T, jwksURL, body string) (*gateway.Credentials, error) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	yaml := fmt.Sprintf("jwtIssuers:\n  - name: oauth-app\n    issuer: %s\n    audiences: [%s]\n    jwksURL: %s\n%s", issuerURL, audience, jwksURL, body)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return gateway.LoadCredentials(path)
}

// With claimScopes, a token's scope comes from its claims ("roles" as Entra ID's
// app roles send them, "scp" as a space-separated string), not from the issuer:
// a token of the right issuer and audience without a mapped claim may do nothing.
func TestJWTClaimScopes(t *testing.T) {
	keys := newKeyServer(t)
	k := rsaKey(t, "k1")
	keys.publish(k)
	creds, err := loadJWTIssuer(t, keys.srv.URL, `    claimScopes:
      - {claim: roles, value: SCIM.ReadWrite, scope: read-write}
      - {claim: scp, value: SCIM.Read, scope: read-only, resourceTypes: [User]}
      - {claim: roles, value: SCIM.Plan, scope: read-write, plan: true}
`)
	if err != nil {
		t.Fatal(err)
	}
	e := newProdEnv(t, openStore(t), gateway.Config{Credentials: creds, AuthFailureBurst: -1})
	token := func(extra map[string]any) string { return bearer(signJWTClaims(t, k, validClaims(), extra)) }

	writer := token(map[string]any{"roles": []string{"Other", "SCIM.ReadWrite"}})
	if r := e.call("POST", "/Users", writer, newUser("claim-writer")); r.Status != 201 {
		t.Errorf("roles SCIM.ReadWrite: POST %d %s", r.Status, r.Raw)
	}
	// An app role that plans: the create is answered, marked, and not made.
	planner := token(map[string]any{"roles": []string{"SCIM.Plan"}})
	if r := e.call("POST", "/Users", planner, newUser("claim-planner")); r.Status != 201 || r.Header.Get(gateway.PlannedHeader) != "true" {
		t.Errorf("roles SCIM.Plan: POST %d %v %s", r.Status, r.Header, r.Raw)
	}
	if r := e.call("GET", "/Users?filter=userName%20eq%20%22claim-planner%22", writer, nil); r.Body["totalResults"] != 0.0 {
		t.Errorf("a planned create was made: %s", r.Raw)
	}
	reader := token(map[string]any{"scp": "openid SCIM.Read"})
	if r := e.call("GET", "/Users", reader, nil); r.Status != 200 {
		t.Errorf("scp SCIM.Read: GET /Users %d %s", r.Status, r.Raw)
	}
	if r := e.call("POST", "/Users", reader, newUser("claim-reader")); r.Status != 403 {
		t.Errorf("scp SCIM.Read: POST %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/Groups", reader, nil); r.Status != 403 {
		t.Errorf("scp SCIM.Read is limited to User: GET /Groups %d %s", r.Status, r.Raw)
	}
	for name, extra := range map[string]map[string]any{
		"no claim":             nil,
		"value in other case":  {"roles": []string{"scim.readwrite"}},
		"value as a substring": {"scp": "SCIM.ReadWriteAll"},
		"value in other claim": {"groups": []string{"SCIM.ReadWrite"}},
	} {
		for _, call := range [][2]string{{"GET", "/Users"}, {"GET", "/ServiceProviderConfig"}} {
			if r := e.call(call[0], call[1], token(extra), nil); r.Status != 403 || !strings.Contains(r.Raw, "grants no scope") {
				t.Errorf("%s: %s %s %d %s", name, call[0], call[1], r.Status, r.Raw)
			}
		}
	}
}

// A token holding a role that plans is planned whatever else it holds: with
// claimScopes as docs/plan-mode.md shows them (the writing role first), a
// token of an app given both roles must not write.
func TestJWTClaimScopePlanWins(t *testing.T) {
	keys := newKeyServer(t)
	k := rsaKey(t, "k1")
	keys.publish(k)
	creds, err := loadJWTIssuer(t, keys.srv.URL, `    claimScopes:
      - {claim: roles, value: SCIM.ReadWrite, scope: read-write}
      - {claim: roles, value: SCIM.Plan, scope: read-write, plan: true}
`)
	if err != nil {
		t.Fatal(err)
	}
	e := newProdEnv(t, openStore(t), gateway.Config{Credentials: creds, AuthFailureBurst: -1})
	both := bearer(signJWTClaims(t, k, validClaims(), map[string]any{"roles": []string{"SCIM.ReadWrite", "SCIM.Plan"}}))
	if r := e.call("POST", "/Users", both, newUser("claim-both")); r.Status != 201 || r.Header.Get(gateway.PlannedHeader) != "true" {
		t.Errorf("roles SCIM.ReadWrite and SCIM.Plan: POST %d planned %q %s", r.Status, r.Header.Get(gateway.PlannedHeader), r.Raw)
	}
	if r := e.call("GET", "/Users?filter=userName%20eq%20%22claim-both%22", both, nil); r.Body["totalResults"] != 0.0 {
		t.Errorf("a token holding the planning role wrote: %s", r.Raw)
	}
}

func TestJWTClaimScopesChecked(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"scope and claimScopes": {"    scope: read-write\n    claimScopes: [{claim: roles, value: SCIM.ReadWrite, scope: read-write}]\n", "not both"},
		"plan and claimScopes":  {"    plan: true\n    claimScopes: [{claim: roles, value: SCIM.Plan, scope: read-write, plan: true}]\n", "plan: true goes on a claimScopes entry"},
		"no value":              {"    claimScopes: [{claim: roles, scope: read-write}]\n", "claim and value are required"},
		"bad scope":             {"    claimScopes: [{claim: roles, value: X, scope: admin}]\n", `claimScopes[0] "oauth-app": scope must be`},
	} {
		if _, err := loadJWTIssuer(t, "https://idp.example.test/keys", c.body); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// A JWKS endpoint that hangs stalls no login whose key is already held: the
// key set is re-read outside the lock logins take, while the old set serves.
func TestSlowJWKSStallsNoLogin(t *testing.T) {
	k := rsaKey(t, "k1")
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}
	hang := make(chan struct{})
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			<-hang
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // runs first: lets the hanging read end
	// jwksRefresh 0s: every login finds the set stale and starts a re-read.
	creds, err := loadJWTIssuer(t, srv.URL, "    jwksRefresh: 0s\n    jwksMinRefresh: 0s\n    scope: read-only\n")
	if err != nil {
		t.Fatal(err)
	}
	e := newProdEnv(t, openStore(t), gateway.Config{Credentials: creds, AuthFailureBurst: -1})
	login := bearer(signJWT(t, k, validClaims()))
	if r := e.call("GET", "/ServiceProviderConfig", login, nil); r.Status != 200 {
		t.Fatalf("first login: %d %s", r.Status, r.Raw)
	}
	slow.Store(true)
	start := time.Now()
	for i := 0; i < 5; i++ {
		if r := e.call("GET", "/ServiceProviderConfig", login, nil); r.Status != 200 {
			t.Fatalf("login %d while the JWKS hangs: %d %s", i, r.Status, r.Raw)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("5 logins with a held key took %v while the JWKS hangs; they should not wait for it", d)
	}
}

// Two jwtIssuers entries with one issuer are refused: a token is matched to
// the first entry of its issuer, so a second one (a staging app's entry with
// plan: true, added beside the production one) would never be used, and the
// staging app's tokens would write. Apps of one issuer are told apart with
// claimScopes.
func TestJWTIssuerTwiceRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	entry := "  - name: %s\n    issuer: %s\n    audiences: [%s]\n    jwksURL: https://keys.example.org/\n    scope: read-write\n    plan: %v\n"
	yaml := "jwtIssuers:\n" + fmt.Sprintf(entry, "entra-prod", issuerURL, audience, false) + fmt.Sprintf(entry, "entra-staging", issuerURL, audience, true)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := gateway.LoadCredentials(path)
	if err == nil || !strings.Contains(err.Error(), `jwtIssuers[1] "entra-staging": issuer`) || !strings.Contains(err.Error(), "claimScopes") {
		t.Errorf("two entries of one issuer: %v", err)
	}
}
