package adtest

// What only Active Directory does with users: objectGUID ids,
// userAccountControl bits, and the limits AD puts on names and passwords.

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// The id is objectGUID's standard string form (RFC 4122 byte order for the
// first three fields, as AD prints it): AD's own <GUID=…> base finds the entry.
func TestObjectGUIDIsTheIDAD(t *testing.T) {
	e := newEnv(t, "")
	id := e.MustCreate("/Users", user("guid-id", nil))
	ent := e.byID(id)
	if ent == nil || strings.ToLower(ent.DN) != dnOf("guid-id") {
		t.Fatalf("entry by escaped objectGUID: %+v", ent)
	}
	if s, _ := mapping.GUIDString(ent.GetRawAttributeValue("objectGUID")); s != id {
		t.Errorf("id %s, objectGUID %s", id, s)
	}
	if res, err := e.ldap.Search(ldap.NewSearchRequest("<GUID="+id+">", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"cn"}, nil)); err != nil || len(res.Entries) != 1 {
		t.Errorf("<GUID=%s> base: %v", id, err)
	}
}

// Deactivation sets ACCOUNTDISABLE and reactivation clears it; every other bit
// of userAccountControl stays as the administrator left it.
func TestDeactivationChangesOnlyAccountDisableAD(t *testing.T) {
	e := newEnv(t, "")
	const name, pw = "uac-bits", "Uac-Passw0rd-1"
	id := e.MustCreate("/Users", user(name, map[string]any{"active": true, "password": pw}))
	mod := ldap.NewModifyRequest(e.byID(id).DN, nil)
	mod.Replace("userAccountControl", []string{"66048"}) // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
	if err := e.ldap.Modify(mod); err != nil {
		t.Fatal(err)
	}
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "active", "False")))
	if got := uac(e.byID(id)); got != 66050 {
		t.Errorf("userAccountControl after deactivation = %d, want 66050 (0x10202)", got)
	}
	if canBind(t, name+"@example.test", pw) {
		t.Error("a deactivated user can still bind")
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if got := uac(e.byID(id)); got != 66048 || !canBind(t, name+"@example.test", pw) {
		t.Errorf("reactivation: userAccountControl %d, want 66048, and the user can bind", got)
	}
}

// Bad input gets a clear 400 before anything is written.
func TestBadInputAD(t *testing.T) {
	e := newEnv(t, "")
	long := "abcdefghijklmnopqrstu" // 21 characters
	wantError(t, e.Do("POST", "/Users", user(long, map[string]any{"active": true, "password": "Long-Passw0rd-1"})), 400, "invalidValue", "at most 20")
	wantError(t, e.Do("POST", "/Users", user("bad/name", nil)), 400, "invalidValue", "does not allow")
	if e.entry("(|(cn="+long+")(sAMAccountName="+long+")(cn=bad*))") != nil {
		t.Error("a refused user was written")
	}
	id := e.MustCreate("/Users", user("bad-input", map[string]any{"active": false}))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "userName", long))), 400, "invalidValue", "at most 20")

	// A password over plain LDAP: refused by the gateway, nothing created.
	plain := newEnv(t, dc.URL)
	wantError(t, plain.Do("POST", "/Users", user("plain-pw", map[string]any{"active": true, "password": "Plain-Passw0rd-1"})), 400, "invalidValue", "encrypted connection")
	if e.entry("(sAMAccountName=plain-pw)") != nil {
		t.Error("a user was created though its password was refused")
	}
	before := e.byID(id).GetAttributeValue("uSNChanged")
	wantError(t, plain.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "Plain-Passw0rd-1"), op("replace", "title", "x"))), 400, "invalidValue", "encrypted connection")
	if after := e.byID(id); after.GetAttributeValue("uSNChanged") != before || after.GetAttributeValue("title") != "" {
		t.Error("a refused password PATCH changed the entry")
	}
	// Without a password, plain LDAP works for an inactive user.
	if r := plain.Do("POST", "/Users", user("plain-nopw", map[string]any{"active": false})); r.Status != 201 {
		t.Errorf("inactive user without password over plain LDAP: %d %s", r.Status, r.Raw)
	}
}
