package gateway_test

// The integrity and revocation guarantees of the write paths, against a real
// slapd: a deactivated account stays unable to bind whatever else a request
// does, a deleted or renamed entry leaves no reference value behind that the
// next holder of its name would inherit, and a write is applied whole.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// passwordMapping is mappings.example.yaml with password mapped.
func passwordMapping(t testing.TB) *mapping.Mapping { return editedExampleMapping(t, withPassword) }

// A password is part of the write it travels in: a PATCH replacing it with
// another attribute, or a PUT carrying it, answers 200 with both applied
// (before: 412 "modified by someone else", with the password already set).
func TestPasswordTravelsWithTheWrite(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("pw.travels", map[string]any{"password": "First-pass-1"}))
	dn := peopleDN("pw.travels")
	if !e.canBind(dn, "First-pass-1") {
		t.Fatal("cannot bind with the password given at create")
	}
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "Second-pass-2"), op("replace", "displayName", "Travels")))
	if r.Status != 200 || r.Body["displayName"] != "Travels" {
		t.Fatalf("PATCH password + displayName: %d %s", r.Status, r.Raw)
	}
	if !e.canBind(dn, "Second-pass-2") || e.canBind(dn, "First-pass-1") {
		t.Error("after the PATCH only the new password must bind")
	}
	// The audit events name the password attribute of the create and the PATCH, never the value.
	if n := strings.Count(e.logBuf.String(), `"userPassword"`); n < 2 || strings.Contains(e.logBuf.String(), "Second-pass-2") {
		t.Errorf("audit events naming userPassword: %d, want 2 (and no password)", n)
	}
	r = e.Do("PUT", "/Users/"+id, user("pw.travels", map[string]any{"password": "Third-pass-3", "title": "Engineer"}))
	if r.Status != 200 || r.Body["title"] != "Engineer" {
		t.Fatalf("PUT with a password: %d %s", r.Status, r.Raw)
	}
	if !e.canBind(dn, "Third-pass-3") {
		t.Error("the PUT's password does not bind")
	}
}

// A deactivated account stays unable to bind whatever else later requests do:
// slapd's ppolicy lifts pwdAccountLockedTime on every password change, and the
// gateway writes the lock again (before: the PATCH of a password re-enabled
// the account, and a create with active false and a password could bind).
func TestPasswordChangeKeepsDeactivation(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("pw.locked", map[string]any{"password": "Pass-word-1"}))
	dn := peopleDN("pw.locked")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if e.canBind(dn, "Pass-word-1") {
		t.Fatal("a deactivated account binds")
	}
	inactive := func(step, pw string) {
		t.Helper()
		if e.canBind(dn, pw) {
			t.Errorf("%s: the deactivated account binds with the new password", step)
		}
		if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != false {
			t.Errorf("%s: GET shows active %v", step, g.Body["active"])
		}
		if e.lockTime(dn) == "" {
			t.Errorf("%s: pwdAccountLockedTime is gone", step)
		}
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "password", "Pass-word-2")))
	inactive("PATCH password", "Pass-word-2")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "password", "Pass-word-3"), op("replace", "title", "Gone")))
	inactive("PATCH password + title", "Pass-word-3")
	if r := e.Do("PUT", "/Users/"+id, user("pw.locked", map[string]any{"password": "Pass-word-4"})); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	inactive("PUT with a password and without active", "Pass-word-4")
	// Reactivated: the last password binds.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if !e.canBind(dn, "Pass-word-4") {
		t.Error("the reactivated account cannot bind with its last password")
	}
	// Deactivated and given a password in one request.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "password", "Pass-word-5"), op("replace", "active", false)))
	if e.canBind(dn, "Pass-word-5") {
		t.Error("PATCH active false + password: the account binds")
	}

	// Created inactive, with a password.
	c := e.Do("POST", "/Users", user("pw.born.locked", map[string]any{"password": "Born-locked-1", "active": false}))
	if c.Status != 201 || c.Body["active"] != false {
		t.Fatalf("create inactive: %d %s", c.Status, c.Raw)
	}
	if e.canBind(peopleDN("pw.born.locked"), "Born-locked-1") {
		t.Error("an account created with active false binds")
	}
}

