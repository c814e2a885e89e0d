package mapping

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

const (
	enterpriseTypo   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User" // Entra ID: a colon missing
	enterpriseLegacy = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User."
)

// A path names the same attribute in a filter, a sortBy, an attributes or
// excludedAttributes list and a PATCH path: the four consumers of ResolvePath
// agree, on RFC 7644 §3.10's notation and on Microsoft Entra ID's legacy forms.
func TestPathsResolveAlikeEverywhere(t *testing.T) {
	u := exampleUser(t)
	for _, c := range []struct {
		path      string
		schema    string // of the PATCH target; "" when the path names nothing
		attr, sub string
		ldap      string // the LDAP attribute a filter, sortBy and attributes read
	}{
		// RFC 7644 §3.10: core attributes with or without the core URN, sub-attributes by ".".
		{"userName", UserSchema, "userName", "", "uid"},
		{"urn:ietf:params:scim:schemas:core:2.0:User:userName", UserSchema, "userName", "", "uid"},
		{"name.familyName", UserSchema, "name", "familyName", "sn"}, // §3.5.2.3's example path
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", UserSchema, "name", "givenName", "givenName"},
		// §3.10: "All facets (URN, attribute, and sub-attribute name) … are case insensitive".
		{"USERNAME", UserSchema, "userName", "", "uid"},
		{"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:NAME.GIVENNAME", UserSchema, "name", "givenName", "givenName"},
		// A multi-valued attribute means its value (§3.4.2.2, §3.4.2.3).
		{"emails", UserSchema, "emails", "", "mail"},
		{"emails.value", UserSchema, "emails", "value", "mail"},
		// Extension attributes, qualified as §3.10 recommends or not.
		{EnterpriseSchema + ":employeeNumber", EnterpriseSchema, "employeeNumber", "", "employeeNumber"},
		{"employeeNumber", EnterpriseSchema, "employeeNumber", "", "employeeNumber"},
		{strings.ToLower(EnterpriseSchema) + ":DEPARTMENT", EnterpriseSchema, "department", "", "departmentNumber"},
		// Entra ID's forms.
		{enterpriseLegacy + "employeeNumber", EnterpriseSchema, "employeeNumber", "", "employeeNumber"},
		{enterpriseTypo + ":employeeNumber", EnterpriseSchema, "employeeNumber", "", "employeeNumber"},
		// Common attributes (RFC 7643 §3.1) and the directory's operational attributes.
		{"externalId", UserSchema, "externalId", "", "uniqueIdentifier"},
		{"id", UserSchema, "id", "", ""},
		{"meta.lastModified", UserSchema, "meta", "lastModified", ""},
		// Names nothing.
		{"fooBarBaz", "", "", "", ""},
		{"userName.x", "", "", "", ""},
		{"name.noSuchSub", "", "", "", ""},
		{"urn:example:nope:2.0:User:x", "", "", "", ""},
		{UserSchema + ":employeeNumber", "", "", "", ""}, // the core URN names core attributes only
		{enterpriseLegacy + "shoeSize", "", "", "", ""},
	} {
		p, err := filterxlate.ParsePath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		// PATCH: gateway's patchDoc.target.
		tg, err := u.ResolvePath(p.Attr.URN, p.Attr.Name, p.Attr.Sub)
		var ve *ValueError
		switch {
		case c.schema == "" && (!errors.As(err, &ve) || ve.ScimType != scimerr.InvalidPath):
			t.Errorf("PATCH %s: %+v, %v; want invalidPath", c.path, tg, err)
		case c.schema != "" && (err != nil || tg.SchemaURN != c.schema || tg.Def.Name != c.attr || subName(&AttrMap{Sub: tg.Sub}) != c.sub):
			t.Errorf("PATCH %s: %+v, %v; want %s:%s.%s", c.path, tg, err, c.schema, c.attr, c.sub)
		}
		// Filter: "path pr" reads the LDAP attribute.
		want := c.ldap
		switch c.attr {
		case "id":
			want = "entryUUID"
		case "meta":
			want = "modifyTimestamp"
		}
		expr, err := filterxlate.Parse(c.path + " pr")
		if err != nil {
			t.Fatalf("%s pr: %v", c.path, err)
		}
		got, err := filterxlate.Translate(expr, u, nil)
		if (want == "") != (err != nil) || (err == nil && !strings.Contains(got, "("+want+"=*)")) {
			t.Errorf("filter %s pr = %q, %v; want (%s=*)", c.path, got, err, want)
		}
		// sortBy.
		k, err := u.SortKey(c.path)
		if (want == "") != (err != nil) || (err == nil && k.LDAP != want) {
			t.Errorf("sortBy %s = %+v, %v; want %s", c.path, k, err, want)
		}
		// attributes and excludedAttributes.
		included := u.LDAPAttributes(u.Project([]string{c.path}, nil))
		excluded := u.LDAPAttributes(u.Project(nil, []string{c.path}))
		if c.ldap != "" && (!slices.Contains(included, c.ldap) || slices.Contains(excluded, c.ldap)) {
			t.Errorf("attributes=%s reads %v, excludedAttributes=%[1]s reads %v; want %s in the first only", c.path, included, excluded, c.ldap)
		}
		if c.schema == "" && !slices.Equal(included, u.LDAPAttributes(u.Project([]string{"nothing"}, nil))) {
			t.Errorf("attributes=%s reads %v; want nothing selected", c.path, included)
		}
	}
}

