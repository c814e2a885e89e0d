package gateway_test

// PATCH and Groups as Microsoft Entra ID and Okta send them, against a real
// slapd.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

func (e *env) groupEntry(cn string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(cn="+ldap.EscapeFilter(cn)+")", []string{"*", "entryUUID"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

func (e *env) canBind(dn, pw string) bool {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(dn, pw) == nil
}

func peopleDN(uid string) string {
	return strings.ToLower("uid=" + uid + ",ou=people,dc=example,dc=org")
}

func TestEntraUserLifecycle(t *testing.T) {
	e := newEnv(t)
	// 1. Match: nothing yet, a 200 empty ListResponse.
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "Test_User_dfeef4c5"`), nil); l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	// 2. Create, as Entra sends it (incl. the enterprise URN typo and nulls).
	id := e.MustCreate("/Users", map[string]any{
		"schemas":    []string{userSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_dfeef4c5", "active": true,
		"emails":       []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_dfeef4c5@testuser.com"}},
		"meta":         map[string]any{"resourceType": "User"},
		"name":         map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":        []any{},
		"title":        nil,
		"phoneNumbers": nil,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"employeeNumber": "1", "manager": nil},
	})
	dn := peopleDN("Test_User_dfeef4c5")
	if got := e.entry("(entryUUID=" + id + ")"); got == nil || strings.ToLower(got.DN) != dn || got.GetAttributeValue("employeeNumber") != "1" {
		t.Fatalf("entry: %+v", got)
	}
	// A password set in the directory, to prove deactivation stops binds.
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("userPassword", []string{"Bind-Me-1"})
	if err := e.ldap.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if !e.canBind(dn, "Bind-Me-1") {
		t.Fatal("cannot bind before deactivation")
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != true {
		t.Errorf("active: %s", g.Raw)
	}

	// 4./5. Default-mode updates: one capitalised op per path.
	r := e.MustPatch("/Users/"+id, patchBody(
		op("Replace", `emails[type eq "work"].value`, "updatedEmail@testuser.com"),
		op("Replace", "name.familyName", "updatedFamilyName"),
		op("Replace", "displayName", "Updated Name"),
		op("Replace", "externalId", "ext-2"),
		op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "2"),
		op("Add", "nickName", "Babs"), // not mapped: ignored
	))
	if r.Status != 200 || get(r.Body, "name", "familyName") != "updatedFamilyName" || get(r.Body, "emails", "0", "value") != "updatedEmail@testuser.com" {
		t.Fatalf("patch response: %s", r.Raw)
	}
	got := e.entry("(entryUUID=" + id + ")")
	for attr, want := range map[string]string{"mail": "updatedEmail@testuser.com", "sn": "updatedFamilyName", "displayName": "Updated Name",
		"uniqueIdentifier": "ext-2", "employeeNumber": "2", "givenName": "givenName", "cn": "givenName familyName"} {
		if v := got.GetAttributeValues(attr); len(v) != 1 || v[0] != want {
			t.Errorf("LDAP %s = %q, want %q", attr, v, want)
		}
	}

	// Flag mode (aadOptscim062020): a filtered replace plus a no-path replace with dotted and URN keys.
	e.MustPatch("/Users/"+id, patchBody(
		op("replace", `emails[type eq "work"].value`, "flag@testuser.com"),
		op("replace", "", map[string]any{"displayName": "Flag Name", "name.givenName": "Flaggy", "name.familyName": "Mode",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "3"}),
	))
	got = e.entry("(entryUUID=" + id + ")")
	if got.GetAttributeValue("mail") != "flag@testuser.com" || got.GetAttributeValue("givenName") != "Flaggy" ||
		got.GetAttributeValue("sn") != "Mode" || got.GetAttributeValue("employeeNumber") != "3" || got.GetAttributeValue("displayName") != "Flag Name" {
		t.Errorf("flag-mode patch: %v", got.Attributes)
	}

	// 6. Disable with the string "False": locked, can't bind, still found, active false.
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "active", "False")))
	if v := e.entry("(entryUUID=" + id + ")"); v.GetAttributeValue("userPassword") == "" && false {
		t.Log(v)
	}
	locked := e.lockTime(dn)
	if locked != "000001010000Z" {
		t.Errorf("pwdAccountLockedTime = %q", locked)
	}
	if e.canBind(dn, "Bind-Me-1") {
		t.Error("a deactivated user can still bind")
	}
	if g := e.Do("GET", "/Users/"+id, nil); g.Body["active"] != false {
		t.Errorf("GET after disable: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "Test_User_dfeef4c5" and active eq false`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("a deactivated user must still be found: %s", l.Raw)
	}
	// Re-enable (flag mode sends a real boolean).
	e.MustPatch("/Users/"+id, patchBody(op("replace", "active", true)))
	if e.lockTime(dn) != "" || !e.canBind(dn, "Bind-Me-1") {
		t.Error("reactivation did not unlock")
	}

	// 7. Manager as a bare id, then cleared with "".
	boss := e.MustCreate("/Users", user("entra-boss", nil))
	e.MustPatch("/Users/"+id, patchBody(op("Add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", boss)))
	if m := e.entry("(entryUUID=" + id + ")").GetAttributeValue("manager"); strings.ToLower(m) != peopleDN("entra-boss") {
		t.Errorf("manager DN %q", m)
	}
	g := e.Do("GET", "/Users/"+id, nil)
	if get(g.Body, entSchema, "manager", "value") != boss {
		t.Errorf("manager read back: %s", g.Raw)
	}
	// The older tutorial form: path manager, value [{"$ref", "value"}].
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
		[]any{map[string]any{"$ref": nil, "value": boss}})))
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "")))
	if m := e.entry("(entryUUID=" + id + ")").GetAttributeValue("manager"); m != "" {
		t.Errorf("manager not cleared: %q", m)
	}
	// null clears too (SCIM_Null_Update_Test).
	e.MustPatch("/Users/"+id, patchBody(map[string]any{"op": "Replace", "path": "displayName", "value": nil}))
	if v := e.entry("(entryUUID=" + id + ")").GetAttributeValue("displayName"); v != "" {
		t.Errorf("displayName not cleared by null: %q", v)
	}

	// Rename: modrdn keeps the id.
	e.MustPatch("/Users/"+id, patchBody(op("Replace", "userName", "Renamed_User")))
	if got := e.entry("(entryUUID=" + id + ")"); got == nil || strings.ToLower(got.DN) != peopleDN("Renamed_User") {
		t.Errorf("rename: %+v", got)
	}

	// 8. Hard delete.
	if d := e.Do("DELETE", "/Users/"+id, nil); d.Status != 204 {
		t.Fatalf("delete: %d", d.Status)
	}
	wantError(t, e.Do("GET", "/Users/"+id, nil), 404, "")
}

