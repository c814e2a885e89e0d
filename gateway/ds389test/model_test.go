package ds389test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimmodel"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// The model's own containers, apart from those the other tests leave entries
// in: every sequence starts by emptying them, and after it every entry there
// must be one the model has.
const (
	modelPeople = "ou=model-people,dc=example,dc=org"
	modelGroups = "ou=model-groups,dc=example,dc=org"
)

// modelDefaults are the rapid flags of a plain `go test`: a fixed seed, and
// fewer sequences than the OpenLDAP run (389 DS hashes every password with
// PBKDF2-SHA512), to stay within `make test`'s budget. Flags given on the
// command line or as RAPID_* win.
var modelDefaults = map[string]string{
	"rapid.seed":       "1",
	"rapid.checks":     "30",
	"rapid.steps":      "16",
	"rapid.shrinktime": "30s",
	"rapid.nofailfile": "true", // the seed reproduces a failure; no files in testdata/
}

// TestModel389DS is gateway.TestModel on 389 Directory Server: the same
// generated request sequences (internal/scimmodel) through
// mappings.389ds.example.yaml over LDAPS, as the service account, the
// directory read back (as the Directory Manager) and held to the same model.
// What differs on 389 DS: ids are nsUniqueIds; active false is
// nsAccountLock: true; an emptied group has no member value; the Referential
// Integrity plugin rewrites member values on renames and deletes before the
// gateway looks (the gateway keeps manager); there is no assertion control,
// so writes are guarded by values, and If-Match uses entryusn; case-only
// renames are two modrdns (directory's modifyDN: 389 DS 2.3.1 loses an entry
// case-renamed in one while other writes of it run). All the model's commands
// run, case-only renames and bursts included, one client and three at once.
func TestModel389DS(t *testing.T) {
	admin, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	for _, ou := range []struct{ dn, aci string }{
		{modelPeople, `(targetattr="* || nsAccountLock || nsUniqueId || entryusn || entrydn || createTimestamp || modifyTimestamp")(version 3.0; acl "scim2ldap model users"; allow (read, search, compare, write, add, delete) userdn="ldap:///` + ds.BindDN + `";)`},
		{modelGroups, `(targetattr="* || nsUniqueId || entryusn || entrydn || createTimestamp || modifyTimestamp")(version 3.0; acl "scim2ldap model groups"; allow (read, search, compare, write, add, delete) userdn="ldap:///` + ds.BindDN + `";)`},
	} {
		add := ldap.NewAddRequest(ou.dn, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("aci", []string{ou.aci})
		if err := admin.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatal(err)
		}
	}
	m := modelMapping(t)
	store, err := ldapstore.Open(ldapstore.Config{URL: ds.LDAPSURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	if err := gw.CheckMapping(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	scimmodel.Run(t, scimmodel.Config{
		URL: hs.URL + "/scim/v2", Token: token, Defaults: modelDefaults, Kinds: scimmodel.AllKinds,
		Directory: scimmodel.Directory{
			Admin:   admin,
			Dial:    func() (*ldap.Conn, error) { return ldap.DialURL(ds.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig())) },
			Dialect: m.Dialect, // ids are nsUniqueIds
			Base:    "dc=example,dc=org",
			Users:   scimmodel.Tree{Base: modelPeople, Filter: "(objectClass=*)"},
			Groups:  scimmodel.Tree{Base: modelGroups, Filter: "(objectClass=*)"},
			UserDN:  func(name string) string { return "uid=" + ldap.EscapeDN(name) + "," + modelPeople },
			GroupDN: func(name string) string { return "cn=" + ldap.EscapeDN(name) + "," + modelGroups },
			// The naming attributes: the DN must follow every rename.
			UserNameAttrs: []string{"uid"}, GroupNameAttrs: []string{"cn"},
			// active false is nsAccountLock: true (only that value reads as locked).
			LockAttr: "nsAccountLock",
			Locked:   func(v []string) bool { return len(v) > 0 },
			// entryusn changes with any write.
			SnapshotAttrs: []string{"*", "entryusn", "nsAccountLock"},
			// No lock unless a request asks for one.
			ActiveByDefault: true,
			// 389 DS's groupOfNames may be empty.
			EmptyGroupPlaceholder: false,
			// refint writes the new DN lower-cased on a rename.
			FoldedReferences: true,
			Pools:            scimmodel.DefaultPools,
			// Where ns-slapd waits, should it stop answering.
			Stuck: ds.Stacks,
		},
	})
}

// modelMapping is mappings.389ds.example.yaml with Users in modelPeople and
// Groups in modelGroups.
func modelMapping(t *testing.T) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "mappings.389ds.example.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	for old, repl := range map[string]string{"base: " + people: "base: " + modelPeople, "base: " + groups: "base: " + modelGroups} {
		if strings.Count(src, old) != 1 {
			t.Fatalf("mappings.389ds.example.yaml has %q %d times, not once: update the test", old, strings.Count(src, old))
		}
		src = strings.Replace(src, old, repl, 1)
	}
	m, err := mapping.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
