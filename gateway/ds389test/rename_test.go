package ds389test

// Case-only renames on 389 DS: made in two modrdns (directory's modifyDN),
// because 389 DS 2.3.1 loses an entry case-renamed in one while other writes
// of it run (docs/directory.md).

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// TestCaseOnlyRenameRace389DS: one client changes a user's userName in
// letter case only (race-user ↔ RACE-USER) 40 times while two others PATCH
// its title, through one gateway with several LDAP connections. Sent as one
// case-only modrdn each, these renames left the entry unwritable on 389 DS
// 2.3.1 within a few of them (every later modify 32 noSuchObject,
// "find_entry_internal_dn - Retry count exceeded" in the errors log, until a
// restart; the requests ended in 503 "kept changing"). In two steps every
// request succeeds, the user ends named as the last rename says, its DN
// spelled so, and it can be deleted.
func TestCaseOnlyRenameRace389DS(t *testing.T) {
	e := newEnv(t, "") // the Directory Manager's connection
	c := serveWith(t, 6, false)
	uid := c.MustCreate("/Users", user("race-user", nil))
	t.Cleanup(func() { c.Do("DELETE", "/Users/"+uid, nil) })
	names := []string{"RACE-USER", "race-user"}
	const renames = 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range renames {
			if r := c.Do("PATCH", "/Users/"+uid, patchBody(op("replace", "userName", names[i%2]))); r.Status != 200 {
				t.Errorf("rename %d to %s: %d %s", i, names[i%2], r.Status, r.Raw)
				return
			}
		}
	})
	for w := range 2 {
		wg.Go(func() {
			for i := range 2 * renames {
				// return=minimal: the response is not read back by DN, which the
				// renames move meanwhile.
				if r := c.Do("PATCH", "/Users/"+uid, patchBody(op("replace", "title", fmt.Sprintf("w%d-%d", w, i))), "Prefer", "return=minimal"); r.Status != 204 {
					t.Errorf("title %d of writer %d: %d %s", i, w, r.Status, r.Raw)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	last := names[(renames-1)%2]
	if u := e.byID(uid); u == nil || u.DN != "uid="+last+","+people || u.GetAttributeValue("uid") != last {
		t.Fatalf("user after the renames: %+v", u)
	}
	if r := c.Do("DELETE", "/Users/"+uid, nil); r.Status != 204 {
		t.Errorf("delete after the renames: %d %s", r.Status, r.Raw)
	}
}

// TestCaseOnlyRenameFinished389DS: a user left between the two steps of a
// case-only rename (named uid=Half-Done+objectClass=inetOrgPerson, as when
// the gateway stopped between them) is renamed to uid=Half-Done by its next
// update, a PATCH of its title, which succeeds; its uid and object classes are
// what they were, and the group that lists it names the new DN.
func TestCaseOnlyRenameFinished389DS(t *testing.T) {
	e := newEnv(t, "")
	uid := e.MustCreate("/Users", user("half-done", nil))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{scimtest.GroupSchema}, "displayName": "half-done-group",
		"members": []any{map[string]any{"value": uid}}})
	t.Cleanup(func() {
		e.Do("DELETE", "/Groups/"+gid, nil)
		e.Do("DELETE", "/Users/"+uid, nil)
	})
	before := e.byID(uid)
	if err := e.ldap.ModifyDN(ldap.NewModifyDNRequest(before.DN, "uid=Half-Done+objectClass=inetOrgPerson", true, "")); err != nil {
		t.Fatal(err)
	}
	e.MustPatch("/Users/"+uid, patchBody(op("replace", "title", "finished")))
	u := e.byID(uid)
	if u == nil || u.DN != "uid=Half-Done,"+people || !slices.Equal(u.GetAttributeValues("uid"), []string{"Half-Done"}) ||
		u.GetAttributeValue("title") != "finished" {
		t.Fatalf("user after the update: %+v", u)
	}
	if a, b := slices.Sorted(slices.Values(before.GetAttributeValues("objectClass"))), slices.Sorted(slices.Values(u.GetAttributeValues("objectClass"))); !slices.Equal(a, b) {
		t.Errorf("object classes %v, were %v", b, a)
	}
	if g := e.byID(gid); g == nil || !slices.Equal(memberDNs(g), []string{peopleDN("Half-Done")}) {
		t.Errorf("group after the update: %+v", g)
	}
}

// TestCaseOnlyRenamePlan389DS: in plan mode a case-only rename on 389 DS (two
// modrdns, the second to a DN the plan's first one vacated) answers 200 with
// the new name, while the directory keeps the entry as it was.
func TestCaseOnlyRenamePlan389DS(t *testing.T) {
	e := newEnv(t, "")
	uid := e.MustCreate("/Users", user("plan-case", nil))
	t.Cleanup(func() { e.Do("DELETE", "/Users/"+uid, nil) })
	c := serveWith(t, 2, true)
	r := c.Do("PATCH", "/Users/"+uid, patchBody(op("replace", "userName", "Plan-Case")))
	if r.Status != 200 || r.Body["userName"] != "Plan-Case" {
		t.Fatalf("planned case-only rename: %d %s", r.Status, r.Raw)
	}
	if u := e.byID(uid); u == nil || u.DN != "uid=plan-case,"+people || u.GetAttributeValue("uid") != "plan-case" {
		t.Fatalf("the directory after a planned rename: %+v", u)
	}
}

// serveWith serves the 389 DS mapping over LDAPS through conns LDAP
// connections, in plan mode if plan, and returns a client of it.
func serveWith(t *testing.T, conns int, plan bool) *scimtest.Client {
	store, err := ldapstore.Open(ldapstore.Config{URL: ds.LDAPSURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile, Conns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	hs := httptest.NewServer(gateway.New(gateway.Config{Mapping: dsMapping(t), Store: store, Log: zerolog.Nop(), Tokens: []string{token}, Plan: plan}))
	t.Cleanup(hs.Close)
	return &scimtest.Client{T: t, BaseURL: hs.URL + "/scim/v2", Token: token}
}