func (e *env) lockTime(dn string) string {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValue("pwdAccountLockedTime")
}

func TestOktaUserLifecycle(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"schemas": []string{userSchema}, "userName": "test.user@okta.local",
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}},
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": []any{}, "password": "1mz050nq", "active": true}
	id := e.MustCreate("/Users", body)
	if ent := e.entry("(entryUUID=" + id + ")"); ent.GetAttributeValue("userPassword") != "" {
		t.Error("the password was stored though the mapping does not map it")
	}
	wantError(t, e.Do("POST", "/Users", body), 409, "uniqueness")
	// Profile update: PUT of the whole object.
	body["name"] = map[string]any{"givenName": "Tess", "familyName": "User"}
	if p := e.Do("PUT", "/Users/"+id, body); p.Status != 200 || get(p.Body, "name", "givenName") != "Tess" || p.Body["active"] != true {
		t.Fatalf("PUT: %s", p.Raw)
	}
	// Deactivate: no path, value object.
	p := e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"active": false})))
	if p.Body["active"] != false || e.lockTime(peopleDN("test.user@okta.local")) == "" {
		t.Errorf("deactivate: %s", p.Raw)
	}
	e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"active": true})))
	if e.lockTime(peopleDN("test.user@okta.local")) != "" {
		t.Error("reactivate did not unlock")
	}
	// Import: startIndex/count paging.
	l := e.Do("GET", "/Users?startIndex=1&count=100", nil)
	if l.Status != 200 || l.Body["totalResults"].(float64) < 1 {
		t.Errorf("import: %s", l.Raw)
	}
}

