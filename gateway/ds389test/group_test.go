package ds389test

// Groups on 389 DS: memberOf from the MemberOf plugin, and the Referential
// Integrity plugin beside the gateway's own reference upkeep.

import (
	"slices"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

// A user's groups come from the MemberOf plugin; deleting a member user
// removes it from the group, and renaming one keeps the group naming it by
// its new DN: refint and the gateway's own upkeep both run, neither fails,
// and what one changed the other finds done; a group renamed still shows in
// its members' groups.
func TestMembershipWithPlugins389DS(t *testing.T) {
	e := newEnv(t, "")
	alice := e.MustCreate("/Users", user("mo-alice", nil))
	bob := e.MustCreate("/Users", user("mo-bob", nil))
	boss := e.MustCreate("/Users", user("mo-boss", nil))
	e.MustPatch("/Users/"+alice, patchBody(op("replace", entSchema+":manager", map[string]any{"value": boss})))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{scimtest.GroupSchema}, "displayName": "mo-team",
		"members": []any{map[string]any{"value": alice}, map[string]any{"value": bob}}})
	if g := e.Do("GET", "/Users/"+alice, nil); get(g.Body, "groups", "0", "value") != gid {
		t.Fatalf("alice's groups (memberOf): %s", g.Raw)
	}
	if dns := memberDNs(e.byID(gid)); !slices.Equal(dns, []string{peopleDN("mo-alice"), peopleDN("mo-bob")}) {
		t.Fatalf("member: %v", dns)
	}

	// Rename a member and the manager: the references follow.
	e.MustPatch("/Users/"+bob, patchBody(op("replace", "userName", "mo-robert")))
	e.MustPatch("/Users/"+boss, patchBody(op("replace", "userName", "mo-chief")))
	if dns := memberDNs(e.byID(gid)); !slices.Equal(dns, []string{peopleDN("mo-alice"), peopleDN("mo-robert")}) {
		t.Errorf("member after the rename: %v", dns)
	}
	if m := e.byID(alice).GetAttributeValue("manager"); m == "" || !slices.Contains([]string{peopleDN("mo-chief")}, lower(m)) {
		t.Errorf("manager after the rename: %q", m)
	}
	if g := e.Do("GET", "/Groups/"+gid, nil); len(g.Body["members"].([]any)) != 2 {
		t.Errorf("group after the rename: %s", g.Raw)
	}

	// Delete a member and the manager.
	if r := e.Do("DELETE", "/Users/"+bob, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if r := e.Do("DELETE", "/Users/"+boss, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if dns := memberDNs(e.byID(gid)); !slices.Equal(dns, []string{peopleDN("mo-alice")}) {
		t.Errorf("member after the delete: %v", dns)
	}
	if m := e.byID(alice).GetAttributeValue("manager"); m != "" {
		t.Errorf("manager after the delete: %q", m)
	}
	// The last member removed: 389 DS's groupOfNames may be empty.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", `members[value eq "`+alice+`"]`, nil)))
	if g := e.byID(gid); g == nil || len(g.GetAttributeValues("member")) != 0 {
		t.Errorf("empty group: %+v", g)
	}
	if g := e.Do("GET", "/Users/"+alice, nil); g.Body["groups"] != nil {
		t.Errorf("alice's groups after the removal: %s", g.Raw)
	}
	// Adding a member twice is no error (389 DS ignores the permissive modify
	// control: the gateway compares and retries).
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", []any{map[string]any{"value": alice}})))
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", []any{map[string]any{"value": alice}})))
	if dns := memberDNs(e.byID(gid)); !slices.Equal(dns, []string{peopleDN("mo-alice")}) {
		t.Errorf("member after adding alice twice: %v", dns)
	}
	// A group renamed: memberOf follows (the MemberOf plugin on modrdn).
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "displayName", "mo-crew")))
	if g := e.Do("GET", "/Users/"+alice, nil); get(g.Body, "groups", "0", "value") != gid || get(g.Body, "groups", "0", "display") != nil && get(g.Body, "groups", "0", "display") != "mo-crew" {
		t.Errorf("alice's groups after the group's rename: %s", g.Raw)
	}
	// Who did it: refint, synchronously inside the rename and the delete, for
	// member (its referint-membership-attr list: member, uniquemember, owner,
	// seeAlso), so the gateway's pass after it found nothing to audit; the
	// gateway for manager, which refint does not keep.
	if n := strings.Count(e.logs.String(), `"event":"scim.reference","request_id"`); n != 2 ||
		strings.Count(e.logs.String(), `"attributes":["manager"],"old_value"`) != 2 || strings.Contains(e.logs.String(), `"attributes":["member"],"old_value"`) {
		t.Errorf("%d reference rewrites audited, want the 2 of manager:\n%s", n, e.logs)
	}
	if bad := e.logs.String(); containsLevel(bad, "error") {
		t.Errorf("the gateway logged an error:\n%s", bad)
	}
}

// Removing a user who is not a member from an empty group is a no-op, as
// everywhere: 389 DS answers the compare the gateway falls back to with 16
// noSuchAttribute (the group has no member value at all), not compareFalse.
func TestRemoveFromEmptyGroup389DS(t *testing.T) {
	e := newEnv(t, "")
	uid := e.MustCreate("/Users", user("empty-rm", nil))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{scimtest.GroupSchema}, "displayName": "empty-rm-group"})
	if r := e.Do("PATCH", "/Groups/"+gid, patchBody(op("remove", "members", []any{map[string]any{"value": uid}}))); r.Status != 204 && r.Status != 200 {
		t.Fatalf("remove a non-member from an empty group: %d %s", r.Status, r.Raw)
	}
}

// Case-only renames (a modrdn) one at a time: the user's and the group's
// DNs take the new spelling, references follow (refint writes the DN
// lower-cased: compared without regard to case), and both stay writable.
func TestCaseOnlyRename389DS(t *testing.T) {
	e := newEnv(t, "")
	uid := e.MustCreate("/Users", user("case-user", nil))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{scimtest.GroupSchema}, "displayName": "case-group",
		"members": []any{map[string]any{"value": uid}}})
	e.MustPatch("/Users/"+uid, patchBody(op("replace", "userName", "Case-User")))
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "displayName", "CASE-GROUP")))
	if u := e.byID(uid); u == nil || u.DN != "uid=Case-User,"+people || u.GetAttributeValue("uid") != "Case-User" {
		t.Fatalf("user after the case-only rename: %+v", u)
	}
	g := e.byID(gid)
	if g == nil || g.DN != "cn=CASE-GROUP,"+groups || !slices.Equal(memberDNs(g), []string{peopleDN("case-user")}) {
		t.Fatalf("group after the case-only rename: %+v", g)
	}
	e.MustPatch("/Users/"+uid, patchBody(op("replace", "title", "still writable")))
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", "members", []any{map[string]any{"value": uid}})))
	if r := e.Do("DELETE", "/Users/"+uid, nil); r.Status != 204 {
		t.Errorf("delete after the case-only rename: %d %s", r.Status, r.Raw)
	}
}
