package scimtest

// The request sequences of Microsoft Entra ID and Okta, written once and run
// against every directory the gateway is tested on: OpenLDAP (package gateway,
// mappings.example.yaml) and Active Directory (gateway/adtest,
// mappings.ad.example.yaml). The shapes are the IdPs' own: Entra's provisioning
// service in its default mode (capitalised operation names, one operation per
// path) and with the aadOptscim062020 flag (a filtered replace, a no-path
// replace with dotted and URN keys, real booleans); Okta's create, PUT profile
// updates, group push (a remove and an add in one PATCH, replace of the whole
// list) and import (startIndex/count paging).

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Directory is what the scenarios need to know of the directory behind the
// gateway: only what really differs between the directories, so that every
// other assertion holds on each of them.
type Directory interface {
	// Entry reads the entry behind a SCIM id straight from the directory, with
	// the operational attributes Attr names; nil when there is none.
	Entry(t testing.TB, id string) *ldap.Entry
	// DN is the DN, lower-cased, that the mapping gives a resource of the type
	// ("User" or "Group") named name (its userName or displayName).
	DN(resourceType, name string) string
	// Names are the attributes in which the directory keeps that name, with
	// their values; each must follow every rename (on AD sAMAccountName, and a
	// user's userPrincipalName, as well as cn).
	Names(resourceType, name string) map[string]string
	// Attr is the LDAP attribute that stores a User attribute (its path as the
	// mapping names it), or "meta.version" (the ETag) or "meta.created"; "" when
	// the mapping stores it nowhere.
	Attr(path string) string
	// Active reads the account state the directory enforces on binds for the
	// user behind id (OpenLDAP: ppolicy's pwdAccountLockedTime; AD: the
	// ACCOUNTDISABLE bit of userAccountControl), and reports a value that is
	// neither state as an error.
	Active(t testing.TB, id string) bool
	// CanBind reports whether the account behind id binds with password.
	CanBind(t testing.TB, id, password string) bool
	// Passwords reports whether the mapping stores SCIM's password, under a
	// policy that refuses a trivial one (AD's complexity rule). Where it does
	// not, SetPassword writes one straight into the directory, so that binds
	// still show what deactivation does.
	Passwords() bool
	SetPassword(t testing.TB, id, password string)
	// EmptyMembers are the member values of a group without members: the
	// placeholder value on OpenLDAP (groupOfNames must have a member), none on AD.
	EmptyMembers() []string
}

// Scenarios are every IdP scenario by name: each directory's suite runs them
// all (a new scenario cannot be left out of one of them).
var Scenarios = []struct {
	Name string
	Run  func(t *testing.T, c *Client, d Directory)
}{
	{"EntraUserLifecycle", EntraUserLifecycle},
	{"OktaUserLifecycle", OktaUserLifecycle},
	{"EntraGroupLifecycle", EntraGroupLifecycle},
	{"OktaGroupPush", OktaGroupPush},
}

const (
	// employeeNumber and manager are the enterprise extension's attributes as
	// Entra's operations name them.
	employeeNumber = EnterpriseSchema + ":employeeNumber"
	manager        = EnterpriseSchema + ":manager"
	workEmail      = `emails[type eq "work"].value`
)

