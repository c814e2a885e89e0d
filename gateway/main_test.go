package gateway_test

// Integration tests: the gateway in front of a real, private slapd (started by
// internal/slapdtest from scripts/slapd-up.sh). No LDAP mocks. This file holds
// what the tests share: the environment (a gateway, its log and a direct
// connection to slapd), mappings, and readers of the directory; the tests are
// in files named after the behaviour they hold.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
	// eventually polls for what slapd does asynchronously (refint).
	eventually = scimtest.Eventually
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
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
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

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

func (e *env) groupEntry(cn string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(cn="+ldap.EscapeFilter(cn)+")", []string{"*", "entryUUID"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

func (e *env) canBind(dn, pw string) bool {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(dn, pw) == nil
}

func peopleDN(uid string) string {
	return strings.ToLower("uid=" + uid + ",ou=people,dc=example,dc=org")
}

func (e *env) lockTime(dn string) string {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValue("pwdAccountLockedTime")
}

type prodEnv struct {
	t     *testing.T
	srv   *httptest.Server
	log   *syncBuf
	audit *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newProdEnv(t *testing.T, store *ldapstore.Store, cfg gateway.Config) *prodEnv {
	e := &prodEnv{t: t, log: &syncBuf{}, audit: &syncBuf{}}
	cfg.Mapping, cfg.Store, cfg.Log, cfg.Audit, cfg.ServeMetrics = exampleMapping(t), store, zerolog.New(e.log), e.audit, true
	e.srv = httptest.NewServer(gateway.New(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a request; auth is a full Authorization header value ("" for none).
func (e *prodEnv) call(method, path, auth string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	u := e.srv.URL + path
	if !strings.HasPrefix(path, "/healthz") && !strings.HasPrefix(path, "/readyz") && !strings.HasPrefix(path, "/metrics") {
		u = e.srv.URL + "/scim/v2" + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

func newUser(name string) map[string]any {
	return map[string]any{"schemas": []string{userSchema}, "userName": name,
		"name": map[string]any{"givenName": "Given" + name, "familyName": "Family"}}
}

func str(v any) string { s, _ := v.(string); return s }

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
