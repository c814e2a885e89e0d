package ds389test

// What only 389 Directory Server does with users: nsUniqueId ids, entryusn
// versions, nsAccountLock, and passwords hashed by the server.

import (
	"fmt"
	"strings"
	"testing"
)

// The id is the entry's nsUniqueId, and a rename keeps it.
func TestNsUniqueIdIsTheID389DS(t *testing.T) {
	e := newEnv(t, "")
	id := e.MustCreate("/Users", user("unique-id", nil))
	ent := e.byID(id)
	if ent == nil || strings.ToLower(ent.DN) != peopleDN("unique-id") || ent.GetAttributeValue("nsUniqueId") != id {
		t.Fatalf("entry by nsUniqueId %s: %+v", id, ent)
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "userName", "unique-id-renamed")))
	if ent := e.byID(id); ent == nil || strings.ToLower(ent.DN) != peopleDN("unique-id-renamed") {
		t.Fatalf("after the rename: %+v", ent)
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Status != 200 || g.Body["userName"] != "unique-id-renamed" {
		t.Errorf("GET after the rename: %s", g.Raw)
	}
}

// The version is entryusn, which the USN plugin changes on every write, so
// two writes within one second (modifyTimestamp's resolution) still give two
// ETags, and an If-Match naming the first is 412 after the second. 389 DS has
// no assertion control: the gateway guards its writes by values.
func TestVersionChangesOnEveryModify389DS(t *testing.T) {
	e := newEnv(t, "")
	cr := e.Do("POST", "/Users", user("usn-version", nil))
	if cr.Status != 201 {
		t.Fatalf("create: %s", cr.Raw)
	}
	id, v0 := cr.Body["id"].(string), cr.Header.Get("ETag")
	seen := map[string]bool{v0: true}
	stamps := map[string]bool{}
	for i := range 5 {
		r := e.MustPatch("/Users/"+id, patchBody(op("replace", "title", fmt.Sprint("title ", i))))
		v := r.Header.Get("ETag")
		if seen[v] || v != `W/"`+e.byID(id).GetAttributeValue("entryusn")+`"` {
			t.Fatalf("write %d: ETag %q (seen before: %v), entryusn %s", i, v, seen[v], e.byID(id).GetAttributeValue("entryusn"))
		}
		seen[v] = true
		stamps[e.byID(id).GetAttributeValue("modifyTimestamp")] = true
	}
	t.Logf("6 writes, %d distinct modifyTimestamps, 6 distinct ETags", len(stamps))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "stale")), "If-Match", v0), 412, "")
	if got := e.byID(id).GetAttributeValue("title"); got != "title 4" {
		t.Errorf("a write with a stale If-Match changed title to %q", got)
	}
	cur := e.Do("GET", "/Users/"+id, nil).Header.Get("ETag")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "fresh")), "If-Match", cur)
}

// active false is nsAccountLock: true, and 389 DS then refuses the user's
// binds (53 "Account inactivated"); active true removes it and binds work
// again. A password change while deactivated keeps the lock (389 DS, unlike
// OpenLDAP's ppolicy, does not lift it), and the stored password is the
// server's hash (Password Modify, RFC 3062), never the clear text.
func TestDeactivationBlocksBind389DS(t *testing.T) {
	e := newEnv(t, "")
	const name, pw, pw2 = "lock-me", "Lock-Passw0rd-1", "Lock-Passw0rd-2"
	id := e.MustCreate("/Users", user(name, map[string]any{"active": true, "password": pw}))
	dn := e.byID(id).DN
	if !canBind(t, dn, pw) {
		t.Fatal("the new user cannot bind")
	}
	stored := e.byID(id).GetAttributeValue("userPassword")
	if !strings.HasPrefix(stored, "{") || strings.Contains(stored, pw) {
		t.Errorf("userPassword is stored as %q, want the server's hash ({SCHEME}…)", stored)
	}
	t.Logf("stored scheme: %s", stored[:strings.IndexByte(stored, '}')+1])
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if got := e.byID(id).GetAttributeValue("nsAccountLock"); got != "true" {
		t.Errorf("nsAccountLock = %q after deactivation, want true", got)
	}
	if canBind(t, dn, pw) {
		t.Fatal("a deactivated user can still bind")
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "password", pw2)))
	if canBind(t, dn, pw2) || e.byID(id).GetAttributeValue("nsAccountLock") != "true" {
		t.Fatal("a password change lifted the deactivation")
	}
	if g := e.Do("GET", "/Users"+filterQ(`active eq false and userName eq "`+name+`"`), nil); g.Body["totalResults"] != 1.0 {
		t.Errorf("filter active eq false: %s", g.Raw)
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if ent := e.byID(id); ent.GetAttributeValue("nsAccountLock") != "" || !canBind(t, dn, pw2) {
		t.Errorf("reactivation: nsAccountLock %q, and the user should bind with the new password", ent.GetAttributeValue("nsAccountLock"))
	}
	// Created inactive: locked before it could ever bind.
	id2 := e.MustCreate("/Users", user("born-locked", map[string]any{"active": false, "password": pw}))
	if canBind(t, e.byID(id2).DN, pw) || e.byID(id2).GetAttributeValue("nsAccountLock") != "true" {
		t.Error("a user created with active false can bind")
	}
}

// A password the directory's syntax policy refuses (passwordMinLength 8) is
// a 400 naming the cause, and the old password still works; nothing of the
// password reaches the answer.
func TestRefusedPassword389DS(t *testing.T) {
	e := newEnv(t, "")
	const pw = "Fine-Passw0rd-1"
	id := e.MustCreate("/Users", user("short-pw", map[string]any{"password": pw}))
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "Ab1-x")))
	wantError(t, r, 400, "invalidValue")
	if strings.Contains(r.Raw, "Ab1-x") || strings.Contains(e.logs.String(), "Ab1-x") {
		t.Error("the refused password reached the answer or the log")
	}
	if !canBind(t, e.byID(id).DN, pw) {
		t.Error("a refused password changed the stored one")
	}
	wantError(t, e.Do("POST", "/Users", user("short-pw-2", map[string]any{"password": "Ab1-x"})), 400, "invalidValue")
	if e.entry(people, "(uid=short-pw-2)") != nil {
		t.Error("a create with a refused password left an entry behind")
	}
}

// Over plain LDAP a password is refused before anything is written (389 DS
// would answer Password Modify with 13 confidentialityRequired after the
// entry was added); everything else works there.
func TestPasswordNeedsTLS389DS(t *testing.T) {
	e := newEnv(t, ds.URL)
	wantError(t, e.Do("POST", "/Users", user("plain-pw", map[string]any{"password": "Plain-Passw0rd-1"})), 400, "invalidValue", "encrypted connection")
	if e.entry(people, "(uid=plain-pw)") != nil {
		t.Error("a refused create left an entry behind")
	}
	id := e.MustCreate("/Users", user("plain-pw", nil))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "Plain-Passw0rd-1"))), 400, "invalidValue", "ldaps://")
	if e.byID(id).GetAttributeValue("userPassword") != "" {
		t.Error("a refused password was stored")
	}
}
