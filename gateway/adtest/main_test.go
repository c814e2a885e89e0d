// Package adtest runs the gateway against a real Active Directory domain
// controller (Samba AD DC, started by internal/sambatest from
// scripts/samba-ad-up.sh) with mappings.ad.example.yaml. No LDAP mocks. The
// tests need root; elsewhere they are skipped (sambatest.Main says why).
package adtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/sambatest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

var dc *sambatest.Server

// ou is where the AD mapping keeps users and groups; TestMain creates it.
const ou = "OU=scim,DC=example,DC=test"

func TestMain(m *testing.M) {
	sambatest.Main(m, &dc, func() error {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		add := ldap.NewAddRequest(ou, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{"scim"})
		return c.Add(add)
	})
}

const (
	token      = "ad-test-token"
	userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
	entSchema  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	grpSchema  = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// dial opens an LDAPS connection bound as the domain administrator.
func dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig()))
	if err != nil {
		return nil, err
	}
	if err := c.Bind(dc.BindDN, dc.Password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func tlsConfig() *tls.Config {
	pem, err := os.ReadFile(dc.CAFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func adMapping(t testing.TB) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	m, err := mapping.Load(filepath.Join(filepath.Dir(file), "..", "..", "mappings.ad.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type env struct {
	t    *testing.T
	srv  *httptest.Server
	ldap *ldap.Conn
	logs *bytes.Buffer
}

// newEnv serves the AD mapping over LDAPS (url "") or the given directory URL.
func newEnv(t *testing.T, ldapURL string) *env {
	t.Helper()
	if ldapURL == "" {
		ldapURL = dc.LDAPSURL
	}
	store, err := ldapstore.Open(ldapstore.Config{URL: ldapURL, BindDN: dc.BindDN, BindPassword: dc.Password, CAFile: dc.CAFile, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	logs := &bytes.Buffer{}
	gw := gateway.New(gateway.Config{Mapping: adMapping(t), Store: store, Log: zerolog.New(zerolog.SyncWriter(logs)), Tokens: []string{token}})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{t: t, srv: srv, ldap: c, logs: logs}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (e *env) do(method, path string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %q", method, path, raw)
		}
	}
	if out.Status >= 500 {
		e.t.Errorf("%s %s: %d %s", method, path, out.Status, raw)
	}
	return out
}

func (e *env) mustCreate(path string, body map[string]any) string {
	e.t.Helper()
	r := e.do("POST", path, body)
	if r.Status != 201 {
		e.t.Fatalf("create %s: %d %s", path, r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

func (e *env) mustPatch(path string, body map[string]any, hdr ...string) response {
	e.t.Helper()
	r := e.do("PATCH", path, body, hdr...)
	if r.Status != 200 && r.Status != 204 {
		e.t.Fatalf("PATCH %s: %d %s", path, r.Status, r.Raw)
	}
	return r
}

// entry reads the entry with the given filter under the OU straight from the DC
// (nil when not exactly one matches), with objectGUID and the account state.
func (e *env) entry(filter string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, 0, 0, 0, false, filter,
		[]string{"*", "objectGUID", "uSNChanged", "whenCreated", "memberOf"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

// byID reads the entry whose objectGUID is the SCIM id, through an escaped-byte filter.
func (e *env) byID(id string) *ldap.Entry {
	e.t.Helper()
	raw, ok := mapping.ParseGUID(id)
	if !ok {
		e.t.Fatalf("id %q is not a GUID", id)
	}
	var f strings.Builder
	for _, b := range raw {
		fmt.Fprintf(&f, `\%02x`, b)
	}
	return e.entry("(objectGUID=" + f.String() + ")")
}

// canBind reports whether dn (or a UPN) can bind with pw over LDAPS.
func canBind(t *testing.T, who, pw string) bool {
	c, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(who, pw) == nil
}

func wantError(t *testing.T, r response, status int, scimType, mention string) {
	t.Helper()
	if r.Status != status || r.Body["status"] != fmt.Sprint(status) {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if st, _ := r.Body["scimType"].(string); st != scimType {
		t.Errorf("scimType %q, want %q (%s)", st, scimType, r.Raw)
	}
	if d, _ := r.Body["detail"].(string); !strings.Contains(d, mention) {
		t.Errorf("detail should mention %q: %s", mention, r.Raw)
	}
}

func patchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func user(userName string, extra map[string]any) map[string]any {
	u := map[string]any{"schemas": []string{userSchema, entSchema}, "userName": userName}
	for k, v := range extra {
		u[k] = v
	}
	return u
}

func filterQ(f string) string { return "?filter=" + url.QueryEscape(f) }

func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// dnOf is the DN the AD mapping gives a user or group named cn, lower-cased.
func dnOf(cn string) string { return strings.ToLower("CN=" + ldap.EscapeDN(cn) + "," + ou) }

func memberDNs(e *ldap.Entry) []string {
	var out []string
	for _, v := range e.GetAttributeValues("member") {
		out = append(out, strings.ToLower(v))
	}
	return out
}

func uac(e *ldap.Entry) int {
	var n int
	fmt.Sscan(e.GetAttributeValue("userAccountControl"), &n)
	return n
}
