package adtest

// User lifecycles as Microsoft Entra ID and Okta send them (the request shapes
// of gateway/patch_test.go), against Samba AD with mappings.ad.example.yaml.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

func TestEntraUserLifecycleAD(t *testing.T) {
	e := newEnv(t, "")
	const name, pw = "Test_User_dfeef4c5", "Entra-Passw0rd-1"
	// 1. Match: nothing yet.
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "`+name+`"`), nil); l.Status != 200 || l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	// 2. Create as Entra sends it (enterprise URN typo, nulls), with a password, over LDAPS.
	c := e.Do("POST", "/Users", map[string]any{
		"schemas":    []string{userSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": name, "active": true, "password": pw,
		"emails":       []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_dfeef4c5@testuser.com"}},
		"meta":         map[string]any{"resourceType": "User"},
		"name":         map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":        []any{},
		"title":        nil,
		"phoneNumbers": nil,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"employeeNumber": "1", "manager": nil},
	})
	if c.Status != 201 {
		t.Fatalf("create: %d %s", c.Status, c.Raw)
	}
	id := c.Body["id"].(string)
	ent := e.byID(id)
	if ent == nil || strings.ToLower(ent.DN) != dnOf(name) {
		t.Fatalf("entry by escaped objectGUID: %+v", ent)
	}
	// The id is objectGUID's standard string form: AD's own <GUID=…> base finds the entry.
	if s, _ := mapping.GUIDString(ent.GetRawAttributeValue("objectGUID")); s != id {
		t.Errorf("id %s, objectGUID %s", id, s)
	}
	if res, err := e.ldap.Search(ldap.NewSearchRequest("<GUID="+id+">", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"cn"}, nil)); err != nil || len(res.Entries) != 1 {
		t.Errorf("<GUID=%s> base: %v", id, err)
	}
	for attr, want := range map[string]string{"sAMAccountName": name, "userPrincipalName": name + "@example.test", "employeeID": "1",
		"mail": "Test_User_dfeef4c5@testuser.com", "sn": "familyName", "givenName": "givenName", "userAccountControl": "512"} {
		if got := ent.GetAttributeValue(attr); got != want {
			t.Errorf("LDAP %s = %q, want %q", attr, got, want)
		}
	}
	if c.Header.Get("ETag") != `W/"`+ent.GetAttributeValue("uSNChanged")+`"` || get(c.Body, "meta", "version") != c.Header.Get("ETag") {
		t.Errorf("ETag %q, meta %v, uSNChanged %s", c.Header.Get("ETag"), c.Body["meta"], ent.GetAttributeValue("uSNChanged"))
	}
	if created, _ := get(c.Body, "meta", "created").(string); created == "" || !strings.HasPrefix(strings.ReplaceAll(strings.ReplaceAll(created, "-", ""), "T", ""), ent.GetAttributeValue("whenCreated")[:10]) {
		t.Errorf("meta.created %q, whenCreated %s", created, ent.GetAttributeValue("whenCreated"))
	}
	if !canBind(t, name+"@example.test", pw) {
		t.Fatal("the new user cannot bind with the password it was created with")
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Status != 200 || g.Body["active"] != true || g.Body["password"] != nil {
		t.Errorf("GET: %s", g.Raw)
	}
	// Lookups by id through the filter translate to escaped bytes.
	if l := e.Do("GET", "/Users"+filterQ(`id eq "`+strings.ToUpper(id)+`"`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by id: %s", l.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`id eq "not-a-guid"`), nil); l.Status != 200 || l.Body["totalResults"] != 0.0 {
		t.Errorf("filter by a non-GUID id: %s", l.Raw)
	}
	if g := e.Do("GET", "/Users/not-a-guid", nil); g.Status != 404 {
		t.Errorf("GET non-GUID: %d", g.Status)
	}

	// Default-mode updates: one capitalised op per path.
	r := e.MustPatch("/Users/"+id, patchBody(
		op("Replace", `emails[type eq "work"].value`, "updatedEmail@testuser.com"),
		op("Replace", "name.familyName", "updatedFamilyName"),
		op("Replace", "displayName", "Updated Name"),
		op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "2"),
		op("Add", "nickName", "Babs"), // not mapped: ignored
	))
	if get(r.Body, "name", "familyName") != "updatedFamilyName" || get(r.Body, "emails", "0", "value") != "updatedEmail@testuser.com" {
		t.Fatalf("patch response: %s", r.Raw)
	}
	// Flag mode: a filtered replace plus a no-path replace with dotted and URN keys.
	e.MustPatch("/Users/"+id, patchBody(
		op("replace", `emails[type eq "work"].value`, "flag@testuser.com"),
		op("replace", "", map[string]any{"displayName": "Flag Name", "name.givenName": "Flaggy", "name.familyName": "Mode",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "3"}),
	))
	ent = e.byID(id)
	for attr, want := range map[string]string{"mail": "flag@testuser.com", "givenName": "Flaggy", "sn": "Mode", "employeeID": "3", "displayName": "Flag Name"} {
		if got := ent.GetAttributeValue(attr); got != want {
			t.Errorf("after PATCH: LDAP %s = %q, want %q", attr, got, want)
		}
	}

	// Disable with the string "False": only ACCOUNTDISABLE changes, every other bit stays.
	mod := ldap.NewModifyRequest(ent.DN, nil)
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
	if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != false {
		t.Errorf("GET after disable: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "`+name+`" and active eq false`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("a deactivated user must still be found: %s", l.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "`+name+`" and active eq true`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("active eq true matched a disabled user: %s", l.Raw)
	}
	// Re-enable (flag mode sends a real boolean).
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if got := uac(e.byID(id)); got != 66048 || !canBind(t, name+"@example.test", pw) {
		t.Errorf("reactivation: userAccountControl %d, want 66048, and the user can bind", got)
	}

	// Manager as a bare id, then cleared with "".
	boss := e.MustCreate("/Users", user("entra-boss", map[string]any{"active": false}))
	e.MustPatch("/Users/"+id, patchBody(op("Add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", boss)))
	if m := e.byID(id).GetAttributeValue("manager"); strings.ToLower(m) != dnOf("entra-boss") {
		t.Errorf("manager DN %q", m)
	}
	if g := e.Do("GET", "/Users/"+id, nil); get(g.Body, entSchema, "manager", "value") != boss {
		t.Errorf("manager read back: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "`+boss+`"`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by manager: %s", l.Raw)
	}
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "")))
	e.MustPatch("/Users/"+id, patchBody(map[string]any{"op": "Replace", "path": "displayName", "value": nil}))
	if ent := e.byID(id); ent.GetAttributeValue("manager") != "" || ent.GetAttributeValue("displayName") != "" {
		t.Errorf("manager / displayName not cleared: %v", ent.Attributes)
	}

	// Rename: modrdn keeps objectGUID; sAMAccountName, cn and the UPN follow.
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "userName", "Renamed_User")))
	ent = e.byID(id)
	if ent == nil || strings.ToLower(ent.DN) != dnOf("Renamed_User") || ent.GetAttributeValue("sAMAccountName") != "Renamed_User" ||
		ent.GetAttributeValue("userPrincipalName") != "Renamed_User@example.test" {
		t.Fatalf("rename: %+v", ent)
	}
	if !canBind(t, "Renamed_User@example.test", pw) {
		t.Error("the renamed user cannot bind")
	}
	// A stale If-Match is a 412 (checked against uSNChanged; AD has no assertion control).
	g := e.Do("GET", "/Users/"+id, nil)
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "T2")))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T3")), "If-Match", g.Header.Get("ETag")), 412, "", "")
	wantError(t, e.Do("DELETE", "/Users/"+id, nil, "If-Match", g.Header.Get("ETag")), 412, "", "")

	// Delete.
	if d := e.Do("DELETE", "/Users/"+id, nil); d.Status != 204 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Status != 404 {
		t.Errorf("GET after delete: %d", g.Status)
	}
	if e.entry("(sAMAccountName=Renamed_User)") != nil {
		t.Error("the entry is still in the directory")
	}
}

