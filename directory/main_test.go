package directory

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// The package's integration tests share one throwaway slapd (internal/slapdtest).
var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

// testEnv is the directory layer over the shared slapd with the example
// mapping (mappings.example.yaml), and an admin connection to check entries.
type testEnv struct {
	m    *mapping.Mapping
	snap *Snapshot
	conn *ldap.Conn
}

func newTestEnv(t *testing.T) *testEnv { t.Helper(); return newTestEnvConns(t, 1) }

// newTestEnvConns is newTestEnv with conns connections to slapd (searches at
// the same time).
func newTestEnvConns(t *testing.T, conns int) *testEnv {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	m, err := mapping.Load(filepath.Join(filepath.Dir(file), "..", "mappings.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	conn, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Bind(slapd.BindDN, slapd.Password); err != nil {
		t.Fatal(err)
	}
	d := New(store, zerolog.Nop(), nil)
	return &testEnv{m: m, snap: d.Snapshot(m, "https://scim.example.org/scim/v2"), conn: conn}
}

// create creates a resource of type typ and returns its id and DN.
func (e *testEnv) create(t *testing.T, typ string, res map[string]any) (id, dn string) {
	t.Helper()
	r := e.snap.Resources(e.m.ResourceType(typ))
	w, err := r.Create(t.Context(), res)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.GetDN(t.Context(), w.DN, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got.ID, got.DN
}

// values reads attr of the entry dn.
func (e *testEnv) values(t *testing.T, dn, attr string) []string {
	t.Helper()
	res, err := e.conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{attr}, nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValues(attr)
}