// ldapMembers reads a group's member values straight from the directory.
func (e *env) ldapMembers(cn string) []string {
	e.t.Helper()
	g := e.groupEntry(cn)
	if g == nil {
		e.t.Fatalf("group %s not found", cn)
	}
	return g.GetAttributeValues("member")
}

func (e *env) createGroup(name string, memberIDs ...string) string {
	e.t.Helper()
	var members []any
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	body := map[string]any{"schemas": []string{groupSchema}, "displayName": name}
	if len(members) > 0 {
		body["members"] = members
	}
	return e.MustCreate("/Groups", body)
}

// Deleting a person removes its DN from every member and manager value, the
// only member of a groupOfNames included (refint cannot remove a MUST
// attribute's last value), so a new person created with the same userName
// inherits nothing.
func TestDeleteLeavesNoReferenceToTheName(t *testing.T) {
	e := newEnv(t)
	gone := e.MustCreate("/Users", user("ref.gone", nil))
	stays := e.MustCreate("/Users", user("ref.stays", map[string]any{
		entSchema: map[string]any{"manager": map[string]any{"value": gone}}}))
	e.createGroup("Ref Only Member", gone)
	e.createGroup("Ref Two Members", gone, stays)
	goneDN := peopleDN("ref.gone")

	if d := e.Do("DELETE", "/Users/"+gone, nil); d.Status != 204 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	if m := e.ldapMembers("Ref Only Member"); !slices.Equal(m, []string{""}) {
		t.Errorf("the emptied group's member values are %q, want only the placeholder", m)
	}
	if m := e.ldapMembers("Ref Two Members"); len(m) != 1 || !strings.EqualFold(m[0], peopleDN("ref.stays")) {
		t.Errorf("the other group's member values are %q", m)
	}
	if mgr := e.entry("(uid=ref.stays)").GetAttributeValue("manager"); mgr != "" {
		t.Errorf("manager still names the deleted user: %q", mgr)
	}
	// Each entry the delete changed has its audit event.
	for _, dn := range []string{"cn=Ref Only Member,ou=groups,dc=example,dc=org", peopleDN("ref.stays")} {
		if !strings.Contains(strings.ToLower(e.logBuf.String()), `"event":"scim.reference","request_id":`) ||
			!strings.Contains(strings.ToLower(e.logBuf.String()), `"dn":"`+strings.ToLower(dn)+`"`) {
			t.Errorf("no scim.reference audit event for %s", dn)
		}
	}
	// The name is reused: the newcomer is in no group.
	again := e.MustCreate("/Users", user("ref.gone", nil))
	for _, g := range []string{"Ref Only Member", "Ref Two Members"} {
		if slices.ContainsFunc(e.ldapMembers(g), func(v string) bool { return strings.EqualFold(v, goneDN) }) {
			t.Errorf("the new holder of the name is a member of %s", g)
		}
	}
	if r := e.Do("GET", "/Users/"+again, nil); r.Body["groups"] != nil {
		t.Errorf("the new holder of the name has groups: %s", r.Raw)
	}
}

// A member value left by a delete the gateway didn't make (an admin's
// ldapdelete on a directory without refint) is removed before a create takes
// the name.
func TestCreateClearsGrantsLeftOnTheName(t *testing.T) {
	e := newEnv(t)
	holder := e.MustCreate("/Users", user("ref.holder", nil))
	e.createGroup("Ref Stale Grants", holder)
	ghost := peopleDN("ref.ghost")
	mod := ldap.NewModifyRequest("cn=Ref Stale Grants,ou=groups,dc=example,dc=org", nil)
	mod.Add("member", []string{ghost})
	if err := e.ldap.Modify(mod); err != nil {
		t.Fatal(err)
	}
	e.MustCreate("/Users", user("ref.ghost", nil))
	m := e.ldapMembers("Ref Stale Grants")
	if slices.ContainsFunc(m, func(v string) bool { return strings.EqualFold(v, ghost) }) {
		t.Errorf("the new ref.ghost inherited the stale member value: %q", m)
	}
	if len(m) != 1 || !strings.EqualFold(m[0], peopleDN("ref.holder")) {
		t.Errorf("the group's other member was touched: %q", m)
	}
}

