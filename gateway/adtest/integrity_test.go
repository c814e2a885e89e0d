package adtest

// The integrity and revocation guarantees on Active Directory (Samba AD DC):
// a password travels whole with the write it is part of, a disabled account
// stays disabled through a password reset, and a deleted or renamed account
// leaves no member link that the next holder of its name would inherit.

import (
	"slices"
	"strings"
	"testing"
)

// unicodePwd with other changes: both applied (200); a password the domain's
// policy refuses (complexity) is a 400 and the request's other changes are
// undone.
func TestPasswordTravelsWithTheWriteAD(t *testing.T) {
	e := newEnv(t, "")
	const name, pw = "pw.travels.ad", "Fir5t-Passw0rd"
	id := e.MustCreate("/Users", user(name, map[string]any{"password": pw, "active": true}))
	dn := e.byID(id).DN
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "Sec0nd-Passw0rd"), op("replace", "displayName", "Travels")))
	if r.Status != 200 || r.Body["displayName"] != "Travels" {
		t.Fatalf("PATCH password + displayName: %d %s", r.Status, r.Raw)
	}
	if !canBind(t, dn, "Sec0nd-Passw0rd") || canBind(t, dn, pw) {
		t.Error("after the PATCH only the new password must bind")
	}
	r = e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "displayName", "Refused"), op("replace", "password", "abc")))
	wantError(t, r, 400, "invalidValue", "")
	if got := e.byID(id).GetAttributeValue("displayName"); got != "Travels" {
		t.Errorf("a refused password left displayName %q, want the request undone (Travels)", got)
	}
	if !canBind(t, dn, "Sec0nd-Passw0rd") {
		t.Error("a refused password changed the password")
	}
}

// A password reset never enables a disabled account.
func TestPasswordChangeKeepsDeactivationAD(t *testing.T) {
	e := newEnv(t, "")
	id := e.MustCreate("/Users", user("pw.locked.ad", map[string]any{"password": "L0cked-Passw0rd", "active": true}))
	dn := e.byID(id).DN
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	e.MustPatch("/Users/"+id, patchBody(op("replace", "password", "N3w-L0cked-Passw0rd"), op("replace", "title", "Gone")))
	if canBind(t, dn, "N3w-L0cked-Passw0rd") {
		t.Error("a disabled account binds after a password change")
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != false || uac(e.byID(id))&2 == 0 {
		t.Errorf("after the password change: active %v, userAccountControl %d", g.Body["active"], uac(e.byID(id)))
	}
	c := e.Do("POST", "/Users", user("pw.born.ad", map[string]any{"password": "B0rn-L0cked-Pass", "active": false}))
	if c.Status != 201 || c.Body["active"] != false {
		t.Fatalf("create disabled: %d %s", c.Status, c.Raw)
	}
	if canBind(t, e.byID(c.Body["id"].(string)).DN, "B0rn-L0cked-Pass") {
		t.Error("an account created with active false binds")
	}
}

// A deleted user's name, reused, inherits no group; a case-only rename renames
// the entry, and the group's member link follows.
func TestReusedAndRenamedNamesAD(t *testing.T) {
	e := newEnv(t, "")
	gone := e.MustCreate("/Users", user("ref.gone.ad", nil))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{grpSchema}, "displayName": "ref-only-ad",
		"members": []any{map[string]any{"value": gone}}})
	if d := e.Do("DELETE", "/Users/"+gone, nil); d.Status != 204 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	again := e.MustCreate("/Users", user("ref.gone.ad", nil))
	if m := memberDNs(e.byID(gid)); len(m) != 0 {
		t.Errorf("the group still has members after the delete: %q", m)
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", []any{map[string]any{"value": again}})))

	e.MustPatch("/Users/"+again, patchBody(op("replace", "userName", "REF.gone.ad")))
	ent := e.byID(again)
	if !strings.HasPrefix(ent.DN, "CN=REF.gone.ad,") {
		t.Errorf("after the case-only rename the DN is %q", ent.DN)
	}
	m := e.byID(gid).GetAttributeValues("member")
	if !slices.ContainsFunc(m, func(v string) bool { return strings.HasPrefix(v, "CN=REF.gone.ad,") }) {
		t.Errorf("the group's member values after the rename: %q", m)
	}
}