// Entra ID's legacy path of the enterprise manager (a reference, which has no
// ordering) in each consumer that takes it, and a whole extension by its URN.
func TestEntraManagerPath(t *testing.T) {
	u := exampleUser(t)
	for _, path := range []string{enterpriseLegacy + "manager", enterpriseTypo + ":manager", EnterpriseSchema + ":manager"} {
		p, _ := filterxlate.ParsePath(path)
		if tg, err := u.ResolvePath(p.Attr.URN, p.Attr.Name, p.Attr.Sub); err != nil || tg.SchemaURN != EnterpriseSchema || tg.Def.Name != "manager" || tg.Sub != nil {
			t.Errorf("PATCH %s: %+v, %v", path, tg, err)
		}
		expr, _ := filterxlate.Parse(path + " pr")
		if got, err := filterxlate.Translate(expr, u, nil); err != nil || got != "(manager=*)" {
			t.Errorf("filter %s pr = %q, %v", path, got, err)
		}
		if !slices.Contains(u.LDAPAttributes(u.Project([]string{path}, nil)), "manager") {
			t.Errorf("attributes=%s does not read manager", path)
		}
		if _, err := u.SortKey(path); err == nil || !strings.Contains(err.Error(), "reference") {
			t.Errorf("sortBy %s: %v; want no ordering for a reference", path, err)
		}
	}
	for _, urn := range []string{EnterpriseSchema, enterpriseTypo, strings.ToUpper(EnterpriseSchema)} {
		if u.ExtensionURN(urn) != EnterpriseSchema {
			t.Errorf("ExtensionURN(%s) = %q", urn, u.ExtensionURN(urn))
		}
		attrs := u.LDAPAttributes(u.Project([]string{urn}, nil))
		if !slices.Contains(attrs, "employeeNumber") || !slices.Contains(attrs, "manager") || slices.Contains(attrs, "uid") {
			t.Errorf("attributes=%s reads %v; want the extension's attributes only", urn, attrs)
		}
	}
	if u.ExtensionURN(UserSchema) != "" {
		t.Error("ExtensionURN names the core schema")
	}
}

// One answer to "is this the membership attribute", by SCIM definition and by
// LDAP attribute: a group's members; a user's groups (read-only) are not.
func TestMembership(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, u := m.ResourceType("Group"), m.ResourceType("User")
	members, _ := g.ResolvePath("", "MEMBERS", "value")
	if a := g.Membership(members.Def); a == nil || a.LDAP != "member" {
		t.Errorf("Group members: %+v", a)
	}
	if a := g.MembershipLDAP("Member"); a == nil || a.Def != members.Def {
		t.Errorf("Group member: %+v", a)
	}
	groups, _ := u.ResolvePath("", "groups", "")
	if u.Membership(groups.Def) != nil || u.MembershipLDAP("memberOf") != nil || g.MembershipLDAP("cn") != nil {
		t.Error("groups, memberOf or cn taken for membership")
	}
}

// PATCH paths with value filters (RFC 7644 §3.5.2's examples), as gateway's
// patchDoc.target resolves them: the sub-attribute after the filter is the
// path's.
func TestPatchPathsWithValueFilters(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rt, path, want string }{
		{"Group", `members[value eq "2819c223-7f76-453a-919d-413861904646"]`, "members"},
		{"User", `emails[type eq "work" and value ew "example.com"]`, "emails"},
		{"User", `addresses[type eq "work"].streetAddress`, "addresses.streetAddress"},
		{"User", `emails[type eq "work"].value`, "emails.value"},
		{"User", `emails[type eq "work"].noSuchSub`, ""},
	} {
		p, err := filterxlate.ParsePath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		sub := p.Attr.Sub
		if p.Sub != "" {
			sub = p.Sub
		}
		rt := m.ResourceType(c.rt)
		tg, err := rt.ResolvePath(p.Attr.URN, p.Attr.Name, sub)
		got := ""
		if err == nil {
			got = rt.notation(tg)
		}
		if got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.path, got, err, c.want)
		}
	}
}
