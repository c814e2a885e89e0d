package ldapstore

import (
	"fmt"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// applyChange applies a modify's change as RFC 4511 §4.6 says, comparing
// values case-insensitively: add merges (a value present in another case, or
// twice in the change, is not added again), delete removes the values named
// in any case (all of them when none is), replace sets them.
func TestApplyChange(t *testing.T) {
	member := func(op uint, vals ...string) ldap.Change {
		return ldap.Change{Operation: op, Modification: ldap.PartialAttribute{Type: "member", Vals: vals}}
	}
	for name, c := range map[string]struct {
		cur    []string // nil: the entry has no member
		change ldap.Change
		want   []string
	}{
		"add merges":                   {[]string{"uid=a", "uid=b"}, member(ldap.AddAttribute, "UID=A", "uid=c", "uid=C"), []string{"uid=a", "uid=b", "uid=c"}},
		"add to none":                  {nil, member(ldap.AddAttribute, "uid=a"), []string{"uid=a"}},
		"delete in any case":           {[]string{"uid=a", "uid=b", "uid=c"}, member(ldap.DeleteAttribute, "UID=B", "uid=x"), []string{"uid=a", "uid=c"}},
		"delete every value":           {[]string{"uid=a", "uid=b"}, member(ldap.DeleteAttribute), nil},
		"delete the last value":        {[]string{"uid=a"}, member(ldap.DeleteAttribute, "uid=A"), nil},
		"replace":                      {[]string{"uid=a"}, member(ldap.ReplaceAttribute, "uid=b", "uid=c"), []string{"uid=b", "uid=c"}},
		"replace with none removes it": {[]string{"uid=a"}, member(ldap.ReplaceAttribute), nil},
	} {
		e := &ldap.Entry{}
		if c.cur != nil {
			e.Attributes = []*ldap.EntryAttribute{ldap.NewEntryAttribute("member", c.cur)}
		}
		applyChange(e, c.change)
		if got := e.GetAttributeValues("member"); !slices.Equal(got, c.want) || (c.want == nil && len(e.Attributes) != 0) {
			t.Errorf("%s: %q (attributes %d), want %q", name, got, len(e.Attributes), c.want)
		}
	}
	// A big group: 10,000 of 100,000 members removed, then 10,000 added back,
	// half of them in another case (the cost is n+m: this used to be n·m
	// string comparisons, seconds of CPU for one planned PATCH).
	var cur, del []string
	for i := range 100000 {
		cur = append(cur, fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=org", i))
	}
	for i := range 10000 {
		del = append(del, fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=org", i*10))
	}
	e := &ldap.Entry{Attributes: []*ldap.EntryAttribute{ldap.NewEntryAttribute("member", cur)}}
	applyChange(e, member(ldap.DeleteAttribute, del...))
	if n := len(e.GetAttributeValues("member")); n != 90000 {
		t.Fatalf("%d members left, want 90000", n)
	}
	for i := range del {
		if i%2 == 0 {
			del[i] = fmt.Sprintf("UID=USER%06d,OU=PEOPLE,DC=EXAMPLE,DC=ORG", i*10)
		}
	}
	applyChange(e, member(ldap.AddAttribute, append(del, cur[:100]...)...))
	if n := len(e.GetAttributeValues("member")); n != 100000 {
		t.Fatalf("%d members after adding back, want 100000", n)
	}
}
