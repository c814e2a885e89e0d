package mapping

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestExampleMappingLoads(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("user")
	if u == nil || u.Endpoint != "/Users" || u.RDN != "uid" || u.Base != "ou=people,dc=example,dc=org" || len(u.Extensions) != 1 {
		t.Fatalf("User: %+v", u)
	}
	if g := m.ResourceType("Group"); g == nil || g.Endpoint != "/Groups" || g.RDN != "cn" {
		t.Fatalf("Group: %+v", g)
	}
	mail := u.attrByPath("emails.value")
	if mail != nil {
		t.Error("a typed slot is not a plain path")
	}
	for _, a := range u.Attrs {
		if a.Key == `emails[type eq "work"].value` && (a.LDAP != "mail" || a.Fixed["type"] != "work" || a.Sub.Name != "value") {
			t.Errorf("emails slot: %+v", a)
		}
		if strings.HasSuffix(a.Key, ":manager") && (a.Sub.Name != "value" || len(a.RefTypes) != 1 || a.RefTypes[0] != "User") {
			t.Errorf("manager: %+v", a)
		}
	}
}

// Every problem is reported, each at its line and column, with a hint.
func TestProblemsHaveLineAndColumn(t *testing.T) {
	src := `directory:
  flavor: openldap
resourceTypes:
  User:
    ldap:
      base: ou=people,dc=example,dc=org
      objectClasses: [inetOrgPerson]
      rdn: uid
      scope: deep
    attributes:
      userName: {ldap: uid, uniqness: server}
      name.givenNam: {ldap: givenName}
      displayName: {ldap: displayName, caseExact: maybe}
      title: {ldap: [title, t2]}
      nickname: {ldap: "bad attr"}
      name: {ldap: cn}
`
	_, err := Parse("m.yaml", []byte(src))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		`m.yaml:9:14: User.ldap.scope is "deep"; want one of: one, sub`,
		`m.yaml:11:29: unknown key "uniqness" in User attribute userName (did you mean "uniqueness"?)`,
		`m.yaml:12:7: name has no sub-attribute "givenNam"`,
		`m.yaml:13:51: displayName.caseExact must be true or false`,
		`m.yaml:14:21: title.ldap must be a string, not a list`,
		`m.yaml:15:24: "bad attr" is not a valid LDAP attribute name`,
		`m.yaml:16:7: name is complex: map its sub-attributes, e.g. name.formatted`,
	}
	got := strings.Split(ps.Error(), "\n")
	for i, g := range got { // the list of known keys grows with the mapping language
		got[i], _, _ = strings.Cut(g, "; known keys:")
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("missing problem\n  %s\ngot:\n  %s", w, strings.Join(got, "\n  "))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n  %s", len(got), len(want), strings.Join(got, "\n  "))
	}
}

