package directory

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Scan walks a resource type in pages of the size asked for (more than one
// here), each entry once, with the references of each page resolved: a
// group's member is in the page's Refs under its RefKey.
func TestScanPages(t *testing.T) {
	e := newTestEnv(t)
	var ids []string
	for _, name := range []string{"scan-a", "scan-b", "scan-c"} {
		id, _ := e.create(t, "User", map[string]any{"userName": name})
		ids = append(ids, id)
	}
	_, groupDN := e.create(t, "Group", map[string]any{"displayName": "scan-g", "members": []any{map[string]any{"value": ids[0]}}})
	users := e.snap.Resources(e.m.ResourceType("User"))
	all, err := e.conn.Search(ldap.NewSearchRequest(e.m.ResourceType("User").Base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, e.m.ResourceType("User").Filter, []string{"1.1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	pages := 0
	err = users.Scan(t.Context(), 2, []string{"creatorsName"}, func(p ScanPage) error {
		pages++
		if len(p.Entries) > 2 {
			t.Errorf("a page of %d entries", len(p.Entries))
		}
		for _, en := range p.Entries {
			if seen[en.DN] {
				t.Errorf("%s twice", en.DN)
			}
			seen[en.DN] = true
			if en.GetAttributeValue("creatorsName") == "" {
				t.Errorf("%s: the extra attribute was not read", en.DN)
			}
		}
		return nil
	})
	if err != nil || len(seen) != len(all.Entries) || pages < 2 || pages != (len(all.Entries)+1)/2 {
		t.Errorf("%v: %d entries in %d pages, %d in the directory", err, len(seen), pages, len(all.Entries))
	}
	var refs int
	err = e.snap.Resources(e.m.ResourceType("Group")).Scan(t.Context(), 0, nil, func(p ScanPage) error {
		for _, en := range p.Entries {
			if en.DN == groupDN {
				for _, m := range en.GetAttributeValues("member") {
					if r, ok := p.Refs[mapping.RefKey(m)]; ok && r.ID == ids[0] && r.Type == "User" {
						refs++
					}
				}
			}
		}
		return nil
	})
	if err != nil || refs != 1 {
		t.Errorf("%v: the member resolved %d times", err, refs)
	}
}
