package gateway_test

// References between resources (RFC 7643 §2.3.7): the enterprise manager by id
// and by its value object, through renames.

import "testing"

func TestManagerReference(t *testing.T) {
	e := newEnv(t)
	boss := e.Do("POST", "/Users", user("boss@example.org", nil))
	bossID := boss.Body["id"].(string)
	emp := e.Do("POST", "/Users", user("emp@example.org", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": bossID}}}))
	if emp.Status != 201 || get(emp.Body, entSchema, "manager", "value") != bossID ||
		get(emp.Body, entSchema, "manager", "$ref") != e.srv.URL+"/scim/v2/Users/"+bossID {
		t.Fatalf("manager: %s", emp.Raw)
	}
	if dn := e.entry("(uid=emp@example.org)").GetAttributeValue("manager"); dn != "uid=boss@example.org,ou=people,dc=example,dc=org" {
		t.Errorf("LDAP manager = %q", dn)
	}
	// Entra's shape: the manager as a bare id string.
	emp2 := e.Do("POST", "/Users", user("emp2@example.org", map[string]any{entSchema: map[string]any{"manager": bossID}}))
	if get(emp2.Body, entSchema, "manager", "value") != bossID {
		t.Errorf("bare-id manager: %s", emp2.Raw)
	}
	// Renaming the manager keeps the reference (refint), and the id.
	empID := emp.Body["id"].(string)
	rn := e.Do("PUT", "/Users/"+bossID, user("chief@example.org", nil))
	if rn.Status != 200 || rn.Body["id"] != bossID || rn.Body["userName"] != "chief@example.org" {
		t.Fatalf("rename: %s", rn.Raw)
	}
	if e.entry("(uid=chief@example.org)") == nil || e.entry("(uid=boss@example.org)") != nil {
		t.Error("rename did not move the entry")
	}
	// slapd's refint overlay rewrites references in a background thread after the
	// modrdn, so the new DN shows up shortly after the rename returns.
	eventually(t, "manager follows the rename", func() bool {
		return e.entry("(uid=emp@example.org)").GetAttributeValue("manager") == "uid=chief@example.org,ou=people,dc=example,dc=org"
	})
	g := e.Do("GET", "/Users/"+empID, nil)
	if get(g.Body, entSchema, "manager", "value") != bossID {
		t.Errorf("manager after rename: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "`+bossID+`"`), nil); l.Body["totalResults"] != 2.0 {
		t.Errorf("filter on manager: %s", l.Raw)
	}
	// Renaming onto a taken userName is a 409 and changes nothing.
	wantError(t, e.Do("PUT", "/Users/"+bossID, user("EMP@example.org", nil)), 409, "uniqueness")
	if e.entry("(uid=chief@example.org)") == nil {
		t.Error("failed rename changed the entry")
	}
}
