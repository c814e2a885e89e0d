package gateway_test

// Regressions from a fresh-eyes review (a new user trying to break the gateway).

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"context"
	"runtime"
	"time"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

func TestConcurrentRenameDoesNotLoseOtherWrites(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-ren", nil))
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, b := range []map[string]any{
			patchBody(op("replace", "userName", fmt.Sprintf("rv-ren-%d", round))),
			patchBody(op("replace", "title", fmt.Sprintf("T%d", round))),
		} {
			wg.Add(1)
			go func(i int, b map[string]any) {
				defer wg.Done()
				statuses[i] = e.Do("PATCH", "/Users/"+id, b, "Prefer", "return=minimal").Status
			}(i, b)
		}
		wg.Wait()
		if statuses[0] != 204 || statuses[1] != 204 {
			t.Fatalf("round %d: statuses %v, want both 204", round, statuses)
		}
		got := e.entry("(entryUUID=" + id + ")")
		if got.GetAttributeValue("title") != fmt.Sprintf("T%d", round) || got.GetAttributeValue("uid") != fmt.Sprintf("rv-ren-%d", round) {
			t.Fatalf("round %d: a write was lost: %v", round, got.Attributes)
		}
	}
}

func TestPatchValueFiltersThatMatchNothing(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-nt", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "w@x.org"}}}))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", `emails[value eq "nomatch"].value`, "z@x.org"))), 400, "noTarget")
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", `emails[nosuch eq "work"].value`, "z@x.org"))), 400, "invalidPath")
	if m := e.entry("(uid=rv-nt)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "w@x.org" {
		t.Errorf("mail after rejected PATCHes: %q", m)
	}
	// The typed slot is still created when missing (Entra), and removing a
	// value nobody has is a no-op.
	e.MustPatch("/Users/"+id, patchBody(op("remove", `emails[type eq "work"]`, nil)))
	e.MustPatch("/Users/"+id, patchBody(op("add", `emails[type eq "work"].value`, "n@x.org")))
	e.MustPatch("/Users/"+id, patchBody(op("remove", `emails[value eq "gone@x.org"]`, nil)))
	if m := e.entry("(uid=rv-nt)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "n@x.org" {
		t.Errorf("mail: %q", m)
	}
}

func TestEmptyGroupIsNotPresentInFilters(t *testing.T) {
	e := newEnv(t)
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "rv-empty"})
	uid := e.MustCreate("/Users", user("rv-member", nil))
	full := e.MustCreate("/Groups", map[string]any{"displayName": "rv-full", "members": []any{map[string]any{"value": uid}}})
	ids := func(f string) string {
		l := e.Do("GET", "/Groups"+filterQ(`displayName sw "rv-" and `+f), nil)
		var out []string
		for _, r := range l.Body["Resources"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := ids("members pr"); got != full {
		t.Errorf("members pr: %s, want only %s", got, full)
	}
	if got := ids("not (members pr)"); got != gid {
		t.Errorf("not (members pr): %s, want only %s", got, gid)
	}
}

func TestPatchWholeExtension(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-ext", map[string]any{entSchema: map[string]any{"employeeNumber": "1", "department": "D"}}))
	e.MustPatch("/Users/"+id, patchBody(op("replace", entSchema, map[string]any{"employeeNumber": "99"})))
	got := e.entry("(uid=rv-ext)")
	if got.GetAttributeValue("employeeNumber") != "99" || got.GetAttributeValue("departmentNumber") != "D" {
		t.Errorf("replace with the extension URN as path: %v", got.Attributes)
	}
	e.MustPatch("/Users/"+id, patchBody(op("remove", entSchema, nil)))
	got = e.entry("(uid=rv-ext)")
	if got.GetAttributeValue("employeeNumber") != "" || got.GetAttributeValue("departmentNumber") != "" {
		t.Errorf("remove of the extension: %v", got.Attributes)
	}
	wantError(t, e.Do("POST", "/Users", map[string]any{"userName": "rv-ext2", entSchema: "str"}), 400, "invalidValue")
}

func TestPutWithoutActiveKeepsTheLock(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-lock", nil))
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if p := e.Do("PUT", "/Users/"+id, user("rv-lock", map[string]any{"title": "x"})); p.Status != 200 || p.Body["active"] != false {
		t.Fatalf("PUT without active: %s", p.Raw)
	}
	if e.lockTime(peopleDN("rv-lock")) == "" {
		t.Error("a PUT without active lifted the lock")
	}
	e.MustPatch("/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "active", "value": nil}))
	if e.lockTime(peopleDN("rv-lock")) == "" {
		t.Error("replace active null lifted the lock")
	}
	if p := e.Do("PUT", "/Users/"+id, user("rv-lock", map[string]any{"active": true})); p.Body["active"] != true || e.lockTime(peopleDN("rv-lock")) != "" {
		t.Errorf("PUT with active true: %s", p.Raw)
	}
}

func TestETagLists(t *testing.T) {
	e := newEnv(t)
	c := e.Do("POST", "/Users", user("rv-etag", nil))
	id, etag := c.Body["id"].(string), c.Header.Get("ETag")
	if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", etag); g.Status != 304 || g.Raw != "" || g.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match with the current ETag: %d %q", g.Status, g.Raw)
	}
	if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", `W/"old"`); g.Status != 200 {
		t.Errorf("If-None-Match with another ETag: %d", g.Status)
	}
	if p := e.Do("PUT", "/Users/"+id, user("rv-etag", map[string]any{"title": "x"}), "If-Match", `"nope", `+etag); p.Status != 200 {
		t.Errorf("If-Match list holding the current ETag: %d %s", p.Status, p.Raw)
	}
}