func TestEntraGroupLifecycle(t *testing.T) {
	e := newEnv(t)
	u1 := e.MustCreate("/Users", user("eg-u1", nil))
	u2 := e.MustCreate("/Users", user("eg-u2", nil))
	u3 := e.MustCreate("/Users", user("eg-u3", nil))
	q := "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(`displayName eq "Entra Group"`)
	if l := e.Do("GET", q, nil); l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	gid := e.MustCreate("/Groups", map[string]any{
		"schemas":    []string{groupSchema, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Entra Group", "meta": map[string]any{"resourceType": "Group"}})
	if g := e.groupEntry("Entra Group"); g == nil || !slices.Equal(g.GetAttributeValues("member"), []string{""}) {
		t.Fatalf("empty group must hold only the placeholder: %+v", g)
	}
	if g := e.Do("GET", "/Groups/"+gid, nil); g.Body["members"] != nil || g.Body["displayName"] != "Entra Group" {
		t.Errorf("placeholder must not show: %s", g.Raw)
	}
	if l := e.Do("GET", q, nil); l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "members") != nil {
		t.Errorf("match after create: %s", l.Raw)
	}
	// Two members in one PATCH, with "$ref": null.
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{
		map[string]any{"$ref": nil, "value": u1}, map[string]any{"$ref": nil, "value": u2}})))
	if m := memberDNs(e.groupEntry("Entra Group")); !slices.Equal(m, []string{peopleDN("eg-u1"), peopleDN("eg-u2")}) {
		t.Errorf("members after add (placeholder gone): %q", m)
	}
	// The user's read-only groups attribute, from memberOf.
	if g := e.Do("GET", "/Users/"+u1, nil); get(g.Body, "groups", "0", "value") != gid {
		t.Errorf("user groups: %s", g.Raw)
	}
	// Re-adding is a no-op; default-mode remove by value list removes only those.
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": u1}})))
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": u3}})))
	e.MustPatch("/Groups/"+gid, patchBody(op("Remove", "members", []any{map[string]any{"$ref": nil, "value": u1}})))
	if m := memberDNs(e.groupEntry("Entra Group")); !slices.Equal(m, []string{peopleDN("eg-u2"), peopleDN("eg-u3")}) {
		t.Errorf("after remove by value list: %q", m)
	}
	// Flag mode: remove by filter; removing a non-member is a no-op.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil)))
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u1), nil)))
	if m := memberDNs(e.groupEntry("Entra Group")); !slices.Equal(m, []string{peopleDN("eg-u3")}) {
		t.Errorf("after remove by filter: %q", m)
	}
	// Removing the last member leaves the placeholder.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u3), nil)))
	if m := e.groupEntry("Entra Group").GetAttributeValues("member"); !slices.Equal(m, []string{""}) {
		t.Errorf("after removing the last member: %q", m)
	}
	// Rename with Replace displayName → modrdn, id kept, 204 on request.
	r := e.MustPatch("/Groups/"+gid, patchBody(op("Replace", "displayName", "Entra Group 2")), "Prefer", "return=minimal")
	if r.Status != 204 || e.groupEntry("Entra Group 2") == nil || e.groupEntry("Entra Group 2").GetAttributeValue("entryUUID") != gid {
		t.Errorf("rename: %d", r.Status)
	}
	// Unknown member id → 400, nothing changes.
	wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": "7d3bcbf1-0000-0000-0000-000000000000"}}))), 400, "invalidValue")
	if d := e.Do("DELETE", "/Groups/"+gid, nil); d.Status != 204 || e.groupEntry("Entra Group 2") != nil {
		t.Errorf("delete: %d", d.Status)
	}
}

func TestOktaGroupPush(t *testing.T) {
	e := newEnv(t)
	u1 := e.MustCreate("/Users", user("og-u1", nil))
	u2 := e.MustCreate("/Users", user("og-u2", nil))
	c := e.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Test SCIMv2", "members": []any{}})
	if c.Status != 201 {
		t.Fatal(c.Raw)
	}
	gid := c.Body["id"].(string)
	// Rename no-op before membership, then remove + add in one PATCH.
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "", map[string]any{"id": gid, "displayName": "Test SCIMv2"})))
	e.MustPatch("/Groups/"+gid, patchBody(
		op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil),
		op("add", "members", []any{map[string]any{"value": u1, "display": "og-u1"}, map[string]any{"value": u2}})))
	g := e.Do("GET", "/Groups/"+gid, nil)
	var ids []string
	for _, m := range g.Body["members"].([]any) {
		mm := m.(map[string]any)
		ids = append(ids, mm["value"].(string))
		if mm["type"] != "User" || !strings.HasSuffix(mm["$ref"].(string), "/Users/"+mm["value"].(string)) {
			t.Errorf("member shape: %v", mm)
		}
	}
	slices.Sort(ids)
	want := []string{u1, u2}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("members %v, want %v", ids, want)
	}
	// Full push: replace sets exactly the list; [] empties the group.
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "members", []any{map[string]any{"value": u2}})))
	if m := memberDNs(e.groupEntry("Test SCIMv2")); !slices.Equal(m, []string{peopleDN("og-u2")}) {
		t.Errorf("after replace: %q", m)
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "members", []any{})))
	if m := e.groupEntry("Test SCIMv2").GetAttributeValues("member"); !slices.Equal(m, []string{""}) {
		t.Errorf("after replace []: %q", m)
	}
	// AIW: PUT with displayName and full members; a nested group as a member.
	sub := e.MustCreate("/Groups", map[string]any{"displayName": "Nested"})
	p := e.Do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{groupSchema}, "displayName": "Test SCIMv2",
		"members": []any{map[string]any{"value": u1}, map[string]any{"value": sub}}})
	if p.Status != 200 || len(p.Body["members"].([]any)) != 2 {
		t.Fatalf("PUT: %s", p.Raw)
	}
	types := map[string]string{}
	for _, m := range p.Body["members"].([]any) {
		types[m.(map[string]any)["value"].(string)] = m.(map[string]any)["type"].(string)
	}
	if types[u1] != "User" || types[sub] != "Group" {
		t.Errorf("member types %v", types)
	}
	if l := e.Do("GET", "/Groups"+filterQ(`members.value eq "`+sub+`"`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by member: %s", l.Raw)
	}
	wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": "test scimv2"}), 409, "uniqueness")
}