// A case-only rename is a rename: the DN takes the new spelling (modrdn), and
// so does every member value naming it (before: the attribute changed, the DN
// and the member values kept the old case).
func TestCaseOnlyRenameRenamesTheEntry(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("Case.Only", nil))
	gid := e.createGroup("Case Group", id)
	e.createGroup("Case Outer")
	e.MustPatch("/Groups/"+e.groupID("Case Outer"), patchBody(op("add", "members", []any{map[string]any{"value": gid}})))

	e.MustPatch("/Users/"+id, patchBody(op("replace", "userName", "case.only")))
	ent := e.entry("(entryUUID=" + id + ")")
	if ent.DN != "uid=case.only,ou=people,dc=example,dc=org" || ent.GetAttributeValue("uid") != "case.only" {
		t.Errorf("after the case-only rename: DN %q, uid %q", ent.DN, ent.GetAttributeValue("uid"))
	}
	if m := e.ldapMembers("Case Group"); !slices.Equal(m, []string{"uid=case.only,ou=people,dc=example,dc=org"}) {
		t.Errorf("member values after the rename: %q", m)
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "displayName", "CASE GROUP")))
	if g := e.groupEntry("CASE GROUP"); g == nil || g.DN != "cn=CASE GROUP,ou=groups,dc=example,dc=org" {
		t.Errorf("the group's DN after its case-only rename: %+v", g)
	}
	if m := e.ldapMembers("Case Outer"); !slices.Equal(m, []string{"cn=CASE GROUP,ou=groups,dc=example,dc=org"}) {
		t.Errorf("the outer group's member values after the rename: %q", m)
	}
}

func (e *env) groupID(cn string) string {
	e.t.Helper()
	g := e.groupEntry(cn)
	if g == nil {
		e.t.Fatalf("group %s not found", cn)
	}
	return g.GetAttributeValue("entryUUID")
}

// 412 means the client's precondition failed (RFC 7232 §4.2): concurrent
// PATCHes of different attributes of one user, none with If-Match, all succeed
// (before: some got 412 after a few quick retries).
func TestConcurrentPatchesWithoutIfMatchNeverGet412(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("racing.patches", nil))
	attrs := []string{"displayName", "title", "preferredLanguage", "name.givenName", "name.familyName", "externalId"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for _, attr := range attrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", attr, fmt.Sprintf("v%d", i))), "Prefer", "return=minimal")
				if r.Status != http.StatusNoContent {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s #%d: %d %s", attr, i, r.Status, r.Raw))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d PATCHes failed, e.g. %s", len(bad), 8*len(attrs), bad[0])
	}
	ent := e.entry("(entryUUID=" + id + ")")
	for attr, ldapAttr := range map[string]string{"displayName": "displayName", "title": "title", "name.givenName": "givenName"} {
		if v := ent.GetAttributeValue(ldapAttr); v != "v7" {
			t.Errorf("%s = %q after the last PATCH, want v7", attr, v)
		}
	}
}

