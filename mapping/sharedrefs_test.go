package mapping

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"
)

// A batch rendered with shared Refs (NoteEntry, Resolve, FromLDAP) is the
// batch each resource rendered on its own with NewRefs shows: the same
// references in the same order, whatever the entries repeat, spell in another
// case, leave dangling or leave empty (the placeholder), whichever projection
// and whether or not an entry was noted; NoteEntry returns each spelling of
// the rendered DNs once.
func TestSharedRefsRenderAsUnshared(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resolved := map[string]Ref{}
	var pool []string
	for i := range 6 {
		dn := fmt.Sprintf("cn=Group %d,ou=groups,dc=example,dc=org", i)
		pool = append(pool, dn, strings.ToUpper(dn)) // two spellings of one DN
		resolved[RefKey(dn)] = Ref{ID: fmt.Sprintf("g-%d", i), Type: "Group", Endpoint: "/Groups"}
		dn = fmt.Sprintf("uid=user%d,ou=people,dc=example,dc=org", i)
		pool = append(pool, dn)
		resolved[RefKey(dn)] = Ref{ID: fmt.Sprintf("u-%d", i), Type: "User", Endpoint: "/Users"}
	}
	pool = append(pool, "cn=Nobody,ou=groups,dc=example,dc=org", "") // dangling, placeholder
	base := "https://scim.example.org/scim/v2"
	rapid.Check(t, func(t *rapid.T) {
		rt := m.ResourceType(rapid.SampledFrom([]string{"User", "Group"}).Draw(t, "type"))
		var p *Projection
		switch rapid.IntRange(0, 2).Draw(t, "projection") {
		case 1:
			p = rt.Project(nil, []string{"groups"})
		case 2:
			p = rt.Project([]string{"groups", "members", "manager"}, nil)
		}
		dnsOf := func(label string) []string {
			return rapid.SliceOfN(rapid.SampledFrom(pool), 0, 12).Draw(t, label)
		}
		entries := make([]*ldap.Entry, rapid.IntRange(1, 5).Draw(t, "entries"))
		for i := range entries {
			entries[i] = ldap.NewEntry(fmt.Sprintf("uid=e%d,ou=people,dc=example,dc=org", i), map[string][]string{
				"entryUUID": {fmt.Sprintf("e-%d", i)}, "uid": {fmt.Sprintf("e%d", i)}, "cn": {"E"},
				"memberOf": dnsOf("memberOf"), "manager": dnsOf("manager"), "member": dnsOf("member"),
			})
		}
		shared := NewSharedRefs()
		var dns []string
		noted := rapid.SliceOfN(rapid.Bool(), len(entries), len(entries)).Draw(t, "noted")
		for i, e := range entries {
			if noted[i] {
				dns = shared.NoteEntry(rt, e, p, dns)
			}
		}
		shared.Resolve(resolved)
		want := map[string]bool{}
		for i, e := range entries {
			if noted[i] {
				for _, dn := range rt.ReferenceDNs(e, p) {
					want[dn] = true
				}
			}
		}
		got := map[string]bool{}
		for _, dn := range dns {
			if got[dn] {
				t.Fatalf("NoteEntry returned %q twice", dn)
			}
			got[dn] = true
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("NoteEntry returned %v, want %v", got, want)
		}
		for _, e := range entries {
			if s, u := rt.FromLDAP(e, shared, base, p), rt.FromLDAP(e, NewRefs(resolved), base, p); !reflect.DeepEqual(s, u) {
				t.Fatalf("shared render %v\nunshared render %v", s, u)
			}
		}
	})
}