func TestPatchErrors(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("patch-err", nil))
	for name, c := range map[string]struct {
		body           any
		status         int
		scimType, text string
	}{
		"no operations":      {patchBody(), 400, "invalidValue", "Operations"},
		"bad op":             {patchBody(op("move", "title", "x")), 400, "invalidValue", "move"},
		"bad path":           {patchBody(op("replace", `emails[type eq`, "x")), 400, "invalidPath", "path"},
		"remove no path":     {patchBody(op("remove", "", nil)), 400, "noTarget", "path"},
		"no value":           {patchBody(op("add", "title", nil)), 400, "invalidValue", "value"},
		"no-path non-object": {patchBody(op("replace", "", "x")), 400, "invalidValue", "object"},
		"wrong schema":       {map[string]any{"schemas": []string{"urn:x"}, "Operations": []any{op("replace", "title", "x")}}, 400, "invalidValue", "PatchOp"},
		"bad type":           {patchBody(op("replace", "active", "maybe")), 400, "invalidValue", "active"},
		"not JSON":           {"{", 400, "invalidSyntax", "JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Do("PATCH", "/Users/"+id, c.body)
			wantError(t, r, c.status, c.scimType)
			if !strings.Contains(r.Raw, c.text) {
				t.Errorf("detail should mention %q: %s", c.text, r.Raw)
			}
		})
	}
	wantError(t, e.Do("PATCH", "/Users/00000000-0000-0000-0000-000000000000", patchBody(op("replace", "title", "x"))), 404, "")
	// Several operations are all or nothing: the bad second one leaves the first unwritten.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T1"), op("replace", "active", 5))), 400, "invalidValue")
	if v := e.entry("(uid=patch-err)").GetAttributeValue("title"); v != "" {
		t.Errorf("half-written: title = %q", v)
	}
	// Stale If-Match → 412.
	g := e.Do("GET", "/Users/"+id, nil)
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "T2")))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T3")), "If-Match", g.Header.Get("ETag")), 412, "")
}

// 20 workers adding and removing different members of one group at once: the
// final list is exactly right (membership changes are value adds and deletes).
func TestConcurrentMembershipChanges(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, e.MustCreate("/Users", user(fmt.Sprintf("cc-%02d", i), nil)))
	}
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "Concurrent"})
	// Users 20..39 are members at the start; workers add 0..19 and remove 20..39.
	var start []any
	for _, id := range ids[20:] {
		start = append(start, map[string]any{"value": id})
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", start)))
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for _, b := range []map[string]any{
				patchBody(op("Add", "members", []any{map[string]any{"value": ids[w]}})),
				patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, ids[20+w]), nil)),
			} {
				data, _ := json.Marshal(b)
				if r := e.Do("PATCH", "/Groups/"+gid, string(data), "Prefer", "return=minimal"); r.Status != 204 {
					errs <- fmt.Sprintf("worker %d: %d %s", w, r.Status, r.Raw)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for i := 0; i < 20; i++ {
		want = append(want, peopleDN(fmt.Sprintf("cc-%02d", i)))
	}
	if got := memberDNs(e.groupEntry("Concurrent")); !slices.Equal(got, want) {
		t.Errorf("final members (%d): %q", len(got), got)
	}
}
