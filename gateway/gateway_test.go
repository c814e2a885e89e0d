package gateway_test

// Integration tests: the gateway in front of a real, private slapd (started by
// internal/slapdtest from scripts/slapd-up.sh). No LDAP mocks.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

const token = "test-token-123"

const (
	userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
	entSchema  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

type env struct {
	*scimtest.Client
	t      *testing.T
	srv    *httptest.Server
	ldap   *ldap.Conn
	logBuf *bytes.Buffer
	gw     *gateway.Server
}

// The SCIM client side is shared with the AD tests (internal/scimtest).
type response = scimtest.Response

var (
	wantError = scimtest.WantError
	patchBody = scimtest.PatchBody
	op        = scimtest.Op
	user      = scimtest.User
	filterQ   = scimtest.FilterQ
	get       = scimtest.Get
	memberDNs = scimtest.MemberDNs
)

func exampleMapping(t testing.TB) *mapping.Mapping { return loadMapping(t, "mappings.example.yaml") }

// Edits of mappings.example.yaml that tests share (editedExampleMapping).
var (
	// withPassword maps password (set through Password Modify, RFC 3062).
	withPassword = [2]string{"      userName:                      {ldap: uid, uniqueness: server}\n",
		"      userName:                      {ldap: uid, uniqueness: server}\n      password:                      {ldap: userPassword}\n"}
	// withoutGroups drops groups (memberOf needs the memberof overlay).
	withoutGroups = [][2]string{{"      # Read-only: the groups a user is in, from the memberOf overlay.\n", ""},
		{"      groups:                        {ldap: memberOf, reference: Group}\n", ""}}
)

// editedExampleMapping loads mappings.example.yaml with each edit (old → new)
// applied; each old text must occur exactly once, so an edit that no longer
// fits the file fails the test instead of silently testing something else.
func editedExampleMapping(t testing.TB, edits ...[2]string) *mapping.Mapping {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "mappings.example.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	for _, edit := range edits {
		if edit[0] != "" && strings.Count(src, edit[0]) != 1 {
			t.Fatalf("mappings.example.yaml no longer has %q once: update the test's edit", edit[0])
		}
		if edit[0] == "" { // prepend top-level lines
			src = edit[1] + src
			continue
		}
		src = strings.Replace(src, edit[0], edit[1], 1)
	}
	m, err := mapping.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loadMapping loads a mapping file by its path from the repository root.
func loadMapping(t testing.TB, path string) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	m, err := mapping.Load(filepath.Join(filepath.Dir(file), "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openStore(t testing.TB) *ldapstore.Store {
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

func newEnv(t *testing.T) *env { return newEnvWith(t, exampleMapping(t)) }

func newEnvWith(t *testing.T, m *mapping.Mapping) *env { return newEnvOn(t, m, openStore(t)) }

// newEnvOn serves m from store (bound as whoever the test needs).
func newEnvOn(t *testing.T, m *mapping.Mapping, store *ldapstore.Store) *env {
	return newEnvFrom(t, gateway.Config{Mapping: m, Store: store})
}

// newEnvFrom serves cfg (Mapping and Store set) with the test's tokens, no
// failure limit, and the request log in env.logBuf.
func newEnvFrom(t *testing.T, cfg gateway.Config) *env {
	t.Helper()
	logBuf := &bytes.Buffer{}
	cfg.Log = zerolog.New(zerolog.SyncWriter(logBuf))
	cfg.Tokens, cfg.AuthFailureBurst = []string{"other", token}, -1
	gw := gateway.New(cfg)
	// As `scim2ldap serve` does before it listens: the mapping against the live schema.
	if err := gw.CheckMapping(context.Background(), cfg.Mapping); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(slapd.BindDN, slapd.Password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{Client: &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}, t: t, srv: srv, ldap: c, logBuf: logBuf, gw: gw}
}

// entry reads an entry straight from slapd.
func (e *env) entry(filter string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false,
		filter, []string{"*", "entryUUID", "entryCSN"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

func (e *env) countPeople() int {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return len(res.Entries)
}

// eventually polls cond (up to 10 s) for what the directory does asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: still not the case after 10s", what)
}

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	body := user("alice@example.org", map[string]any{
		"externalId":   "0a21f0f2-8a2b",
		"active":       true,
		"name":         map[string]any{"givenName": "Alice", "familyName": "Smith", "formatted": "Alice Smith"},
		"emails":       []any{map[string]any{"primary": true, "type": "work", "value": "alice@example.org"}, map[string]any{"type": "home", "value": "alice@home.example"}},
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}},
		"title":        "Engineer",
		entSchema:      map[string]any{"employeeNumber": "701984", "department": "Tour Operations"},
		"roles":        []any{},
		"addresses":    nil,
	})
	r := e.Do("POST", "/Users", body)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id, _ := r.Body["id"].(string)
	if loc := r.Header.Get("Location"); loc != e.srv.URL+"/scim/v2/Users/"+id {
		t.Errorf("Location %q", loc)
	}
	if get(r.Body, "meta", "location") != r.Header.Get("Location") {
		t.Errorf("meta.location %v", get(r.Body, "meta", "location"))
	}

	// The entry is in slapd with the mapped attributes, and id is its entryUUID.
	ent := e.entry("(uid=alice@example.org)")
	if ent == nil {
		t.Fatal("no entry in slapd")
	}
	if ent.DN != "uid=alice@example.org,ou=people,dc=example,dc=org" {
		t.Errorf("DN %q", ent.DN)
	}
	for attr, want := range map[string]string{
		"entryUUID": id, "givenName": "Alice", "sn": "Smith", "cn": "Alice Smith", "mail": "alice@example.org",
		"telephoneNumber": "+1 555 0100", "title": "Engineer", "employeeNumber": "701984",
		"departmentNumber": "Tour Operations", "uniqueIdentifier": "0a21f0f2-8a2b",
	} {
		if got := ent.GetAttributeValues(attr); len(got) != 1 || got[0] != want {
			t.Errorf("LDAP %s = %q, want %q", attr, got, want)
		}
	}
	if etag := r.Header.Get("ETag"); etag != `W/"`+ent.GetAttributeValue("entryCSN")+`"` || get(r.Body, "meta", "version") != etag {
		t.Errorf("ETag %q, meta.version %v, entryCSN %q", etag, get(r.Body, "meta", "version"), ent.GetAttributeValue("entryCSN"))
	}
	for _, k := range []string{"created", "lastModified"} {
		if s, _ := get(r.Body, "meta", k).(string); len(s) != len("2006-01-02T15:04:05Z") {
			t.Errorf("meta.%s = %q", k, s)
		}
	}
	if get(r.Body, "meta", "resourceType") != "User" {
		t.Errorf("meta.resourceType %v", get(r.Body, "meta", "resourceType"))
	}

	// GET by id.
	g := e.Do("GET", "/Users/"+id, nil)
	if g.Status != 200 || g.Body["userName"] != "alice@example.org" || get(g.Body, "name", "givenName") != "Alice" ||
		get(g.Body, "emails", "0", "value") != "alice@example.org" || get(g.Body, "emails", "0", "type") != "work" ||
		get(g.Body, entSchema, "employeeNumber") != "701984" || g.Body["externalId"] != "0a21f0f2-8a2b" {
		t.Fatalf("get: %d %s", g.Status, g.Raw)
	}
	if n := len(g.Body["emails"].([]any)); n != 1 {
		t.Errorf("emails %d: only the mapped work e-mail exists", n)
	}

	// Find by userName, case-insensitively; by externalId; by id.
	for _, f := range []string{`userName eq "ALICE@example.org"`, `externalId eq "0a21f0f2-8a2b"`, `id eq "` + id + `"`} {
		l := e.Do("GET", "/Users"+filterQ(f), nil)
		if l.Status != 200 || l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "id") != id {
			t.Errorf("filter %s: %d %s", f, l.Status, l.Raw)
		}
	}
	// externalId is caseExact (RFC 7643 §3.1).
	if l := e.Do("GET", "/Users"+filterQ(`externalId eq "0A21F0F2-8A2B"`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("externalId matched case-insensitively: %s", l.Raw)
	}

	// Duplicate userName in another case → 409 uniqueness, nothing written.
	before := e.countPeople()
	wantError(t, e.Do("POST", "/Users", user("ALICE@EXAMPLE.ORG", nil)), 409, "uniqueness")
	if e.countPeople() != before {
		t.Error("a duplicate was written")
	}

	// PUT replaces: givenName changes, title and phone (absent) are cleared, read-only ignored.
	put := user("alice@example.org", map[string]any{
		"id": "ignored", "meta": map[string]any{"created": "2000-01-01T00:00:00Z"},
		"name":       map[string]any{"givenName": "Alicia", "familyName": "Smith"},
		"emails":     []any{map[string]any{"type": "work", "value": "alicia@example.org"}},
		"externalId": "0a21f0f2-8a2b",
	})
	p := e.Do("PUT", "/Users/"+id, put)
	if p.Status != 200 || get(p.Body, "name", "givenName") != "Alicia" || p.Body["title"] != nil || p.Body["id"] != id {
		t.Fatalf("put: %d %s", p.Status, p.Raw)
	}
	ent = e.entry("(entryUUID=" + id + ")")
	if ent.GetAttributeValue("givenName") != "Alicia" || ent.GetAttributeValue("title") != "" || ent.GetAttributeValue("telephoneNumber") != "" ||
		ent.GetAttributeValue("employeeNumber") != "" || ent.GetAttributeValue("mail") != "alicia@example.org" {
		t.Errorf("after PUT: %v", ent.Attributes)
	}
	if cn := ent.GetAttributeValue("cn"); cn != "Alicia Smith" {
		t.Errorf("cn default = %q, want the first template that fills", cn)
	}

	// DELETE → 204, then 404.
	if d := e.Do("DELETE", "/Users/"+id, nil); d.Status != 204 || d.Raw != "" {
		t.Fatalf("delete: %d %q", d.Status, d.Raw)
	}
	wantError(t, e.Do("GET", "/Users/"+id, nil), 404, "")
	wantError(t, e.Do("DELETE", "/Users/"+id, nil), 404, "")
	if e.entry("(uid=alice@example.org)") != nil {
		t.Error("entry still in slapd")
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, hdr := range []string{"", "Bearer", "Bearer wrong", "Basic dXNlcjpwYXNz", "Bearer " + token + "x"} {
		for _, path := range []string{"/Users", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users/x"} {
			r := e.Do("GET", path, nil, "Authorization", hdr)
			wantError(t, r, 401, "")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", path, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if r := e.Do("GET", "/Users", nil, "Authorization", "bearer "+token); r.Status != 200 {
		t.Errorf("scheme is case-insensitive (RFC 7235): %d", r.Status)
	}
	if strings.Contains(e.logBuf.String(), token) {
		t.Error("the token reached the log")
	}
}

func TestBadInputIsPreciseAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	before := e.countPeople()
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
		detail   string
	}{
		{"not JSON", "{bad", 400, "invalidSyntax", "JSON"},
		{"empty", "", 400, "invalidSyntax", "empty"},
		{"array", "[]", 400, "invalidSyntax", "JSON"},
		{"trailing data", `{"userName":"x"} {}`, 400, "invalidSyntax", "after"},
		{"no userName", user("", map[string]any{"displayName": "x"}), 400, "invalidValue", "userName"},
		{"userName not a string", map[string]any{"userName": 5}, 400, "invalidValue", "userName"},
		{"name not an object", map[string]any{"userName": "n1", "name": "x"}, 400, "invalidValue", "name"},
		{"emails not an array", map[string]any{"userName": "n2", "emails": "a@b"}, 400, "invalidValue", "emails"},
		{"wrong schema", map[string]any{"schemas": []string{"urn:x"}, "userName": "n3"}, 400, "invalidValue", "schemas"},
		{"unknown manager", user("n4", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": "7d3bcbf1-0000-0000-0000-000000000000"}}}), 400, "invalidValue", "manager"},
		{"manager not a string", user("n5", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": 12}}}), 400, "invalidValue", "manager"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do("POST", "/Users", c.body)
			wantError(t, r, c.status, c.scimType)
			if d, _ := r.Body["detail"].(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q should mention %q", d, c.detail)
			}
		})
	}
	r := e.Do("POST", "/Users", `{"userName":"ct"}`, "Content-Type", "text/plain")
	wantError(t, r, 415, "invalidSyntax")
	big := `{"userName":"` + strings.Repeat("x", gateway.MaxBodyBytes) + `"}`
	wantError(t, e.Do("POST", "/Users", big), 413, "")

	for _, q := range []string{filterQ(`userName eq`), filterQ(`nickName eq "x"`), filterQ(`userName eq "a" or`), "?startIndex=abc", "?count=1.5"} {
		r := e.Do("GET", "/Users"+q, nil)
		if r.Status != 400 {
			t.Errorf("GET %s: %d %s", q, r.Status, r.Raw)
		}
	}
	wantError(t, e.Do("GET", "/Users"+filterQ(`nickName eq "x"`), nil), 400, "invalidFilter")
	if e.countPeople() != before {
		t.Errorf("bad input wrote entries: %d → %d", before, e.countPeople())
	}
	wantError(t, e.Do("GET", "/Users/not-a-uuid", nil), 404, "")
	wantError(t, e.Do("PUT", "/Users/00000000-0000-0000-0000-000000000000", user("ghost", nil)), 404, "")
	r405 := e.Do("DELETE", "/Users", nil)
	wantError(t, r405, 405, "")
	if got := r405.Header.Get("Allow"); got != "GET, HEAD, POST" { // RFC 9110 §15.5.6
		t.Errorf("405 on /Users: Allow %q, want \"GET, HEAD, POST\"", got)
	}
	if got := e.Do("POST", "/Users/00000000-0000-0000-0000-000000000000", user("x", nil)).Header.Get("Allow"); got != "GET, HEAD, PUT, PATCH, DELETE" {
		t.Errorf("405 on /Users/{id}: Allow %q", got)
	}
	for _, path := range []string{"/Users/.search", "/Groups/.search", "/.search"} { // RFC 7644 §3.4.3: POST only
		for _, method := range []string{"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			r := e.Do(method, path, nil)
			if method != "HEAD" { // no body (RFC 9110 §9.3.2)
				wantError(t, r, 405, "")
			}
			if r.Status != 405 {
				t.Errorf("%s %s: status %d", method, path, r.Status)
			}
			if got := r.Header.Get("Allow"); got != "POST" {
				t.Errorf("%s %s: Allow %q, want \"POST\"", method, path, got)
			}
		}
	}
	wantError(t, e.Do("GET", "/Nope", nil), 404, "")
}

func TestEscapingOfDNsAndFilters(t *testing.T) {
	e := newEnv(t)
	names := []string{`o'malley, jr+x=y;"q"<a>\b#`, `star*(paren)`, ` lead`, `#hash`, `zoë@example.org`}
	for _, n := range names {
		r := e.Do("POST", "/Users", user(n, nil))
		if r.Status != 201 {
			t.Fatalf("create %q: %d %s", n, r.Status, r.Raw)
		}
		l := e.Do("GET", "/Users"+filterQ(fmt.Sprintf(`userName eq %q`, n)), nil)
		if l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "userName") != n {
			t.Errorf("filter for %q: %s", n, l.Raw)
		}
	}
	// A '*' in a value is a literal, never a wildcard.
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "star*"`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("'*' acted as a wildcard: %s", l.Raw)
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 7; i++ {
		if r := e.Do("POST", "/Users", user(fmt.Sprintf("pager%d", i), map[string]any{"title": "Pager"})); r.Status != 201 {
			t.Fatal(r.Raw)
		}
	}
	q := filterQ(`title eq "Pager"`)
	var ids []string
	for start := 1; start <= 7; start += 3 {
		l := e.Do("GET", fmt.Sprintf("/Users%s&startIndex=%d&count=3", q, start), nil)
		if l.Body["totalResults"] != 7.0 || l.Body["startIndex"] != float64(start) {
			t.Fatalf("page %d: %s", start, l.Raw)
		}
		res := l.Body["Resources"].([]any)
		if l.Body["itemsPerPage"] != float64(len(res)) || len(res) != min(3, 8-start) {
			t.Errorf("page at %d has %d items: %s", start, len(res), l.Raw)
		}
		for _, r := range res {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(seen) != 7 {
		t.Errorf("pages returned %d distinct users, want 7", len(seen))
	}
	l := e.Do("GET", "/Users"+q+"&startIndex=50", nil)
	if res, ok := l.Body["Resources"].([]any); !ok || len(res) != 0 || l.Body["totalResults"] != 7.0 {
		t.Errorf("past the end: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+q+"&count=0", nil)
	if res, ok := l.Body["Resources"].([]any); !ok || len(res) != 0 || l.Body["totalResults"] != 7.0 {
		t.Errorf("count=0: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+q+"&startIndex=-4&count=-1", nil)
	if l.Status != 200 || l.Body["startIndex"] != 1.0 || l.Body["itemsPerPage"] != 0.0 {
		t.Errorf("negative values: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+filterQ(`userName eq "7d3bcbf1-nobody"`), nil)
	if res, ok := l.Body["Resources"].([]any); l.Status != 200 || !ok || len(res) != 0 || l.Body["totalResults"] != 0.0 {
		t.Errorf("no match must be 200 with Resources: [] (Entra's Test Connection): %s", l.Raw)
	}
}

func TestAttributesAndExcludedAttributes(t *testing.T) {
	e := newEnv(t)
	r := e.Do("POST", "/Users?attributes=userName", user("proj@example.org", map[string]any{
		"name": map[string]any{"givenName": "P", "familyName": "Roj"}, "title": "T", entSchema: map[string]any{"employeeNumber": "9"}}))
	if r.Status != 201 || r.Body["title"] != nil || r.Body["userName"] != "proj@example.org" || r.Body["id"] == nil {
		t.Fatalf("create with attributes: %s", r.Raw)
	}
	id := r.Body["id"].(string)
	g := e.Do("GET", "/Users/"+id+"?attributes=name.givenName,"+url.QueryEscape(entSchema+":employeeNumber"), nil)
	if get(g.Body, "name", "givenName") != "P" || get(g.Body, "name", "familyName") != nil || g.Body["userName"] != nil ||
		get(g.Body, entSchema, "employeeNumber") != "9" || g.Body["id"] != id {
		t.Errorf("attributes: %s", g.Raw)
	}
	g = e.Do("GET", "/Users/"+id+"?excludedAttributes=name,title,"+url.QueryEscape(entSchema), nil)
	if g.Body["name"] != nil || g.Body["title"] != nil || g.Body[entSchema] != nil || g.Body["userName"] != "proj@example.org" || g.Body["id"] != id {
		t.Errorf("excludedAttributes: %s", g.Raw)
	}
	l := e.Do("GET", "/Users"+filterQ(`userName eq "proj@example.org"`)+"&attributes=title", nil)
	if get(l.Body, "Resources", "0", "title") != "T" || get(l.Body, "Resources", "0", "userName") != nil {
		t.Errorf("list attributes: %s", l.Raw)
	}
}

func TestManagerReference(t *testing.T) {
	e := newEnv(t)
	boss := e.Do("POST", "/Users", user("boss@example.org", nil))
	bossID := boss.Body["id"].(string)
	emp := e.Do("POST", "/Users", user("emp@example.org", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": bossID}}}))
	if emp.Status != 201 || get(emp.Body, entSchema, "manager", "value") != bossID ||
		get(emp.Body, entSchema, "manager", "$ref") != e.srv.URL+"/scim/v2/Users/"+bossID {
		t.Fatalf("manager: %s", emp.Raw)
	}
	if dn := e.entry("(uid=emp@example.org)").GetAttributeValue("manager"); dn != "uid=boss@example.org,ou=people,dc=example,dc=org" {
		t.Errorf("LDAP manager = %q", dn)
	}
	// Entra's shape: the manager as a bare id string.
	emp2 := e.Do("POST", "/Users", user("emp2@example.org", map[string]any{entSchema: map[string]any{"manager": bossID}}))
	if get(emp2.Body, entSchema, "manager", "value") != bossID {
		t.Errorf("bare-id manager: %s", emp2.Raw)
	}
	// Renaming the manager keeps the reference (refint), and the id.
	empID := emp.Body["id"].(string)
	rn := e.Do("PUT", "/Users/"+bossID, user("chief@example.org", nil))
	if rn.Status != 200 || rn.Body["id"] != bossID || rn.Body["userName"] != "chief@example.org" {
		t.Fatalf("rename: %s", rn.Raw)
	}
	if e.entry("(uid=chief@example.org)") == nil || e.entry("(uid=boss@example.org)") != nil {
		t.Error("rename did not move the entry")
	}
	// slapd's refint overlay rewrites references in a background thread after the
	// modrdn, so the new DN shows up shortly after the rename returns.
	eventually(t, "manager follows the rename", func() bool {
		return e.entry("(uid=emp@example.org)").GetAttributeValue("manager") == "uid=chief@example.org,ou=people,dc=example,dc=org"
	})
	g := e.Do("GET", "/Users/"+empID, nil)
	if get(g.Body, entSchema, "manager", "value") != bossID {
		t.Errorf("manager after rename: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "`+bossID+`"`), nil); l.Body["totalResults"] != 2.0 {
		t.Errorf("filter on manager: %s", l.Raw)
	}
	// Renaming onto a taken userName is a 409 and changes nothing.
	wantError(t, e.Do("PUT", "/Users/"+bossID, user("EMP@example.org", nil)), 409, "uniqueness")
	if e.entry("(uid=chief@example.org)") == nil {
		t.Error("failed rename changed the entry")
	}
}