// A parent the mapping's rule computes but the directory lacks is the
// client's 400, at once, for a create and for a move (before: 404 "not found"
// for the create; the move was retried as if the entry had been renamed).
func TestMissingParentIsAPreciseError(t *testing.T) {
	e := newEnvWith(t, loadMapping(t, "docs/examples/openldap-posix.yaml"))
	body := user("parent.missing", map[string]any{entSchema: map[string]any{"employeeNumber": "77", "department": "Nowhere"}})
	wantError(t, e.Do("POST", "/Users", body), 400, "invalidValue", "ou=nowhere")
	id := e.MustCreate("/Users", user("parent.present", map[string]any{entSchema: map[string]any{"employeeNumber": "78"}}))
	before := e.entry("(uid=parent.present)")
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", entSchema+":department", "Nowhere")))
	wantError(t, r, 400, "invalidValue", "ou=nowhere")
	after := e.entry("(uid=parent.present)")
	if after.DN != before.DN || after.GetAttributeValue("entryCSN") != before.GetAttributeValue("entryCSN") {
		t.Errorf("a refused move changed the entry: %s → %s", before.DN, after.DN)
	}
}

// serviceAccountStore makes, in own, a service account that may write the
// entries (not the rootDN, whom slapd's ppolicy exempts from its password
// quality checks), sets a quality rule the directory enforces on it
// (pwdCheckQuality 2, pwdMinLength 12), and opens a store bound as it.
func serviceAccountStore(t *testing.T, own *slapdtest.Server, cfg *ldap.Conn) *ldapstore.Store {
	t.Helper()
	admin, err := ldap.DialURL(own.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Bind(own.RootDN, own.RootPW); err != nil {
		t.Fatal(err)
	}
	const svc, svcPW = "cn=scim-svc,dc=example,dc=org", "Svc-Password-1"
	add := ldap.NewAddRequest(svc, nil)
	add.Attribute("objectClass", []string{"organizationalRole", "simpleSecurityObject"})
	add.Attribute("cn", []string{"scim-svc"})
	add.Attribute("userPassword", []string{svcPW})
	if err := admin.Add(add); err != nil {
		t.Fatal(err)
	}
	pol := ldap.NewModifyRequest("cn=default,ou=policies,dc=example,dc=org", nil)
	pol.Replace("pwdCheckQuality", []string{"2"})
	pol.Replace("pwdMinLength", []string{"12"})
	if err := admin.Modify(pol); err != nil {
		t.Fatal(err)
	}
	acl := ldap.NewModifyRequest("olcDatabase={1}mdb,cn=config", nil)
	// write, not manage: ppolicy exempts whoever may manage an entry from its
	// quality checks; the lock attribute needs manage (NO-USER-MODIFICATION).
	acl.Add("olcAccess", []string{`{0}to attrs=pwdAccountLockedTime by dn.exact="` + svc + `" manage by * break`,
		`{1}to * by dn.exact="` + svc + `" write by * break`})
	if err := cfg.Modify(acl); err != nil {
		t.Fatal(err)
	}
	store, err := ldapstore.Open(ldapstore.Config{URL: own.URL, BindDN: svc, BindPassword: svcPW, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// A request that lifts a lock and sets a password the directory refuses
// (its quality policy) is refused whole: the lock is written only after the
// password was accepted, so the account never becomes able to bind (before:
// the modify lifted the lock first and the undo put it back, with the old
// password usable in between).
func TestRefusedPasswordNeverLiftsTheLock(t *testing.T) {
	own, cfg := ownSlapd(t)
	store := serviceAccountStore(t, own, cfg)
	e := newEnvFrom(t, gateway.Config{Mapping: passwordMapping(t), Store: store})
	e.ldap.Close()
	if e.ldap, _ = ldap.DialURL(own.URL); e.ldap == nil || e.ldap.Bind(own.RootDN, own.RootPW) != nil {
		t.Fatal("cannot bind to the private slapd")
	}
	id := e.MustCreate("/Users", user("pw.refused", map[string]any{"password": "Long-enough-pass-1", "active": false}))
	dn := peopleDN("pw.refused")
	if e.lockTime(dn) == "" {
		t.Fatal("created with active false and a password: not locked")
	}
	bind := func(pw string) bool {
		c, err := ldap.DialURL(own.URL)
		if err != nil {
			return false
		}
		defer c.Close()
		return c.Bind(dn, pw) == nil
	}
	// While refused reactivations run, the old password never binds: not even
	// for the moment between two of the request's operations.
	stop := make(chan struct{})
	var binds, bound atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			binds.Add(1)
			if bind("Long-enough-pass-1") {
				bound.Add(1)
			}
		}
	}()
	for range 30 {
		r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "active", true), op("replace", "title", "Back"), op("replace", "password", "short")))
		wantError(t, r, 400, "invalidValue", "")
	}
	close(stop)
	<-done
	if bound.Load() > 0 {
		t.Errorf("%d of %d binds with the old password succeeded while reactivations were refused", bound.Load(), binds.Load())
	}
	if lock, title := e.lockTime(dn), e.entry("(uid=pw.refused)").GetAttributeValue("title"); lock == "" || title != "" {
		t.Errorf("after the refused requests: lock %q, title %q; want the entry as before", lock, title)
	}
	if bind("Long-enough-pass-1") || bind("short") {
		t.Error("the account binds after a refused reactivation")
	}
	// Accepted: reactivated, with the new password.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true), op("replace", "password", "Another-long-pass-2")))
	if !bind("Another-long-pass-2") {
		t.Error("the reactivated account cannot bind with its new password")
	}
}

