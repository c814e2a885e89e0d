package directory

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// A membership plan follows the request's steps in order: a value added then
// removed is neither added nor removed; after a replace, adds and removes edit
// the new list; DNs compare as mapping.RefKey (letter case, spaces).
func TestMemberPlanSteps(t *testing.T) {
	a, b, c := "uid=a,ou=people,dc=example,dc=org", "uid=b,ou=people,dc=example,dc=org", "uid=c,ou=people,dc=example,dc=org"
	A := "UID=A, ou=People,dc=example,dc=org" // a, spelt otherwise
	cases := []struct {
		name             string
		steps            func(p *memberPlan)
		replaced         bool
		replace, add, rm []string
	}{
		{"add", func(p *memberPlan) { p.addValues([]string{a, b}) }, false, nil, []string{a, b}, nil},
		{"add twice, other spelling", func(p *memberPlan) { p.addValues([]string{a}); p.addValues([]string{A}) }, false, nil, []string{a}, nil},
		{"add then remove", func(p *memberPlan) { p.addValues([]string{a, b}); p.removeValues([]string{A}) }, false, nil, []string{b}, []string{A}},
		{"remove then add", func(p *memberPlan) { p.removeValues([]string{a}); p.addValues([]string{a}) }, false, nil, []string{a}, nil},
		{"replace then add and remove", func(p *memberPlan) {
			p.replaceWith([]string{a, b})
			p.addValues([]string{c})
			p.removeValues([]string{A})
		}, true, []string{b, c}, nil, nil},
		{"add then replace", func(p *memberPlan) { p.addValues([]string{a}); p.replaceWith(nil) }, true, nil, nil, nil},
	}
	for _, c := range cases {
		p := &memberPlan{}
		c.steps(p)
		if p.replaced != c.replaced || !slices.Equal(p.replace, c.replace) || !slices.Equal(p.add, c.add) || !slices.Equal(p.remove, c.rm) {
			t.Errorf("%s: replaced %v %q, add %q, remove %q; want %v %q, %q, %q", c.name, p.replaced, p.replace, p.add, p.remove, c.replaced, c.replace, c.add, c.rm)
		}
	}
}

// The undo of a modify deletes exactly what it wrote and adds back what the
// entry had, so it fails (rather than overwrites) when someone changed the
// attribute since.
func TestInverseModify(t *testing.T) {
	e := ldap.NewEntry("uid=a,dc=x", map[string][]string{"mail": {"old@x"}, "title": {"t"}})
	mod := ldap.NewModifyRequest("uid=a,dc=x", nil)
	mod.Replace("mail", []string{"new@x"})
	mod.Delete("title", nil)
	mod.Add("description", []string{"d"})
	inv := inverse("uid=a,dc=x", mod, e)
	var got []string
	for _, c := range inv.Changes {
		got = append(got, map[uint]string{ldap.AddAttribute: "add", ldap.DeleteAttribute: "delete", ldap.ReplaceAttribute: "replace"}[c.Operation]+" "+c.Modification.Type+" "+strings.Join(c.Modification.Vals, ","))
	}
	want := []string{"delete mail new@x", "add mail old@x", "add title t", "delete description d"}
	if !slices.Equal(got, want) {
		t.Errorf("inverse = %q, want %q", got, want)
	}
}

// The deepest DN that contains every base (RFC 4514 forms, letter case
// ignored), or none when they lie in different naming contexts.
func TestCommonAncestor(t *testing.T) {
	cases := []struct {
		dns  []string
		want string
		ok   bool
	}{
		{[]string{"ou=people,dc=example,dc=org", "ou=groups,dc=example,dc=org"}, "dc=example,dc=org", true},
		{[]string{"ou=people,dc=example,dc=org", "OU=People,DC=Example,DC=org"}, "ou=people,dc=example,dc=org", true},
		{[]string{"ou=a,ou=people,dc=example,dc=org", "ou=people,dc=example,dc=org"}, "ou=people,dc=example,dc=org", true},
		{[]string{"dc=example,dc=org", "dc=example,dc=com"}, "", false},
		{[]string{"not a dn", "dc=org"}, "", false},
	}
	for _, c := range cases {
		got, ok := commonAncestor(c.dns)
		if ok != c.ok || (ok && mapping.RefKey(got) != mapping.RefKey(c.want)) {
			t.Errorf("commonAncestor(%q) = %q %v, want %q %v", c.dns, got, ok, c.want, c.ok)
		}
	}
}

