package gateway_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// The mapping language end to end (docs/examples/openldap-posix.yaml): posixAccount
// users in an OU per department, computed cn/uidNumber/homeDirectory, a custom
// extension attribute, passwords hashed by the directory, deactivation by ppolicy.
func TestPosixMappingProvisions(t *testing.T) {
	e := newEnvWith(t, loadMapping(t, "docs/examples/openldap-posix.yaml"))
	for _, ou := range []string{"sales", "engineering"} {
		add := ldap.NewAddRequest("ou="+ou+",ou=people,dc=example,dc=org", nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{ou})
		if err := e.ldap.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatal(err)
		}
	}
	const acme = "urn:example:params:scim:schemas:extension:acme:2.0:User"
	const secret = "Corr3ct-Horse-Battery"
	body := map[string]any{
		"schemas": []string{userSchema, entSchema, acme}, "userName": "jposix", "password": secret,
		"name":    map[string]any{"givenName": "Jane", "familyName": "Posix"},
		"emails":  []any{map[string]any{"type": "work", "value": "Jane.Posix@Example.ORG"}},
		entSchema: map[string]any{"employeeNumber": "42", "department": "Sales"},
		acme:      map[string]any{"badge": "B-17"},
	}
	r := e.Do("POST", "/Users", body)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id := r.Body["id"].(string)
	if strings.Contains(r.Raw, secret) || r.Body["password"] != nil {
		t.Error("the password was returned")
	}
	if get(r.Body, acme, "badge") != "B-17" || get(r.Body, "emails", "0", "value") != "jane.posix@example.org" {
		t.Errorf("custom extension / toLDAP: %s", r.Raw)
	}
	const dn = "uid=jposix,ou=sales,ou=people,dc=example,dc=org"
	ent := e.entry("(uid=jposix)")
	if ent == nil || !strings.EqualFold(ent.DN, dn) {
		t.Fatalf("entry %+v, want %s", ent, dn)
	}
	for attr, want := range map[string]string{"cn": "Jane Posix", "uidNumber": "10042", "gidNumber": "10000",
		"homeDirectory": "/home/jposix", "loginShell": "/bin/bash", "roomNumber": "B-17", "departmentNumber": "Sales"} {
		if got := ent.GetAttributeValue(attr); got != want {
			t.Errorf("LDAP %s = %q, want %q", attr, got, want)
		}
	}
	// `mapping explain` (mapping.WriteValues + AddRequest, offline) shows exactly the
	// entry the gateway wrote: same DN, same attributes and values.
	rt := loadMapping(t, "docs/examples/openldap-posix.yaml").ResourceType("User")
	vals, err := rt.WriteValues(jsonRoundTrip(t, body), nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := rt.ParentDN(jsonRoundTrip(t, body))
	add := rt.AddRequest(vals, parent)
	if !strings.EqualFold(add.DN, ent.DN) {
		t.Errorf("explain DN %s, gateway wrote %s", add.DN, ent.DN)
	}
	explained := map[string]bool{"entryUUID": true, "entryCSN": true, "userPassword": true}
	for _, a := range add.Attributes {
		explained[strings.ToLower(a.Type)] = true
		if got := ent.GetEqualFoldAttributeValues(a.Type); !slices.Equal(sortedCopy(got), sortedCopy(a.Vals)) {
			t.Errorf("%s: explain says %q, the directory has %q", a.Type, a.Vals, got)
		}
	}
	for _, a := range ent.Attributes {
		if !explained[strings.ToLower(a.Name)] && !explained[a.Name] {
			t.Errorf("the directory has %s, which explain does not show", a.Name)
		}
	}
	if pw := ent.GetAttributeValue("userPassword"); !strings.HasPrefix(pw, "{SSHA}") || strings.Contains(pw, secret) {
		t.Errorf("userPassword is not hashed: %q", pw)
	}
	if !e.canBind(dn, secret) {
		t.Fatal("cannot bind with the provisioned password")
	}
	if strings.Contains(e.logBuf.String(), secret) {
		t.Error("the password reached the log")
	}

	// A new department moves the entry (modrdn with newSuperior); the id stays.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Engineering")))
	moved := e.entry("(entryUUID=" + id + ")")
	if moved == nil || !strings.EqualFold(moved.DN, "uid=jposix,ou=engineering,ou=people,dc=example,dc=org") || moved.GetAttributeValue("departmentNumber") != "Engineering" {
		t.Fatalf("after the department change: %+v", moved)
	}
	newDN := moved.DN

	// Deactivated: no bind; reactivated: bind again. A new password via PATCH.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", false)))
	if e.canBind(newDN, secret) {
		t.Error("a deactivated user can bind")
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true), op("replace", "password", "N3w-pass-word")))
	if !e.canBind(newDN, "N3w-pass-word") || e.canBind(newDN, secret) {
		t.Error("after reactivation and a password change, only the new password must bind")
	}
	// PUT recomputes: uidNumber follows the employee number.
	p := e.Do("PUT", "/Users/"+id, map[string]any{"schemas": []string{userSchema}, "userName": "jposix",
		"name": map[string]any{"givenName": "Jane", "familyName": "Posix"}, entSchema: map[string]any{"employeeNumber": "43", "department": "Engineering"}})
	if p.Status != 200 || e.entry("(uid=jposix)").GetAttributeValue("uidNumber") != "10043" {
		t.Errorf("PUT: %d %s", p.Status, p.Raw)
	}
	// DELETE with onDelete: deactivate keeps the entry, locked.
	m := loadMapping(t, "docs/examples/openldap-posix.yaml")
	m.ResourceType("User").OnDelete = "deactivate"
	e2 := newEnvWith(t, m)
	if d := e2.Do("DELETE", "/Users/"+id, nil); d.Status != 204 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	if g := e2.Do("GET", "/Users/"+id, nil); g.Status != 200 || g.Body["active"] != false || e.canBind(newDN, "N3w-pass-word") {
		t.Errorf("after a deactivating DELETE: %s", g.Raw)
	}
	// /Schemas shows the custom extension with its mapped attribute only.
	s := e.Do("GET", "/Schemas/"+acme, nil)
	if s.Status != 200 || get(s.Body, "attributes", "0", "name") != "badge" || get(s.Body, "attributes", "1") != nil {
		t.Errorf("custom schema: %s", s.Raw)
	}
}

// jsonRoundTrip gives a body the shape the gateway decodes (json.Number…).
func jsonRoundTrip(t *testing.T, v any) map[string]any {
	data, _ := json.Marshal(v)
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