// Grants left on a name are found by the directory's own matching rule, which
// equates more spellings than letter case: insignificant spaces and Unicode
// compatibility forms (RFC 4518). A user deleted outside the gateway as
// "Dave  Jones" leaves nothing to "dave jones" (before: the gateway compared
// the values again by lower case and left them).
func TestGrantsLeftOnTheNameMatchAsTheDirectoryMatches(t *testing.T) {
	e := newEnv(t)
	for i, pair := range [][2]string{{"Dave  Jones", "dave jones"}, {"ﬁle.owner", "file.owner"}} {
		old := e.MustCreate("/Users", user(pair[0], nil))
		group := fmt.Sprintf("Spelling Group %d", i)
		e.createGroup(group, old)
		oldDN := e.entry("(entryUUID=" + old + ")").DN
		if err := e.ldap.Del(ldap.NewDelRequest(oldDN, nil)); err != nil { // outside the gateway
			t.Fatal(err)
		}
		e.MustCreate("/Users", user(pair[1], nil))
		if m := e.ldapMembers(group); !slices.Equal(m, []string{""}) {
			t.Errorf("%q after %q was deleted: the group's member values are %q, want only the placeholder", pair[1], pair[0], m)
		}
	}
}

// A DELETE that races a rename of the same entry either deletes it or answers
// that it doesn't exist, and then it doesn't: an IdP takes a 404 on DELETE as
// "already gone" (before: the rename moved the entry away from the DN the
// DELETE had looked up, and the DELETE answered 404 while the entry lived on).
func TestDeleteRacingARenameNeverLeavesTheEntry(t *testing.T) {
	e := newEnv(t)
	for i := range 25 {
		id := e.MustCreate("/Users", user(fmt.Sprintf("dr%d", i), nil))
		var wg sync.WaitGroup
		var del response
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "userName", fmt.Sprintf("dr%d-new", i))), "Prefer", "return=minimal")
		}()
		go func() { defer wg.Done(); del = e.Do("DELETE", "/Users/"+id, nil) }()
		wg.Wait()
		if del.Status != 204 && del.Status != 404 {
			t.Fatalf("DELETE: %d %s", del.Status, del.Raw)
		}
		if ent := e.entry("(entryUUID=" + id + ")"); ent != nil {
			t.Fatalf("round %d: DELETE answered %d and the entry lives on as %s", i, del.Status, ent.DN)
		}
	}
}