func TestOktaUserLifecycleAD(t *testing.T) {
	e := newEnv(t, "")
	const upn, pw = "test.user@okta.local", "1mz050nq-Okta"
	body := map[string]any{"schemas": []string{userSchema}, "userName": upn,
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": upn, "type": "work"}},
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": []any{}, "password": pw, "active": true}
	id := e.MustCreate("/Users", body)
	ent := e.byID(id)
	if ent.GetAttributeValue("userPrincipalName") != upn || uac(ent) != 512 || !canBind(t, upn, pw) {
		t.Fatalf("created: UPN %q, userAccountControl %d", ent.GetAttributeValue("userPrincipalName"), uac(ent))
	}
	// The same userName in another letter case is taken.
	body["userName"] = strings.ToUpper(upn)
	wantError(t, e.Do("POST", "/Users", body), 409, "uniqueness", "userName")
	body["userName"] = upn
	// Profile update: PUT of the whole object, with a new password.
	body["name"] = map[string]any{"givenName": "Tess", "familyName": "User"}
	body["password"] = "N3w-Okta-Passw0rd"
	if p := e.Do("PUT", "/Users/"+id, body); p.Status != 200 || get(p.Body, "name", "givenName") != "Tess" || p.Body["active"] != true {
		t.Fatalf("PUT: %s", p.Raw)
	}
	if canBind(t, upn, pw) || !canBind(t, upn, "N3w-Okta-Passw0rd") {
		t.Error("PUT did not replace the password")
	}
	// Deactivate: no path, value object.
	if p := e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"active": false}))); p.Body["active"] != false || uac(e.byID(id)) != 514 {
		t.Errorf("deactivate: %s", p.Raw)
	}
	if canBind(t, upn, "N3w-Okta-Passw0rd") {
		t.Error("a deactivated user can still bind")
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"active": true})))
	if uac(e.byID(id)) != 512 || !canBind(t, upn, "N3w-Okta-Passw0rd") {
		t.Error("reactivation did not enable the account")
	}
	// A password AD refuses (complexity) is a 400, and the old one still works.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "abc"))), 400, "invalidValue", "")
	if !canBind(t, upn, "N3w-Okta-Passw0rd") {
		t.Error("a refused password changed something")
	}
	// Import: startIndex/count paging, and sorting (descending needs the 0xFF BOOLEAN on Samba).
	for i := 0; i < 3; i++ {
		e.MustCreate("/Users", user(fmt.Sprintf("okta-sort-%d", i), nil))
	}
	l := e.Do("GET", "/Users?startIndex=1&count=2&sortBy=userName&sortOrder=descending&filter="+
		strings.TrimPrefix(filterQ(`userName sw "okta-sort-"`), "?filter="), nil)
	if l.Status != 200 || l.Body["totalResults"] != 3.0 || get(l.Body, "Resources", "0", "userName") != "okta-sort-2" ||
		get(l.Body, "Resources", "1", "userName") != "okta-sort-1" || len(l.Body["Resources"].([]any)) != 2 {
		t.Errorf("sorted page: %s", l.Raw)
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
