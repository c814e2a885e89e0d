package ds389test

// Case-only renames while other writes of the same entry run (389 DS 2.3.1's
// entry cache, docs/directory.md).

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// TestCaseOnlyRenameRace389DS: one client changes a user's userName in
// letter case only (race-user ↔ RACE-USER) 40 times while two others PATCH
// its title, through one gateway with several LDAP connections. A case-only
// modrdn with modifies of the entry running at once leaves it unwritable on
// 389 DS 2.3.1 (every later modify 32 noSuchObject, "find_entry_internal_dn -
// Retry count exceeded" in the errors log, until a restart; reproduced with
// plain modrdns and modifies, within a few renames): the gateway renames in
// two steps there (directory's modifyDN), so every request succeeds, the
// user ends named as the last rename says, its DN spelled so, and it can be
// deleted.
func TestCaseOnlyRenameRace389DS(t *testing.T) {
	store, err := ldapstore.Open(ldapstore.Config{URL: ds.LDAPSURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile, Conns: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	m := dsMapping(t)
	hs := httptest.NewServer(gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}}))
	t.Cleanup(hs.Close)
	e := newEnv(t, "") // the Directory Manager's connection
	c := &scimtest.Client{T: t, BaseURL: hs.URL + "/scim/v2", Token: token}
	uid := c.MustCreate("/Users", user("race-user", nil))
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

// TestCaseOnlyRenamePlan389DS: in plan mode a case-only rename on 389 DS (two
// modrdns, the second to a DN the plan's first one vacated) answers 200 with
// the new name, while the directory keeps the entry as it was.
func TestCaseOnlyRenamePlan389DS(t *testing.T) {
	e := newEnv(t, "")
	uid := e.MustCreate("/Users", user("plan-case", nil))
	store, err := ldapstore.Open(ldapstore.Config{URL: ds.LDAPSURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	hs := httptest.NewServer(gateway.New(gateway.Config{Mapping: dsMapping(t), Store: store, Log: zerolog.Nop(), Tokens: []string{token}, Plan: true}))
	t.Cleanup(hs.Close)
	c := &scimtest.Client{T: t, BaseURL: hs.URL + "/scim/v2", Token: token}
	r := c.Do("PATCH", "/Users/"+uid, patchBody(op("replace", "userName", "Plan-Case")))
	if r.Status != 200 || r.Body["userName"] != "Plan-Case" {
		t.Fatalf("planned case-only rename: %d %s", r.Status, r.Raw)
	}
	if u := e.byID(uid); u == nil || u.DN != "uid=plan-case,"+people || u.GetAttributeValue("uid") != "plan-case" {
		t.Fatalf("the directory after a planned rename: %+v", u)
	}
}