// A cursor (RFC 9865) names a place in one list: it round-trips, and one of
// another list, resource type or issuer is 400 invalidCursor (never a
// directory error); the empty cursor is the first page.
func TestCursors(t *testing.T) {
	m, err := mapping.Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	users, groups := m.ResourceType("User"), m.ResourceType("Group")
	id := "a6c3f2a0-0e2b-103f-9d7e-5b0e1c2d3e4f"
	c := encodeCursor(cursorState{T: users.Name, F: listDigest(users, `userName sw "a"`), A: id})
	if got, err := decodeCursor(c, users, ` userName sw "a" `); err != nil || got.A != id {
		t.Errorf("round trip: %+v %v", got, err)
	}
	if got, err := decodeCursor("", users, ""); err != nil || got.A != "" || got.B != "" {
		t.Errorf("empty cursor: %+v %v", got, err)
	}
	for name, bad := range map[string]struct {
		cursor string
		rt     *mapping.ResourceType
		filter string
	}{
		"other filter": {c, users, `userName sw "b"`},
		"other type":   {c, groups, `userName sw "a"`},
		"not base64":   {"%%%", users, ""},
		"not ours":     {"eyJ2IjoyfQ", users, ""},
		"filter in id": {encodeCursor(cursorState{T: users.Name, F: listDigest(users, ""), A: "*)(uid=*"}), users, ""},
		"both A and B": {encodeCursor(cursorState{T: users.Name, F: listDigest(users, ""), A: id, B: id}), users, ""},
		"far too long": {string(make([]byte, 2000)), users, ""},
	} {
		_, err := decodeCursor(bad.cursor, bad.rt, bad.filter)
		var de *Error
		if !errors.As(err, &de) || de.Kind != Invalid || de.ScimType != "invalidCursor" {
			t.Errorf("%s: %v, want 400 invalidCursor", name, err)
		}
	}
}

// A planned create's id (PlannedID) is a version-5 UUID of the DN, the same
// for every spelling of the DN; the directories' own ids (slapd's version-1
// entryUUID, AD's version-4 objectGUID) are never taken for one.
func TestPlannedID(t *testing.T) {
	a := PlannedID("uid=alice,ou=people,dc=example,dc=org")
	if b := PlannedID("UID=Alice, ou=People,dc=example,dc=org"); a != b {
		t.Errorf("two spellings of one DN: %s, %s", a, b)
	}
	if a == PlannedID("uid=bob,ou=people,dc=example,dc=org") {
		t.Error("two DNs, one id")
	}
	for id, want := range map[string]bool{
		a:                                      true,
		"53bda72a-8597-1041-9800-4d5ee12332df": false, // slapd's entryUUID (version 1)
		"d669fdff-9015-4880-9202-891d12b8bc14": false, // Samba's objectGUID (version 4)
		"not-a-uuid":                           false,
	} {
		if isPlannedID(id) != want {
			t.Errorf("isPlannedID(%q) = %v", id, !want)
		}
	}
}

// An error about a reference to a planned create's id says why once, however
// many times it is classified on its way out (a create classifies the
// conversion's error and again when it returns).
func TestPlannedNoteOnce(t *testing.T) {
	id := PlannedID("uid=erin,ou=people,dc=example,dc=org")
	err := classify(classify(&mapping.ValueError{Msg: "members: no User or Group with id " + id, ID: id}, "Group"), "Group")
	var ve *mapping.ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("%v, want a *mapping.ValueError", err)
	}
	if n := strings.Count(ve.Msg, plannedIDNote); n != 1 {
		t.Errorf("the note %d times in %q, want once", n, ve.Msg)
	}
	if err := classify(&mapping.ValueError{Msg: "m", ID: "53bda72a-8597-1041-9800-4d5ee12332df"}, "Group"); strings.Contains(err.Error(), plannedIDNote) {
		t.Errorf("an entryUUID got the note: %q", err)
	}
}
