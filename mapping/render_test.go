package mapping

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// RenderChecked renders an entry exactly as FromLDAP does and names what the
// rendering leaves out: a required attribute without a value (RFC 7643 §2.2),
// a value not in its SCIM type's syntax (§2.3), a value toSCIM refuses, the
// values beyond the first of a single-valued attribute, a missing id.
func TestRenderChecked(t *testing.T) {
	f := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(f, []byte(`resourceTypes:
  User:
    ldap: {base: "ou=people,dc=example,dc=org", objectClasses: [inetOrgPerson], rdn: uid}
    attributes:
      userName: {ldap: uid}
      name.formatted: {ldap: cn}
      active: {ldap: description, trueValue: "yes", falseValue: "no"}
      title: {ldap: title, toSCIM: 'Split(value, "@")[1]'}
`), 0o644)
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	rt := m.ResourceType("User")
	entry := func(attrs map[string][]string) *ldap.Entry {
		e := ldap.NewEntry("uid=x,ou=people,dc=example,dc=org", attrs)
		if _, ok := attrs["entryUUID"]; !ok {
			e.Attributes = append(e.Attributes, ldap.NewEntryAttribute("entryUUID", []string{"6ad46250-8597-1041-88e8-dd740d9ca68c"}))
		}
		return e
	}
	for _, tc := range []struct {
		name  string
		attrs map[string][]string
		want  []RenderProblem
	}{
		{"clean", map[string][]string{"uid": {"x"}, "cn": {"X"}, "description": {"YES"}, "title": {"eng@ops"}}, nil},
		{"no userName", map[string][]string{"cn": {"X"}},
			[]RenderProblem{{Attr: "userName", LDAP: "uid", Reason: "required, and the entry has no value"}}},
		{"two cn", map[string][]string{"uid": {"x"}, "cn": {"X", "Y"}},
			[]RenderProblem{{Attr: "name.formatted", LDAP: "cn", Value: "Y", Reason: "name.formatted is single-valued in SCIM and the entry has 2 values: only the first is shown"}}},
		{"no boolean", map[string][]string{"uid": {"x"}, "description": {"maybe"}},
			[]RenderProblem{{Attr: "active", LDAP: "description", Value: "maybe", Reason: "not a SCIM boolean value"}}},
		{"toSCIM refuses", map[string][]string{"uid": {"x"}, "title": {"plain"}}, nil}, // checked below: the reason is expr's
		{"no id", map[string][]string{"uid": {"x"}, "entryUUID": nil},
			[]RenderProblem{{Attr: "id", LDAP: "entryUUID", Reason: "the entry has no entryUUID, the SCIM id"}}},
	} {
		e := entry(tc.attrs)
		res, got := rt.RenderChecked(e, nil, "https://scim.example.org/scim/v2")
		if want := rt.FromLDAP(e, nil, "https://scim.example.org/scim/v2", nil); !reflect.DeepEqual(res, want) {
			t.Errorf("%s: RenderChecked rendered %v, FromLDAP %v", tc.name, res, want)
		}
		if tc.name == "toSCIM refuses" {
			if len(got) != 1 || got[0].Attr != "title" || got[0].Value != "plain" {
				t.Errorf("%s: %+v", tc.name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