func TestBodyMustBeUTF8(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.Do("POST", "/Users", "{\"userName\":\"inv\xff\"}"), 400, "invalidSyntax")
}

// A JWKS fetched over plain HTTP could be swapped in transit: only https://,
// or http:// to a loopback address, is accepted.
func TestJWKSURLMustBeSecure(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://login.example.org/keys": true, "http://127.0.0.1:8080/keys": true, "http://localhost/keys": true,
		"http://login.example.org/keys": false, "http://10.1.2.3/keys": false, "ftp://x/keys": false,
	} {
		path := filepath.Join(t.TempDir(), "creds.yaml")
		os.WriteFile(path, []byte("jwtIssuers:\n  - {name: idp, issuer: https://idp.example.org, audiences: [scim], jwksURL: \""+url+"\", scope: read-only}\n"), 0o600)
		_, err := gateway.LoadCredentials(path)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted=%v", url, err, ok)
		}
	}
}

// A rename's audit event carries the old DN, so a SIEM can follow the entry.
func TestAuditRecordsOldDNOnRename(t *testing.T) {
	var audit bytes.Buffer
	gw := gateway.New(gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Log: zerolog.Nop(), Tokens: []string{token},
		Audit: zerolog.SyncWriter(&audit)})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	c := &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}
	id := c.MustCreate("/Users", user("rv-audit", nil))
	c.MustPatch("/Users/"+id, patchBody(op("replace", "userName", "rv-audit2")))
	lines := strings.Split(strings.TrimSpace(audit.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"old_dn":"uid=rv-audit,ou=people,dc=example,dc=org"`) || !strings.Contains(last, `"dn":"uid=rv-audit2,ou=people,dc=example,dc=org"`) {
		t.Errorf("rename audit event: %s", last)
	}
	if strings.Contains(lines[0], "old_dn") {
		t.Errorf("a create has no old DN: %s", lines[0])
	}
}

// A substring filter on an attribute the directory can't match by substring
// (uniqueIdentifier and entryUUID have no SUBSTR rule in slapd's schema) would
// be Undefined and return an empty list as if nothing matched: it is refused.
func TestSubstringFilterWithoutSubstringRule(t *testing.T) {
	e := newEnv(t)
	created := e.Do("POST", "/Users", user("substr-probe", map[string]any{"externalId": "ext-substr-probe",
		"emails": []any{map[string]any{"type": "work", "value": "substr-probe@example.org"}}}))
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id, _ := created.Body["id"].(string)
	for _, f := range []string{`externalId sw "ext-"`, `externalId co "substr"`, `id sw "` + id[:8] + `"`, `userName sw "substr" and externalId ew "probe"`} {
		r := e.Do("GET", "/Users"+filterQ(f), nil)
		wantError(t, r, 400, "invalidFilter")
		if !strings.Contains(r.Raw, "substring matching rule") {
			t.Errorf("%s: detail does not say why: %s", f, r.Raw)
		}
	}
	// Attributes with a SUBSTR rule still work, and eq on the others.
	for f, want := range map[string]float64{`userName sw "substr-pro"`: 1, `emails co "substr-probe@"`: 1, `externalId eq "ext-substr-probe"`: 1, `externalId co ""`: -1} {
		r := e.Do("GET", "/Users"+filterQ(f), nil)
		if r.Status != 200 {
			t.Errorf("%s: %d %s", f, r.Status, r.Raw)
			continue
		}
		if n, _ := r.Body["totalResults"].(float64); want > 0 && n != want {
			t.Errorf("%s: totalResults %v, want %v", f, n, want)
		}
	}
}

// RFC 7644 §4: discovery endpoints ignore query parameters, and SHOULD answer a
// filter with 403 so that clients cannot assume its conditions hold.
func TestDiscoveryRefusesFilter(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/Schemas", "/ResourceTypes", "/ServiceProviderConfig", "/ResourceTypes/User", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"} {
		wantError(t, e.Do("GET", p+filterQ(`id eq "x"`), nil), 403, "")
		if r := e.Do("GET", p+"?startIndex=2&count=1", nil); r.Status != 200 { // other parameters are ignored
			t.Errorf("%s with paging: %d %s", p, r.Status, r.Raw)
		}
	}
}

// Protocol edges found by a fresh-eyes review: an unencoded ';' in the query
// string (Go's URL.Query drops the pair: the filter vanished and every user was
// listed), HEAD (RFC 9110 §9.3.2), wrong paths and methods under the SCIM base
// only for authenticated clients, and a bounded method label in the metrics.
func TestQueryHeadAndUnmatchedRequests(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"semi-a", "semi-b"} {
		if r := e.Do("POST", "/Users", user(n, nil)); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Raw)
		}
	}
	wantError(t, e.Do("GET", `/Users?filter=userName%20eq%20%22semi-a;b%22`, nil), 400, "invalidFilter")
	wantError(t, e.Do("GET", `/Users?count=1;startIndex=2`, nil), 400, "invalidValue")
	wantError(t, e.Do("GET", `/Schemas?filter=x;y`, nil), 400, "invalidFilter")
	if r := e.Do("GET", "/Users"+filterQ(`userName eq "semi-a;b"`), nil); r.Status != 200 || r.Body["totalResults"] != float64(0) {
		t.Errorf("an encoded ';' is part of the value: %d %s", r.Status, r.Raw)
	}

	for _, p := range []string{"/Users", "/ServiceProviderConfig", "/Schemas"} {
		if r := e.Do("HEAD", p, nil); r.Status != 200 || r.Raw != "" {
			t.Errorf("HEAD %s: %d %q", p, r.Status, r.Raw)
		}
	}
	if r := e.Do("HEAD", "/Users", nil, "Authorization", ""); r.Status != 401 {
		t.Errorf("HEAD without credentials: %d", r.Status)
	}

	// Without credentials, a wrong method or path under the base is a 401, not
	// a map of the API; outside the base, 404 as before.
	for _, c := range []struct{ method, path string }{{"DELETE", "/Users"}, {"POST", "/Users/x"}, {"GET", "/Nope"}} {
		r := e.Do(c.method, c.path, nil, "Authorization", "")
		wantError(t, r, 401, "")
		if r.Header.Get("Allow") != "" {
			t.Errorf("%s %s without credentials told Allow: %s", c.method, c.path, r.Header.Get("Allow"))
		}
	}
	res, err := http.Get(e.srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("GET /nope: %d", res.StatusCode)
	}

	pe := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{token}})
	pe.call("BREW", "/Users", "Bearer "+token, nil)
	m := pe.call("GET", "/metrics", "", nil)
	if strings.Contains(m.Raw, `method="BREW"`) || !strings.Contains(m.Raw, `method="other"`) {
		t.Error(`a client's method became a metrics label (want "other")`)
	}
}

