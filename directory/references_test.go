package directory

import (
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

func user(userName string) map[string]any {
	return map[string]any{"userName": userName, "name": map[string]any{"familyName": "Test", "givenName": userName}}
}

// A membership write that resolved a member's id to its DN, then lost the race
// to a rename of that member (the rename's own upkeep ran before the write),
// stored a DN that names no entry; the check after the write moves the value
// to the member's new DN. A member deleted meanwhile loses the value instead.
// The interleaving can't be forced through a request, so the check
// (verifyWritten) runs on the race's end state.
func TestMembershipWriteRacedByRenameOrDelete(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	id, oldDN := e.create(t, "User", user("race.before"))
	_, groupDN := e.create(t, "Group", map[string]any{"displayName": "Race Group"})
	var members *mapping.AttrMap
	for _, a := range e.m.ResourceType("Group").Attrs {
		if a.IsMembership() {
			members = a
		}
	}
	// verify runs the check that follows a write of dn, resolved from id, into
	// the group's members.
	verify := func(id, dn string) {
		t.Helper()
		rr := newResolved()
		rr.record(members.RefTypes, map[string]string{id: dn})
		if err := e.snap.verifyWritten(ctx, rr, groupDN, map[string]*mapping.AttrMap{mapping.RefKey(dn): members}); err != nil {
			t.Fatal(err)
		}
	}
	lateWrite := func(dn string) {
		t.Helper()
		late := ldap.NewModifyRequest(groupDN, nil)
		late.Add("member", []string{dn})
		if err := e.conn.Modify(late); err != nil {
			t.Fatal(err)
		}
	}
	// The race's end state: renamed first, then the late write of the old DN.
	if err := e.conn.ModifyDN(ldap.NewModifyDNRequest(oldDN, "uid=race.after", true, "")); err != nil {
		t.Fatal(err)
	}
	lateWrite(oldDN)
	verify(id, oldDN)
	newDN := "uid=race.after,ou=people,dc=example,dc=org"
	if m := e.values(t, groupDN, "member"); !slices.Equal(m, []string{"", newDN}) && !slices.Equal(m, []string{newDN}) {
		t.Errorf("after the renamed member's check: %q", m)
	}
	// Deleted between the lookup and the write.
	id2, dn2 := e.create(t, "User", user("race.deleted"))
	if err := e.conn.Del(ldap.NewDelRequest(dn2, nil)); err != nil {
		t.Fatal(err)
	}
	lateWrite(dn2)
	verify(id2, dn2)
	if m := e.values(t, groupDN, "member"); slices.Contains(m, dn2) {
		t.Errorf("the deleted member's DN stayed: %q", m)
	}
}