func TestIfMatch(t *testing.T) {
	e := newEnv(t)
	c := e.Do("POST", "/Users", user("etag@example.org", nil))
	id, etag := c.Body["id"].(string), c.Header.Get("ETag")
	p := e.Do("PUT", "/Users/"+id, user("etag@example.org", map[string]any{"title": "v2"}), "If-Match", etag)
	if p.Status != 200 || p.Header.Get("ETag") == etag {
		t.Fatalf("PUT with the current ETag: %d %s", p.Status, p.Raw)
	}
	wantError(t, e.Do("PUT", "/Users/"+id, user("etag@example.org", map[string]any{"title": "v3"}), "If-Match", etag), 412, "")
	if e.entry("(uid=etag@example.org)").GetAttributeValue("title") != "v2" {
		t.Error("a stale If-Match wrote")
	}
	wantError(t, e.Do("DELETE", "/Users/"+id, nil, "If-Match", etag), 412, "")
	if d := e.Do("DELETE", "/Users/"+id, nil, "If-Match", p.Header.Get("ETag")); d.Status != 204 {
		t.Errorf("delete with the current ETag: %d %s", d.Status, d.Raw)
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	spc := e.Do("GET", "/ServiceProviderConfig", nil)
	if spc.Status != 200 || get(spc.Body, "filter", "supported") != true || get(spc.Body, "patch", "supported") != true ||
		get(spc.Body, "etag", "supported") != true || get(spc.Body, "authenticationSchemes", "0", "type") != "oauthbearertoken" {
		t.Errorf("ServiceProviderConfig: %s", spc.Raw)
	}
	rts := e.Do("GET", "/ResourceTypes", nil)
	if rts.Body["totalResults"] != 2.0 || get(rts.Body, "Resources", "0", "endpoint") != "/Users" ||
		get(rts.Body, "Resources", "0", "schemaExtensions", "0", "schema") != entSchema ||
		get(rts.Body, "Resources", "1", "endpoint") != "/Groups" {
		t.Errorf("ResourceTypes: %s", rts.Raw)
	}
	if r := e.Do("GET", "/ResourceTypes/User", nil); r.Status != 200 || r.Body["schema"] != userSchema {
		t.Errorf("ResourceTypes/User: %s", r.Raw)
	}
	wantError(t, e.Do("GET", "/ResourceTypes/Nope", nil), 404, "")
	s := e.Do("GET", "/Schemas/"+userSchema, nil)
	attrs := map[string]map[string]any{}
	for _, a := range s.Body["attributes"].([]any) {
		m := a.(map[string]any)
		attrs[m["name"].(string)] = m
	}
	if len(attrs) == 0 || attrs["nickName"] != nil || attrs["password"] != nil || attrs["addresses"] != nil {
		t.Errorf("only mapped attributes are advertised: %v", attrs)
	}
	un := attrs["userName"]
	if un["type"] != "string" || un["uniqueness"] != "server" || un["caseExact"] != false || un["required"] != true || un["mutability"] != "readWrite" || un["multiValued"] != false {
		t.Errorf("userName: %v", un)
	}
	em := attrs["emails"]
	if em["multiValued"] != true || em["type"] != "complex" {
		t.Errorf("emails: %v", em)
	}
	subs := map[string]any{}
	for _, sa := range em["subAttributes"].([]any) {
		subs[sa.(map[string]any)["name"].(string)] = sa
	}
	if len(subs) != 2 || subs["value"] == nil || fmt.Sprint(subs["type"].(map[string]any)["canonicalValues"]) != "[work]" {
		t.Errorf("emails sub-attributes: %v", subs)
	}
	if gr := attrs["groups"]; gr == nil || gr["mutability"] != "readOnly" {
		t.Errorf("groups must be advertised read-only: %v", gr)
	}
	if ac := attrs["active"]; ac == nil || ac["type"] != "boolean" {
		t.Errorf("active: %v", ac)
	}
	if sc := e.Do("GET", "/Schemas", nil); sc.Body["totalResults"] != 3.0 {
		t.Errorf("Schemas: %s", sc.Raw)
	}
	ent := e.Do("GET", "/Schemas/"+entSchema, nil)
	var names []string
	for _, a := range ent.Body["attributes"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "employeeNumber,department,manager" {
		t.Errorf("enterprise attributes: %v", names)
	}
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	e.Do("POST", "/Users", user("logged@example.org", nil))
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logBuf.String()), "\n") {
		json.Unmarshal([]byte(l), &line)
	}
	if line["method"] != "POST" || line["path"] != "/scim/v2/Users" || line["status"] != 201.0 || line["ldap_ops"] != 4.0 || line["duration"] == nil {
		t.Errorf("log line: %v", line)
	}
	if strings.Contains(e.logBuf.String(), token) || strings.Contains(e.logBuf.String(), slapd.Password) {
		t.Error("a secret reached the log")
	}
}