// The substring rules come from the directory's schema. A gateway that starts
// during an outage learns them once the directory answers; a mapping reload
// during an outage keeps those already learnt.
func TestSubstringRulesLearntAcrossOutages(t *testing.T) {
	f := slapdtest.Unreachable(t, slapd.URL)
	store, err := ldapstore.Open(ldapstore.Config{URL: f.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, StartUnreachable: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := exampleMapping(t)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := gw.CheckMapping(ctx, m); !ldapstore.IsUnavailable(err) {
		t.Fatalf("CheckMapping during the outage: %v", err)
	}
	go gw.LearnSchemaWhenReachable(ctx)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	c := &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}
	f.Up(t)
	refused := func() bool { return c.Do("GET", "/Users"+filterQ(`externalId sw "x"`), nil).Status == 400 }
	eventually(t, "substring rules learnt once the directory answers", refused)

	f.Down()
	_, file, _, _ := runtime.Caller(0)
	if err := gw.ReloadMapping(ctx, filepath.Join(filepath.Dir(file), "..", "mappings.example.yaml")); err != nil {
		t.Fatalf("reload during the outage: %v", err)
	}
	f.Up(t)
	eventually(t, "the directory is back", func() bool { return c.Do("GET", "/Users?count=1", nil).Status == 200 })
	if !refused() {
		t.Error("a reload during an outage forgot the substring rules")
	}
}