// EntraUserLifecycle is a user's life as Entra ID provisions it: match by
// userName, create, updates in both PATCH modes, deactivation and
// reactivation, the manager reference, a rename, a stale If-Match, delete.
func EntraUserLifecycle(t *testing.T, c *Client, d Directory) {
	const name, pw = "Test_User_dfeef4c5", "Entra-Passw0rd-1"
	// 1. Match: nothing yet, a 200 empty ListResponse.
	if l := c.Do("GET", "/Users"+FilterQ(`userName eq "`+name+`"`), nil); l.Status != 200 || l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	// 2. Create as Entra sends it (the enterprise URN typo, nulls), with a
	// password where the mapping stores one.
	body := map[string]any{
		"schemas":    []string{UserSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": name, "active": true,
		"emails":       []any{map[string]any{"primary": true, "type": "work", "value": "Test_User_dfeef4c5@testuser.com"}},
		"meta":         map[string]any{"resourceType": "User"},
		"name":         map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":        []any{},
		"title":        nil,
		"phoneNumbers": nil,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"employeeNumber": "1", "manager": nil},
	}
	if d.Passwords() {
		body["password"] = pw
	}
	cr := c.Do("POST", "/Users", body)
	if cr.Status != 201 {
		t.Fatalf("create: %d %s", cr.Status, cr.Raw)
	}
	id := cr.Body["id"].(string)
	ent := d.Entry(t, id)
	if ent == nil || strings.ToLower(ent.DN) != d.DN("User", name) {
		t.Fatalf("the entry behind the id: %+v", ent)
	}
	wantNames(t, d, ent, "User", name)
	wantAttrs(t, d, ent, "after create", map[string]string{"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", employeeNumber: "1",
		workEmail: "Test_User_dfeef4c5@testuser.com", "name.familyName": "familyName", "name.givenName": "givenName"})
	if etag := cr.Header.Get("ETag"); etag != `W/"`+ent.GetAttributeValue(d.Attr("meta.version"))+`"` || Get(cr.Body, "meta", "version") != etag {
		t.Errorf("ETag %q, meta %v, %s %s", etag, cr.Body["meta"], d.Attr("meta.version"), ent.GetAttributeValue(d.Attr("meta.version")))
	}
	created, _ := Get(cr.Body, "meta", "created").(string)
	if when := ent.GetAttributeValue(d.Attr("meta.created")); len(when) < 10 || !strings.HasPrefix(strings.NewReplacer("-", "", "T", "").Replace(created), when[:10]) {
		t.Errorf("meta.created %q, %s %s", created, d.Attr("meta.created"), when)
	}
	if !d.Passwords() {
		d.SetPassword(t, id, pw)
	}
	if !d.CanBind(t, id, pw) {
		t.Fatal("the new user cannot bind with its password")
	}
	if !d.Active(t, id) {
		t.Error("the directory holds the new active user disabled")
	}
	if g := c.Do("GET", "/Users/"+id, nil); g.Status != 200 || g.Body["active"] != true || g.Body["password"] != nil {
		t.Errorf("GET: %s", g.Raw)
	}
	// The id in a filter, in another letter case; what is no id of the
	// directory's form matches nothing and names no resource.
	if l := c.Do("GET", "/Users"+FilterQ(`id eq "`+strings.ToUpper(id)+`"`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by id: %s", l.Raw)
	}
	if l := c.Do("GET", "/Users"+FilterQ(`id eq "not-a-guid"`), nil); l.Status != 200 || l.Body["totalResults"] != 0.0 {
		t.Errorf("filter by an id of another form: %s", l.Raw)
	}
	WantError(t, c.Do("GET", "/Users/not-a-guid", nil), 404, "")

	// 4./5. Default-mode updates: one capitalised op per path.
	r := c.MustPatch("/Users/"+id, PatchBody(
		Op("Replace", workEmail, "updatedEmail@testuser.com"),
		Op("Replace", "name.familyName", "updatedFamilyName"),
		Op("Replace", "displayName", "Updated Name"),
		Op("Replace", "externalId", "ext-2"),
		Op("Replace", employeeNumber, "2"),
		Op("Add", "nickName", "Babs"), // not mapped: ignored
	))
	if r.Status != 200 || Get(r.Body, "name", "familyName") != "updatedFamilyName" || Get(r.Body, "emails", "0", "value") != "updatedEmail@testuser.com" {
		t.Fatalf("patch response: %s", r.Raw)
	}
	wantAttrs(t, d, d.Entry(t, id), "after default-mode PATCH", map[string]string{workEmail: "updatedEmail@testuser.com",
		"name.familyName": "updatedFamilyName", "displayName": "Updated Name", "externalId": "ext-2", employeeNumber: "2",
		"name.givenName": "givenName", "name.formatted": "givenName familyName"})

	// Flag mode (aadOptscim062020): a filtered replace plus a no-path replace
	// with dotted and URN keys.
	c.MustPatch("/Users/"+id, PatchBody(
		Op("replace", workEmail, "flag@testuser.com"),
		Op("replace", "", map[string]any{"displayName": "Flag Name", "name.givenName": "Flaggy", "name.familyName": "Mode", employeeNumber: "3"}),
	))
	wantAttrs(t, d, d.Entry(t, id), "after flag-mode PATCH", map[string]string{workEmail: "flag@testuser.com", "name.givenName": "Flaggy",
		"name.familyName": "Mode", employeeNumber: "3", "displayName": "Flag Name"})

	// 6. Disable with the string "False": disabled in the directory, no bind,
	// still found, active false.
	c.MustPatch("/Users/"+id, PatchBody(Op("Replace", "active", "False")))
	if d.Active(t, id) {
		t.Error("the directory still holds the deactivated account active")
	}
	if d.CanBind(t, id, pw) {
		t.Error("a deactivated user can still bind")
	}
	if g := c.Do("GET", "/Users/"+id, nil); g.Body["active"] != false {
		t.Errorf("GET after disable: %s", g.Raw)
	}
	if l := c.Do("GET", "/Users"+FilterQ(`userName eq "`+name+`" and active eq false`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("a deactivated user must still be found: %s", l.Raw)
	}
	if l := c.Do("GET", "/Users"+FilterQ(`userName eq "`+name+`" and active eq true`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("active eq true matched a disabled user: %s", l.Raw)
	}
	// Re-enable (flag mode sends a real boolean).
	c.MustPatch("/Users/"+id, PatchBody(Op("replace", "active", true)))
	if !d.Active(t, id) || !d.CanBind(t, id, pw) {
		t.Error("reactivation did not enable the account")
	}

	// 7. Manager as a bare id, in the older tutorial form, then cleared with "".
	boss := c.MustCreate("/Users", User("entra-boss", map[string]any{"active": false}))
	c.MustPatch("/Users/"+id, PatchBody(Op("Add", manager, boss)))
	if m := d.Entry(t, id).GetAttributeValue(d.Attr(manager)); strings.ToLower(m) != d.DN("User", "entra-boss") {
		t.Errorf("manager DN %q", m)
	}
	if g := c.Do("GET", "/Users/"+id, nil); Get(g.Body, EnterpriseSchema, "manager", "value") != boss {
		t.Errorf("manager read back: %s", g.Raw)
	}
	if l := c.Do("GET", "/Users"+FilterQ(manager+`.value eq "`+boss+`"`), nil); l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by manager: %s", l.Raw)
	}
	// The older tutorial form: path manager, value [{"$ref", "value"}].
	c.MustPatch("/Users/"+id, PatchBody(Op("Replace", manager, []any{map[string]any{"$ref": nil, "value": boss}})))
	if m := d.Entry(t, id).GetAttributeValue(d.Attr(manager)); strings.ToLower(m) != d.DN("User", "entra-boss") {
		t.Errorf("manager DN after the tutorial form %q", m)
	}
	c.MustPatch("/Users/"+id, PatchBody(Op("Replace", manager, "")))
	// null clears too (SCIM_Null_Update_Test).
	c.MustPatch("/Users/"+id, PatchBody(map[string]any{"op": "Replace", "path": "displayName", "value": nil}))
	if ent := d.Entry(t, id); ent.GetAttributeValue(d.Attr(manager)) != "" || ent.GetAttributeValue(d.Attr("displayName")) != "" {
		t.Errorf("manager (\"\") or displayName (null) not cleared: %v", ent.Attributes)
	}

	// Rename: the entry moves (modrdn), the id stays, every name follows, and
	// the account still binds.
	c.MustPatch("/Users/"+id, PatchBody(Op("Replace", "userName", "Renamed_User")))
	ent = d.Entry(t, id)
	if ent == nil || strings.ToLower(ent.DN) != d.DN("User", "Renamed_User") {
		t.Fatalf("rename: %+v", ent)
	}
	wantNames(t, d, ent, "User", "Renamed_User")
	if !d.CanBind(t, id, pw) {
		t.Error("the renamed user cannot bind")
	}
	// A stale If-Match is a 412, for a PATCH and a DELETE.
	g := c.Do("GET", "/Users/"+id, nil)
	c.MustPatch("/Users/"+id, PatchBody(Op("replace", "title", "T2")))
	WantError(t, c.Do("PATCH", "/Users/"+id, PatchBody(Op("replace", "title", "T3")), "If-Match", g.Header.Get("ETag")), 412, "")
	WantError(t, c.Do("DELETE", "/Users/"+id, nil, "If-Match", g.Header.Get("ETag")), 412, "")

	// 8. Hard delete.
	if del := c.Do("DELETE", "/Users/"+id, nil); del.Status != 204 {
		t.Fatalf("delete: %d %s", del.Status, del.Raw)
	}
	WantError(t, c.Do("GET", "/Users/"+id, nil), 404, "")
	if d.Entry(t, id) != nil {
		t.Error("the entry is still in the directory")
	}
}

// OktaUserLifecycle is a user's life as Okta provisions it: create (with a
// password), a duplicate refused, a PUT profile update, deactivation and
// reactivation through a no-path replace, and an import page.
func OktaUserLifecycle(t *testing.T, c *Client, d Directory) {
	const upn, pw, pw2 = "test.user@okta.local", "1mz050nq-Okta", "N3w-Okta-Passw0rd"
	body := map[string]any{"schemas": []string{UserSchema}, "userName": upn,
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": upn, "type": "work"}},
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": []any{}, "password": pw, "active": true}
	id := c.MustCreate("/Users", body)
	wantNames(t, d, d.Entry(t, id), "User", upn)
	if !d.Active(t, id) {
		t.Error("the directory holds the new active user disabled")
	}
	if bound := d.CanBind(t, id, pw); d.Passwords() && !bound {
		t.Fatal("the new user cannot bind with the password it was created with")
	} else if !d.Passwords() && (bound || d.Entry(t, id).GetAttributeValue("userPassword") != "") {
		t.Error("the password was stored though the mapping does not map it")
	}
	// The userName is taken, in any letter case.
	WantError(t, c.Do("POST", "/Users", body), 409, "uniqueness", "userName")
	body["userName"] = strings.ToUpper(upn)
	WantError(t, c.Do("POST", "/Users", body), 409, "uniqueness", "userName")
	body["userName"] = upn
	// Profile update: PUT of the whole object, with a new password.
	body["name"] = map[string]any{"givenName": "Tess", "familyName": "User"}
	body["password"] = pw2
	if p := c.Do("PUT", "/Users/"+id, body); p.Status != 200 || Get(p.Body, "name", "givenName") != "Tess" || p.Body["active"] != true {
		t.Fatalf("PUT: %s", p.Raw)
	}
	if d.Passwords() && (d.CanBind(t, id, pw) || !d.CanBind(t, id, pw2)) {
		t.Error("PUT did not replace the password")
	}
	// Deactivate: no path, value object.
	if p := c.MustPatch("/Users/"+id, PatchBody(Op("replace", "", map[string]any{"active": false}))); p.Body["active"] != false || d.Active(t, id) {
		t.Errorf("deactivate: %s", p.Raw)
	}
	if d.Passwords() && d.CanBind(t, id, pw2) {
		t.Error("a deactivated user can still bind")
	}
	c.MustPatch("/Users/"+id, PatchBody(Op("replace", "", map[string]any{"active": true})))
	if !d.Active(t, id) || d.Passwords() && !d.CanBind(t, id, pw2) {
		t.Error("reactivation did not enable the account")
	}
	// A password the directory's policy refuses (complexity) is a 400, and the
	// old one still works.
	if d.Passwords() {
		WantError(t, c.Do("PATCH", "/Users/"+id, PatchBody(Op("replace", "password", "abc"))), 400, "invalidValue")
		if !d.CanBind(t, id, pw2) {
			t.Error("a refused password changed something")
		}
	}
	// Import: startIndex/count paging, and sorting (descending needs the
	// criticality BOOLEAN encoded as 0xFF on Samba).
	if l := c.Do("GET", "/Users?startIndex=1&count=100", nil); l.Status != 200 || l.Body["totalResults"].(float64) < 1 {
		t.Errorf("import: %s", l.Raw)
	}
	for i := 0; i < 3; i++ {
		c.MustCreate("/Users", User(fmt.Sprintf("okta-sort-%d", i), nil))
	}
	l := c.Do("GET", "/Users?startIndex=1&count=2&sortBy=userName&sortOrder=descending&filter="+
		strings.TrimPrefix(FilterQ(`userName sw "okta-sort-"`), "?filter="), nil)
	if l.Status != 200 || l.Body["totalResults"] != 3.0 || Get(l.Body, "Resources", "0", "userName") != "okta-sort-2" ||
		Get(l.Body, "Resources", "1", "userName") != "okta-sort-1" || len(l.Body["Resources"].([]any)) != 2 {
		t.Errorf("sorted page: %s", l.Raw)
	}
}

// EntraGroupLifecycle is a group's life as Entra ID provisions it: match by
// displayName without members, create, member adds and removes in both PATCH
// modes, a rename, an unknown member, delete.
func EntraGroupLifecycle(t *testing.T, c *Client, d Directory) {
	u1 := c.MustCreate("/Users", User("eg-u1", nil))
	u2 := c.MustCreate("/Users", User("eg-u2", nil))
	u3 := c.MustCreate("/Users", User("eg-u3", nil))
	q := "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(`displayName eq "Entra Group"`)
	if l := c.Do("GET", q, nil); l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	gid := c.MustCreate("/Groups", map[string]any{
		"schemas":    []string{GroupSchema, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Entra Group", "meta": map[string]any{"resourceType": "Group"}})
	g := d.Entry(t, gid)
	if g == nil || strings.ToLower(g.DN) != d.DN("Group", "Entra Group") {
		t.Fatalf("the entry behind the id: %+v", g)
	}
	if m := g.GetAttributeValues("member"); !slices.Equal(m, d.EmptyMembers()) {
		t.Fatalf("an empty group's member values: %q, want %q", m, d.EmptyMembers())
	}
	wantNames(t, d, g, "Group", "Entra Group")
	if r := c.Do("GET", "/Groups/"+gid, nil); r.Body["members"] != nil || r.Body["displayName"] != "Entra Group" {
		t.Errorf("GET of the empty group (no placeholder shows): %s", r.Raw)
	}
	if l := c.Do("GET", q, nil); l.Body["totalResults"] != 1.0 || Get(l.Body, "Resources", "0", "members") != nil {
		t.Errorf("match after create: %s", l.Raw)
	}
	members := func() []string { return MemberDNs(d.Entry(t, gid)) }
	userDNs := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, d.DN("User", n))
		}
		slices.Sort(out)
		return out
	}
	// Two members in one PATCH, with "$ref": null.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("Add", "members", []any{
		map[string]any{"$ref": nil, "value": u1}, map[string]any{"$ref": nil, "value": u2}})))
	if m := members(); !slices.Equal(m, userDNs("eg-u1", "eg-u2")) {
		t.Errorf("members after add (no placeholder left): %q", m)
	}
	// The user's read-only groups attribute, from memberOf.
	if r := c.Do("GET", "/Users/"+u1, nil); Get(r.Body, "groups", "0", "value") != gid {
		t.Errorf("user groups: %s", r.Raw)
	}
	// Re-adding is a no-op; default-mode remove by value list removes only those.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("Add", "members", []any{map[string]any{"value": u1}})))
	c.MustPatch("/Groups/"+gid, PatchBody(Op("Add", "members", []any{map[string]any{"value": u3}})))
	c.MustPatch("/Groups/"+gid, PatchBody(Op("Remove", "members", []any{map[string]any{"$ref": nil, "value": u1}})))
	if m := members(); !slices.Equal(m, userDNs("eg-u2", "eg-u3")) {
		t.Errorf("after remove by value list: %q", m)
	}
	// Flag mode: remove by filter; removing a non-member is a no-op.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil)))
	c.MustPatch("/Groups/"+gid, PatchBody(Op("remove", fmt.Sprintf(`members[value eq "%s"]`, u1), nil)))
	if m := members(); !slices.Equal(m, userDNs("eg-u3")) {
		t.Errorf("after remove by filter: %q", m)
	}
	// Removing the last member leaves an empty group.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("remove", fmt.Sprintf(`members[value eq "%s"]`, u3), nil)))
	if m := d.Entry(t, gid).GetAttributeValues("member"); !slices.Equal(m, d.EmptyMembers()) {
		t.Errorf("after removing the last member: %q", m)
	}
	// Rename with Replace displayName: modrdn, id kept, every name follows; 204 on request.
	r := c.MustPatch("/Groups/"+gid, PatchBody(Op("Replace", "displayName", "Entra Group 2")), "Prefer", "return=minimal")
	if g := d.Entry(t, gid); r.Status != 204 || g == nil || strings.ToLower(g.DN) != d.DN("Group", "Entra Group 2") {
		t.Fatalf("rename: %d %+v", r.Status, g)
	}
	wantNames(t, d, d.Entry(t, gid), "Group", "Entra Group 2")
	// A renamed member stays a member.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("Add", "members", []any{map[string]any{"value": u1}})))
	c.MustPatch("/Users/"+u1, PatchBody(Op("Replace", "userName", "eg-u1-renamed")))
	Eventually(t, "the member value follows the member's rename", func() bool { return slices.Equal(members(), userDNs("eg-u1-renamed")) })
	// Unknown member id → 400, nothing changes.
	WantError(t, c.Do("PATCH", "/Groups/"+gid, PatchBody(Op("Add", "members", []any{map[string]any{"value": "7d3bcbf1-0000-0000-0000-000000000000"}}))), 400, "invalidValue", "7d3bcbf1")
	if m := members(); !slices.Equal(m, userDNs("eg-u1-renamed")) {
		t.Errorf("a refused member add changed the members: %q", m)
	}
	if del := c.Do("DELETE", "/Groups/"+gid, nil); del.Status != 204 || d.Entry(t, gid) != nil {
		t.Errorf("delete: %d", del.Status)
	}
}