// RFC 7644 §3.11: a service provider without /Me SHOULD answer 501. Clients
// authenticate here with provisioning tokens, which are no user.
func TestMeIsNotImplemented(t *testing.T) {
	e := newEnv(t)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		var body any
		if m != "GET" && m != "DELETE" {
			body = map[string]any{"schemas": []string{userSchema}, "userName": "me"}
		}
		wantError(t, e.Do(m, "/Me", body), 501, "", "/Me is not supported", "provisioning credentials")
	}
	if r := e.Do("HEAD", "/Me", nil); r.Status != 501 {
		t.Errorf("HEAD /Me: %d", r.Status)
	}
	if r := e.Do("GET", "/Me", nil, "Authorization", "Bearer wrong"); r.Status != 401 {
		t.Errorf("GET /Me with a wrong token: %d, want 401 before anything else", r.Status)
	}
}

// changePassword.supported (RFC 7643 §5) follows the mapping: true when a
// served resource type maps password, as docs/examples/openldap-posix.yaml does.
func TestChangePasswordIsAdvertisedWhenPasswordIsMapped(t *testing.T) {
	for file, want := range map[string]bool{"mappings.example.yaml": false, "docs/examples/openldap-posix.yaml": true} {
		e := newEnvWith(t, loadMapping(t, file))
		spc := e.Do("GET", "/ServiceProviderConfig", nil)
		if got := get(spc.Body, "changePassword", "supported"); got != want {
			t.Errorf("%s: changePassword.supported = %v, want %v", file, got, want)
		}
	}
}
