// Package ds389test runs the gateway against a real 389 Directory Server
// (started by internal/ds389test from scripts/ds389-up.sh) with
// mappings.389ds.example.yaml. No LDAP mocks. Without the 389-ds-base package
// the tests are skipped (ds389test.Main says why), unless
// SCIM2LDAP_REQUIRE_389DS=1.
package ds389test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/ds389test"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

var ds *ds389test.Server

func TestMain(m *testing.M) { ds389test.Main(m, &ds, nil) }

const (
	token     = "ds389-test-token"
	entSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	people    = "ou=people,dc=example,dc=org"
	groups    = "ou=groups,dc=example,dc=org"
)

// The SCIM client side is shared with the other directories' tests (internal/scimtest).
var (
	wantError = scimtest.WantError
	patchBody = scimtest.PatchBody
	op        = scimtest.Op
	user      = scimtest.User
	filterQ   = scimtest.FilterQ
	get       = scimtest.Get
	memberDNs = scimtest.MemberDNs
)

func tlsConfig() *tls.Config {
	pem, err := os.ReadFile(ds.CAFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// dial opens an LDAPS connection bound as the Directory Manager (reads every
// operational attribute, bypasses access control).
func dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(ds.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig()))
	if err != nil {
		return nil, err
	}
	if err := c.Bind(ds.RootDN, ds.RootPW); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func dsMapping(t testing.TB) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	m, err := mapping.Load(filepath.Join(filepath.Dir(file), "..", "..", "mappings.389ds.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type env struct {
	*scimtest.Client
	t    *testing.T
	srv  *httptest.Server
	ldap *ldap.Conn
	logs *bytes.Buffer
}

// newEnv serves the 389 DS mapping over LDAPS (url "") or the given directory URL.
func newEnv(t *testing.T, ldapURL string) *env {
	t.Helper()
	if ldapURL == "" {
		ldapURL = ds.LDAPSURL
	}
	store, err := ldapstore.Open(ldapstore.Config{URL: ldapURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	logs := &bytes.Buffer{}
	m := dsMapping(t)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.New(zerolog.SyncWriter(logs)), Tokens: []string{token}})
	// As `scim2ldap serve` does: the mapping against the directory's schema.
	if err := gw.CheckMapping(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs)
		}
	})
	return &env{Client: &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}, t: t, srv: srv, ldap: c, logs: logs}
}

// byID reads the entry whose nsUniqueId is id (nil when none), with the
// operational attributes the tests look at.
func (e *env) byID(id string) *ldap.Entry {
	e.t.Helper()
	return e.entry("dc=example,dc=org", "(nsUniqueId="+ldap.EscapeFilter(id)+")")
}

// entry reads the one entry below base matching filter (nil when not exactly one).
func (e *env) entry(base, filter string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, filter,
		[]string{"*", "nsUniqueId", "entryusn", "createTimestamp", "modifyTimestamp", "nsAccountLock", "memberOf"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

// canBind reports whether dn can bind with pw over LDAPS; a refusal other
// than 49 invalidCredentials or 53 unwillingToPerform (389 DS's answer for a
// locked account: "Account inactivated") fails the test.
func canBind(t testing.TB, dn, pw string) bool {
	t.Helper()
	c, err := ldap.DialURL(ds.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Bind(dn, pw)
	if err != nil && !ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultUnwillingToPerform) {
		t.Fatalf("bind as %s: %v", dn, err)
	}
	return err == nil
}

// peopleDN is the DN the mapping gives a user, lower-cased.
func peopleDN(userName string) string {
	return strings.ToLower("uid=" + ldap.EscapeDN(userName) + "," + people)
}

func lower(s string) string { return strings.ToLower(s) }

// containsLevel reports whether a JSON log holds a line of that level.
func containsLevel(log, level string) bool { return strings.Contains(log, `"level":"`+level+`"`) }