func TestProblems(t *testing.T) {
	base := "resourceTypes:\n  User:\n    ldap: {base: \"ou=people,dc=example,dc=org\", objectClasses: [inetOrgPerson], rdn: uid}\n    attributes:\n"
	cases := []struct{ name, src, want string }{
		{"syntax", "resourceTypes: {User: [\n", "m.yaml:1:"},
		{"empty", "", "m.yaml:1:1: the mapping file is empty"},
		{"top-level typo", "resourceType: {}\n", `m.yaml:1:1: unknown key "resourceType" in the mapping file (did you mean "resourceTypes"?)`},
		{"unknown SCIM attribute", base + "      userName: {ldap: uid}\n      userNam: {ldap: cn}\n", `m.yaml:6:7: unknown SCIM attribute "userNam" in schema urn:ietf:params:scim:schemas:core:2.0:User (did you mean "userName"?)`},
		{"required unmapped", base + "      displayName: {ldap: displayName}\n", "the required SCIM attribute userName is not mapped"},
		{"rdn unmapped", base + "      userName: {ldap: cn}\n", "the RDN attribute uid is not mapped"},
		{"duplicate LDAP", base + "      userName: {ldap: uid}\n      displayName: {ldap: UID}\n", "m.yaml:6:27: LDAP attribute UID is already mapped by userName"},
		{"bad base", "resourceTypes:\n  User:\n    ldap: {base: \"not a dn\", objectClasses: [x], rdn: uid}\n    attributes: {userName: uid}\n", "is not a valid DN"},
		{"bad filter", "resourceTypes:\n  User:\n    ldap: {base: \"o=x\", filter: \"(objectClass=x\", objectClasses: [x], rdn: uid}\n    attributes: {userName: uid}\n", "is not a valid LDAP filter"},
		{"filter on single-valued", base + "      userName: {ldap: uid}\n      'name[type eq \"x\"].givenName': {ldap: gn}\n", "applies to multi-valued attributes"},
		{"slot filter with or", base + "      userName: {ldap: uid}\n      'emails[type eq \"work\" or type eq \"home\"].value': {ldap: mail}\n", "may only join eq comparisons with and"},
		{"bad path", base + "      userName: {ldap: uid}\n      'emails[type eq].value': {ldap: mail}\n", `m.yaml:6:7: attribute "emails[type eq].value": invalid path`},
		{"unknown reference", base + "      userName: {ldap: uid}\n      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager': {ldap: manager, reference: Boss}\n", "not the resource type's schema or one of its extensions"},
		{"reference to undeclared type", "resourceTypes:\n  User:\n    extensions: [urn:ietf:params:scim:schemas:extension:enterprise:2.0:User]\n    ldap: {base: \"o=x\", objectClasses: [x], rdn: uid}\n    attributes:\n      userName: uid\n      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager': {ldap: manager, reference: Boss}\n", `m.yaml:7:7: User.urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager: reference to resource type "Boss"`},
		{"template names unmapped", "resourceTypes:\n  User:\n    ldap: {base: \"o=x\", objectClasses: [x], rdn: uid, defaults: {sn: \"{nickName}\"}}\n    attributes: {userName: uid}\n", `template names "nickName"`},
		{"id", base + "      userName: {ldap: uid}\n      id: {ldap: x}\n", "id cannot be mapped"},
		{"readOnly sub", base + "      userName: {ldap: uid}\n      'emails.display': {ldap: x}\n", "is read-only"},
		{"lock without falseValue", base + "      userName: {ldap: uid}\n      active: {ldap: pwdAccountLockedTime, trueWhenAbsent: true}\n", "m.yaml:6:60: active: trueWhenAbsent needs falseValue"},
		{"slot on value", base + "      userName: {ldap: uid}\n      'phoneNumbers[value eq \"x\"].value': {ldap: mobile}\n", "m.yaml:6:7: a mapping's value filter names a slot"},
		{"typed and catch-all", base + "      userName: {ldap: uid}\n      'emails[type eq \"work\"].value': mail\n      emails.value: description\n", "m.yaml:7:7: emails.value takes every emails"},
		{"template position", "resourceTypes:\n  User:\n    ldap:\n      base: o=x\n      objectClasses: [x]\n      rdn: uid\n      defaults:\n        sn: \"{nickName}\"\n    attributes: {userName: uid}\n", "m.yaml:8:9: User.ldap.defaults.sn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant a problem containing %q", err, c.want)
			}
		})
	}
}

// unmappedAttributes: ignore (the default) or refuse, for every resource type;
// anything else is a problem at its position.
func TestUnmappedAttributesOption(t *testing.T) {
	types := "resourceTypes:\n  User:\n    ldap: {base: \"o=x\", objectClasses: [x], rdn: uid}\n    attributes: {userName: uid}\n" +
		"  Group:\n    ldap: {base: \"o=g\", objectClasses: [groupOfNames], rdn: cn}\n    attributes: {displayName: cn}\n"
	for _, c := range []struct {
		top    string
		want   string
		refuse bool
	}{
		{"", UnmappedIgnore, false},
		{"unmappedAttributes: ignore\n", UnmappedIgnore, false},
		{"unmappedAttributes: refuse\n", UnmappedRefuse, true},
	} {
		m, err := Parse("m.yaml", []byte(c.top+types))
		if err != nil {
			t.Fatalf("%q: %v", c.top, err)
		}
		if m.UnmappedAttributes != c.want {
			t.Errorf("%q: UnmappedAttributes = %q, want %q", c.top, m.UnmappedAttributes, c.want)
		}
		for _, rt := range m.Types {
			if rt.RefuseUnmapped != c.refuse {
				t.Errorf("%q: %s.RefuseUnmapped = %v", c.top, rt.Name, rt.RefuseUnmapped)
			}
		}
	}
	for top, want := range map[string]string{
		"unmappedAttributes: strict\n":   `m.yaml:1:21: unmappedAttributes is "strict"; want one of: ignore, refuse`,
		"unmappedAttributes: [refuse]\n": "m.yaml:1:21: unmappedAttributes must be a string, not a list",
		"unmappedAttribute: refuse\n":    `m.yaml:1:1: unknown key "unmappedAttribute" in the mapping file (did you mean "unmappedAttributes"?)`,
	} {
		_, err := Parse("m.yaml", []byte(top+types))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v\nwant a problem containing %q", top, err, want)
		}
	}
}

func TestExampleIsInRepoRoot(t *testing.T) {
	if _, err := os.Stat("../mappings.example.yaml"); err != nil {
		t.Fatal(err)
	}
}