// A group naming its own id in members (PATCH add or replace, PUT) was
// written: cn=g held member cn=g. Refused with 400 invalidValue, nothing
// written; nested groups stay allowed, and removing a self-membership made
// outside the gateway works.
func TestGroupCannotBeItsOwnMember(t *testing.T) {
	e := newEnv(t)
	uid := e.MustCreate("/Users", user("self-u", nil))
	gid := e.createGroup("Self G", uid)
	sub := e.createGroup("Self Sub")
	self, both := []any{map[string]any{"value": gid}}, []any{map[string]any{"value": sub}, map[string]any{"value": gid}}
	for what, r := range map[string]response{
		"PATCH add":          e.Do("PATCH", "/Groups/"+gid, patchBody(op("add", "members", self))),
		"PATCH add with sub": e.Do("PATCH", "/Groups/"+gid, patchBody(op("add", "members", both))),
		"PATCH replace":      e.Do("PATCH", "/Groups/"+gid, patchBody(op("replace", "members", both))),
		"PATCH no path":      e.Do("PATCH", "/Groups/"+gid, patchBody(op("add", "", map[string]any{"members": self}))),
		"PATCH then add": e.Do("PATCH", "/Groups/"+gid, patchBody(op("replace", "displayName", "Self G2"),
			op("remove", "members", []any{map[string]any{"value": uid}}), op("add", "members", self))),
		"PUT":             e.Do("PUT", "/Groups/"+gid, map[string]any{"displayName": "Self G", "members": self}),
		"PUT with rename": e.Do("PUT", "/Groups/"+gid, map[string]any{"displayName": "Self G3", "members": both}),
	} {
		t.Run(what, func(t *testing.T) {
			wantError(t, r, 400, "invalidValue", "members", "a group cannot be a member of itself")
		})
	}
	if g := e.groupEntry("Self G"); g == nil || !slices.Equal(g.GetAttributeValues("member"), []string{peopleDN("self-u")}) {
		t.Fatalf("the group after refused writes: %+v", g)
	}

	// Nested groups: fine.
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", []any{map[string]any{"value": sub}})))
	if m := e.ldapMembers("Self G"); len(m) != 2 {
		t.Errorf("members after adding a nested group: %q", m)
	}
	// A self-membership written in the directory can be removed.
	dn := e.groupEntry("Self G").DN
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Add("member", []string{dn})
	if err := e.ldap.Modify(mod); err != nil {
		t.Fatal(err)
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", "members", self)))
	if m := e.ldapMembers("Self G"); slices.Contains(m, dn) || len(m) != 2 {
		t.Errorf("members after removing the self-membership: %q", m)
	}
}

func TestConcurrentRenameDoesNotLoseOtherWrites(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-ren", nil))
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, b := range []map[string]any{
			patchBody(op("replace", "userName", fmt.Sprintf("rv-ren-%d", round))),
			patchBody(op("replace", "title", fmt.Sprintf("T%d", round))),
		} {
			wg.Add(1)
			go func(i int, b map[string]any) {
				defer wg.Done()
				statuses[i] = e.Do("PATCH", "/Users/"+id, b, "Prefer", "return=minimal").Status
			}(i, b)
		}
		wg.Wait()
		if statuses[0] != 204 || statuses[1] != 204 {
			t.Fatalf("round %d: statuses %v, want both 204", round, statuses)
		}
		got := e.entry("(entryUUID=" + id + ")")
		if got.GetAttributeValue("title") != fmt.Sprintf("T%d", round) || got.GetAttributeValue("uid") != fmt.Sprintf("rv-ren-%d", round) {
			t.Fatalf("round %d: a write was lost: %v", round, got.Attributes)
		}
	}
}

