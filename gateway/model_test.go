package gateway_test

import (
	"net/http/httptest"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimmodel"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const (
	modelPeople = "ou=people,dc=example,dc=org"
	modelGroups = "ou=groups,dc=example,dc=org"
)

// modelDefaults are the rapid flags of a plain `go test` (fixed seed, bounded
// work: well under a minute here while nothing fails, shrinking included when
// something does); flags given on the command line or as RAPID_* win.
var modelDefaults = map[string]string{
	"rapid.seed":       "1",
	"rapid.checks":     "100",
	"rapid.steps":      "16",
	"rapid.shrinktime": "20s",
	"rapid.nofailfile": "true", // the seed reproduces a failure; no files in testdata/
}

// TestModel drives the whole gateway with generated request sequences and holds
// the directory to an in-memory model of what those requests must leave behind
// (internal/scimmodel: the model, the commands, the runner, the comparison). It
// runs against its own slapd with only the ppolicy overlay: no refint and no
// memberof, so every reference the directory holds is one the gateway wrote.
//
// The contract the model encodes:
//   - a user with active false cannot bind, whatever else the same or a later
//     request does (active is a ppolicy lock: pwdAccountLockedTime present);
//   - DELETE of a user removes its DN from every group's member (an emptied
//     groupOfNames keeps the placeholder value "") and every user's manager; a
//     rename (also a case-only one, which changes the DN by modrdn) rewrites every
//     member and manager value to the new DN exactly; a group rename likewise;
//   - a PATCH with one invalid operation (an unknown path, or the readOnly id) is a
//     400 (invalidPath, mutability) and writes nothing; password with other
//     attributes (PATCH or PUT) applies both;
//   - without If-Match, concurrent PATCHes all succeed (412 only with If-Match);
//   - userName and group displayName are unique case-insensitively (409 uniqueness).
//
// Two variants: "sequential" (one client; every response status is checked
// against the model as it happens) and "concurrent" (three clients with
// disjoint names, so the combined model stays deterministic, run at the same
// time). After each sequence the directory is read with plain LDAP searches and
// must equal the model; users with a known password must bind iff active.
//
// A failure names the first kind of difference found and logs the request
// sequence rapid shrank it to, each request with its answer.
//
// Runs: `go test -run TestModel ./gateway/` uses modelDefaults (a fixed seed,
// 100 sequences per variant); `make soak` many more, seeded from the clock.
// rapid's own flags or RAPID_* variables override the defaults: -rapid.seed,
// -rapid.checks (sequences per variant), -rapid.steps=k (the sequential client
// draws up to k runs of 1 to k commands, each concurrent client k/2),
// -rapid.shrinktime. SCIM2LDAP_MODEL_COMMANDS=deleteUser,addMember,… limits the
// commands generated (createUser is always kept; see scimmodel.AllKinds), to
// chase one bug at a time. The same model runs on Active Directory as
// adtest.TestModelAD.
func TestModel(t *testing.T) {
	srv, err := slapdtest.StartWith(slapdtest.Options{Overlays: []string{"ppolicy"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	store, err := ldapstore.Open(ldapstore.Config{URL: srv.URL, BindDN: srv.BindDN, BindPassword: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	m := modelMapping(t)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	if err := gw.CheckMapping(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	admin, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Bind(srv.BindDN, srv.Password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	scimmodel.Run(t, scimmodel.Config{
		URL: hs.URL + "/scim/v2", Token: token, Defaults: modelDefaults,
		Directory: scimmodel.Directory{
			Admin:   admin,
			Dial:    func() (*ldap.Conn, error) { return ldap.DialURL(srv.URL) },
			Dialect: m.Dialect, // ids are entryUUIDs
			Base:    "dc=example,dc=org",
			Users:   scimmodel.Tree{Base: modelPeople, Filter: "(objectClass=*)"},
			Groups:  scimmodel.Tree{Base: modelGroups, Filter: "(objectClass=*)"},
			UserDN:  func(name string) string { return "uid=" + ldap.EscapeDN(name) + "," + modelPeople },
			GroupDN: func(name string) string { return "cn=" + ldap.EscapeDN(name) + "," + modelGroups },
			// The naming attributes: the DN must follow every rename.
			UserNameAttrs: []string{"uid"}, GroupNameAttrs: []string{"cn"},
			// active false is a ppolicy lock.
			LockAttr: "pwdAccountLockedTime",
			Locked:   func(v []string) bool { return len(v) > 0 },
			// Operational attributes included: entryCSN changes with any write.
			SnapshotAttrs: []string{"*", "+"},
			// No ppolicy lock unless a request asks for one.
			ActiveByDefault: true,
			// groupOfNames needs a member.
			EmptyGroupPlaceholder: true,
			Pools:                 scimmodel.DefaultPools,
		},
	})
}

// modelMapping is mappings.example.yaml with password (set through Password
// Modify) added to User and groups (memberOf, which needs the memberof overlay)
// removed.
func modelMapping(t *testing.T) *mapping.Mapping {
	return editedExampleMapping(t, append([][2]string{withPassword}, withoutGroups...)...)
}
