// Package adtest runs the gateway against a real Active Directory domain
// controller (Samba AD DC, started by internal/sambatest from
// scripts/samba-ad-up.sh) with mappings.ad.example.yaml. No LDAP mocks. The
// tests need root; elsewhere they are skipped (sambatest.Main says why).
package adtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/sambatest"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
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
	token     = "ad-test-token"
	entSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	grpSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
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
	*scimtest.Client
	t    *testing.T
	srv  *httptest.Server
	ldap *ldap.Conn
	logs *bytes.Buffer
}

// The SCIM client side is shared with the OpenLDAP tests (internal/scimtest).
var (
	wantError = scimtest.WantError
	patchBody = scimtest.PatchBody
	op        = scimtest.Op
	user      = scimtest.User
	filterQ   = scimtest.FilterQ
	get       = scimtest.Get
	memberDNs = scimtest.MemberDNs
)

// newEnv serves the AD mapping over LDAPS (url "") or the given directory URL.
func newEnv(t *testing.T, ldapURL string) *env { return newEnvFrom(t, ldapURL, gateway.Config{}) }

// newEnvFrom is newEnv with cfg's settings (its Mapping, Store, Log and
// Tokens are set here).
func newEnvFrom(t *testing.T, ldapURL string, cfg gateway.Config) *env {
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
	m := adMapping(t)
	cfg.Mapping, cfg.Store, cfg.Log, cfg.Tokens = m, store, zerolog.New(zerolog.SyncWriter(logs)), []string{token}
	gw := gateway.New(cfg)
	// As `scim2ldap serve` does: the mapping against the DC's schema (names only
	// on AD; its subschema publishes no matching rules, so no filter is refused).
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
	return &env{Client: &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}, t: t, srv: srv, ldap: c, logs: logs}
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
func canBind(t testing.TB, who, pw string) bool {
	c, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(who, pw) == nil
}

// dnOf is the DN the AD mapping gives a user or group named cn, lower-cased.
func dnOf(cn string) string { return strings.ToLower("CN=" + ldap.EscapeDN(cn) + "," + ou) }

func uac(e *ldap.Entry) int {
	var n int
	fmt.Sscan(e.GetAttributeValue("userAccountControl"), &n)
	return n
}