func TestPutWithoutActiveKeepsTheLock(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-lock", nil))
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if p := e.Do("PUT", "/Users/"+id, user("rv-lock", map[string]any{"title": "x"})); p.Status != 200 || p.Body["active"] != false {
		t.Fatalf("PUT without active: %s", p.Raw)
	}
	if e.lockTime(peopleDN("rv-lock")) == "" {
		t.Error("a PUT without active lifted the lock")
	}
	e.MustPatch("/Users/"+id, patchBody(map[string]any{"op": "replace", "path": "active", "value": nil}))
	if e.lockTime(peopleDN("rv-lock")) == "" {
		t.Error("replace active null lifted the lock")
	}
	if p := e.Do("PUT", "/Users/"+id, user("rv-lock", map[string]any{"active": true})); p.Body["active"] != true || e.lockTime(peopleDN("rv-lock")) != "" {
		t.Errorf("PUT with active true: %s", p.Raw)
	}
}

// A PATCH that removes the password, or sets it to "", is refused (400
// invalidValue): it used to answer 200 and leave the password as it was, so
// the client believed a credential gone that still binds.
func TestPasswordCannotBeRemoved(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("pw.remove", map[string]any{"password": "Secret-111"}))
	dn := "uid=pw.remove,ou=people,dc=example,dc=org"
	for _, o := range []map[string]any{op("remove", "password", nil), op("replace", "password", "")} {
		wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(o)), 400, "invalidValue", "password")
	}
	if !e.canBind(dn, "Secret-111") {
		t.Error("the password changed")
	}
}

// setLockTime writes pwdAccountLockedTime as root, as slapd's ppolicy does
// after too many failed binds (a time) or an administrator (000001010000Z).
func (e *env) setLockTime(dn, v string) {
	e.t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace("pwdAccountLockedTime", []string{v})
	if err := e.ldap.Modify(m); err != nil {
		e.t.Fatal(err)
	}
}

// A deactivation of an account that ppolicy locked for failed binds (a
// pwdAccountLockedTime timestamp, lifted once pwdLockoutDuration passes) writes
// the permanent lock (000001010000Z, slapo-ppolicy(5)): the failure lock is no
// deactivation (the account reads active true), and keeping it instead would
// let the account bind again when it expires.
func TestDeactivationReplacesAFailureLock(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("failure.locked", map[string]any{"password": "Pass-word-1"}))
	dn := peopleDN("failure.locked")
	failureLock := func() {
		t.Helper()
		e.setLockTime(dn, time.Now().UTC().Format("20060102150405Z"))
		if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != true {
			t.Fatalf("a failure-locked account reads active %v", g.Body["active"])
		}
	}
	failureLock()
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if lock := e.lockTime(dn); lock != "000001010000Z" {
		t.Errorf("PATCH active false: pwdAccountLockedTime %q, want 000001010000Z", lock)
	}
	failureLock()
	if r := e.Do("PUT", "/Users/"+id, user("failure.locked", map[string]any{"active": false})); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	if lock := e.lockTime(dn); lock != "000001010000Z" {
		t.Errorf("PUT active false: pwdAccountLockedTime %q, want 000001010000Z", lock)
	}
}