// OktaGroupPush is Okta's group push: a create with no members, a no-op rename
// before the members, a remove and an add in one PATCH, replace of the whole
// list, and its PUT with a nested group.
func OktaGroupPush(t *testing.T, c *Client, d Directory) {
	u1 := c.MustCreate("/Users", User("og-u1", nil))
	u2 := c.MustCreate("/Users", User("og-u2", nil))
	gid := c.MustCreate("/Groups", map[string]any{"schemas": []string{GroupSchema}, "displayName": "Test SCIMv2", "members": []any{}})
	// Rename no-op before membership, then remove + add in one PATCH.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("replace", "", map[string]any{"id": gid, "displayName": "Test SCIMv2"})))
	c.MustPatch("/Groups/"+gid, PatchBody(
		Op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil),
		Op("add", "members", []any{map[string]any{"value": u1, "display": "og-u1"}, map[string]any{"value": u2}})))
	g := c.Do("GET", "/Groups/"+gid, nil)
	var ids []string
	for _, m := range g.Body["members"].([]any) {
		mm := m.(map[string]any)
		ids = append(ids, mm["value"].(string))
		if mm["type"] != "User" || !strings.HasSuffix(mm["$ref"].(string), "/Users/"+mm["value"].(string)) {
			t.Errorf("member shape: %v", mm)
		}
	}
	want := []string{u1, u2}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("members %v, want %v", ids, want)
	}
	// Full push: replace sets exactly the list; [] empties the group.
	c.MustPatch("/Groups/"+gid, PatchBody(Op("replace", "members", []any{map[string]any{"value": u2}})))
	if m := MemberDNs(d.Entry(t, gid)); !slices.Equal(m, []string{d.DN("User", "og-u2")}) {
		t.Errorf("after replace: %q", m)
	}
	c.MustPatch("/Groups/"+gid, PatchBody(Op("replace", "members", []any{})))
	if m := d.Entry(t, gid).GetAttributeValues("member"); !slices.Equal(m, d.EmptyMembers()) {
		t.Errorf("after replace []: %q", m)
	}
	// AIW: PUT with displayName and full members; a nested group as a member
	// (where users and groups share a container, members are told apart by
	// their entries).
	sub := c.MustCreate("/Groups", map[string]any{"displayName": "Nested"})
	p := c.Do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{GroupSchema}, "displayName": "Test SCIMv2",
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
	if l := c.Do("GET", "/Groups"+FilterQ(`members.value eq "`+sub+`"`), nil); l.Body["totalResults"] != 1.0 || Get(l.Body, "Resources", "0", "id") != gid {
		t.Errorf("filter by member: %s", l.Raw)
	}
	WantError(t, c.Do("POST", "/Groups", map[string]any{"displayName": "test scimv2"}), 409, "uniqueness", "displayName")
}

// wantNames checks that the entry holds name in every attribute the directory
// keeps it in.
func wantNames(t *testing.T, d Directory, e *ldap.Entry, resourceType, name string) {
	t.Helper()
	for attr, want := range d.Names(resourceType, name) {
		if got := e.GetAttributeValues(attr); len(got) != 1 || got[0] != want {
			t.Errorf("%s %q: LDAP %s = %q, want %q", resourceType, name, attr, got, want)
		}
	}
}

// wantAttrs checks the single value of each mapped attribute (by its SCIM
// path); what the mapping stores nowhere is skipped.
func wantAttrs(t *testing.T, d Directory, e *ldap.Entry, when string, want map[string]string) {
	t.Helper()
	for path, v := range want {
		attr := d.Attr(path)
		if attr == "" {
			continue
		}
		if got := e.GetAttributeValues(attr); len(got) != 1 || got[0] != v {
			t.Errorf("%s: LDAP %s (%s) = %q, want %q", when, attr, path, got, v)
		}
	}
}