// The gateway owns only its own lock value. A ppolicy lockout after failed
// binds (pwdAccountLockedTime holding a time, slapo-ppolicy(5)) is no
// administrative deactivation (RFC 7643 §4.1.1): the account reads active true,
// and the IdP's sync sending active true back (Entra's PATCH, Okta's PUT) or an
// unrelated change leaves the lockout in place, so the account still cannot
// bind. active false writes 000001010000Z over it; active true then removes
// that, and the account binds. Filters on active find what GET shows.
func TestFailureLockIsNotTheGatewaysToLift(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("lockrule.kept", map[string]any{"password": "Pass-word-1"}))
	other := e.MustCreate("/Users", user("lockrule.other", nil))
	dn := peopleDN("lockrule.kept")
	failure := "20260102030405Z"
	e.setLockTime(dn, failure)
	if e.canBind(dn, "Pass-word-1") {
		t.Fatal("a failure-locked account binds (the test policy has pwdLockout TRUE, pwdLockoutDuration 0)")
	}
	kept := func(step string) {
		t.Helper()
		if lock := e.lockTime(dn); lock != failure {
			t.Errorf("%s: pwdAccountLockedTime %q, want the failure lock %s", step, lock, failure)
		}
		if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != true {
			t.Errorf("%s: GET active %v, want true", step, g.Body["active"])
		}
		if e.canBind(dn, "Pass-word-1") {
			t.Errorf("%s: the account binds through its failure lock", step)
		}
	}
	kept("read")
	ids := func(filter string) []string {
		t.Helper()
		r := e.Do("GET", "/Users"+filterQ(filter+` and userName sw "lockrule."`), nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", filter, r.Status, r.Raw)
		}
		var out []string
		res, _ := r.Body["Resources"].([]any)
		for _, x := range res {
			out = append(out, x.(map[string]any)["id"].(string))
		}
		slices.Sort(out)
		return out
	}
	both := []string{id, other}
	slices.Sort(both)
	for filter, want := range map[string][]string{`active eq true`: both, `active eq false`: nil, `active pr`: both, `active ne false`: both} {
		if got := ids(filter); !slices.Equal(got, want) {
			t.Errorf("failure lock: %s → %v, want %v", filter, got, want)
		}
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	kept("PATCH active true")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "displayName", "Kept")))
	kept("PATCH displayName")
	if r := e.Do("PUT", "/Users/"+id, user("lockrule.kept", map[string]any{"active": true})); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	kept("PUT active true")
	if r := e.Do("PUT", "/Users/"+id, user("lockrule.kept", nil)); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Raw)
	}
	kept("PUT without active")

	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if lock := e.lockTime(dn); lock != "000001010000Z" {
		t.Errorf("PATCH active false: pwdAccountLockedTime %q, want 000001010000Z", lock)
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != false {
		t.Errorf("deactivated: GET active %v", g.Body["active"])
	}
	if e.canBind(dn, "Pass-word-1") {
		t.Error("a deactivated account binds")
	}
	for filter, want := range map[string][]string{`active eq true`: {other}, `active eq false`: {id}, `active ne true`: {id}, `active pr`: both} {
		if got := ids(filter); !slices.Equal(got, want) {
			t.Errorf("deactivated: %s → %v, want %v", filter, got, want)
		}
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if lock := e.lockTime(dn); lock != "" {
		t.Errorf("PATCH active true after a deactivation: pwdAccountLockedTime %q, want none", lock)
	}
	if !e.canBind(dn, "Pass-word-1") {
		t.Error("a reactivated account cannot bind")
	}
}

// A password change lifts a failure lock, as ppolicy itself does on every
// password change (an administrator's reset is how a locked-out user gets back
// in): the gateway writes back only its own lock, never a failure time, with
// active true or without active. With active false the account stays locked
// for good.
func TestPasswordResetLiftsOnlyAFailureLock(t *testing.T) {
	e := newEnvWith(t, passwordMapping(t))
	id := e.MustCreate("/Users", user("failure.reset", map[string]any{"password": "Pass-word-1"}))
	dn := peopleDN("failure.reset")
	for i, c := range []struct {
		ops  []map[string]any
		lock string
	}{
		{[]map[string]any{op("replace", "password", "Pass-word-2")}, ""},
		{[]map[string]any{op("replace", "password", "Pass-word-3"), op("replace", "active", true)}, ""},
		{[]map[string]any{op("replace", "password", "Pass-word-4"), op("replace", "active", false)}, "000001010000Z"},
	} {
		e.setLockTime(dn, "20260102030405Z")
		e.MustPatch("/Users/"+id, patchBody(c.ops...))
		if lock := e.lockTime(dn); lock != c.lock {
			t.Errorf("case %d: pwdAccountLockedTime %q, want %q", i, lock, c.lock)
		}
		pw := c.ops[0]["value"].(string)
		if binds := e.canBind(dn, pw); binds != (c.lock == "") {
			t.Errorf("case %d: binds %v with the new password", i, binds)
		}
	}
}
