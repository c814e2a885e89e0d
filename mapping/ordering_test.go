package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSortKey(t *testing.T) {
	u := exampleUser(t)
	ok := []struct{ sortBy, ldap, rule string }{
		{"userName", "uid", CaseIgnoreOrdering},
		{"USERNAME", "uid", CaseIgnoreOrdering},
		{"name.familyName", "sn", CaseIgnoreOrdering},
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "givenName", CaseIgnoreOrdering},
		{"externalId", "uniqueIdentifier", CaseExactOrdering}, // caseExact (RFC 7643 §3.1)
		{"emails", "mail", CaseIgnoreOrdering},
		{"emails.value", "mail", CaseIgnoreOrdering},
		{"id", "entryUUID", UUIDOrdering},
		{"meta.lastModified", "modifyTimestamp", GeneralizedTimeOrdering},
		{"meta.created", "createTimestamp", GeneralizedTimeOrdering},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "employeeNumber", CaseIgnoreOrdering},
		{"employeeNumber", "employeeNumber", CaseIgnoreOrdering},
	}
	for _, c := range ok {
		k, err := u.SortKey(c.sortBy)
		if err != nil || k.LDAP != c.ldap || k.OrderingRule != c.rule {
			t.Errorf("SortKey(%q) = %+v, %v; want %s:%s", c.sortBy, k, err, c.ldap, c.rule)
		}
	}
	bad := []struct{ sortBy, msg string }{
		{"nickName", "not mapped"},
		{"phoneNumbers", "several directory attributes (telephoneNumber, mobile)"},
		{"name", "complex"},
		{"userName.x", "no sub-attribute"},
		{"meta.version", "meta.created and meta.lastModified"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "reference"},
		{`emails[type eq "work"]`, "[filter]"},
		{"urn:x:y:title", "unknown schema"},
		{"user name", "not an attribute path"},
		{"", "not an attribute path"},
	}
	for _, c := range bad {
		_, err := u.SortKey(c.sortBy)
		var ve *ValueError
		if !errors.As(err, &ve) || ve.ScimType != "invalidValue" || !strings.Contains(ve.Msg, c.msg) || !strings.Contains(ve.Msg, fmt.Sprintf("sortBy %q", c.sortBy)) {
			t.Errorf("SortKey(%q) = %v; want invalidValue naming it and mentioning %q", c.sortBy, err, c.msg)
		}
	}
}

func TestOrderingOption(t *testing.T) {
	src := `resourceTypes:
  User:
    ldap: {base: "ou=people,dc=example,dc=org", objectClasses: [inetOrgPerson], rdn: uid}
    attributes:
      userName: {ldap: uid, ordering: caseExactOrderingMatch}
      title: {ldap: title, ordering: 2.5.13.3}
      active: {ldap: pwdReset}
      displayName: {ldap: displayName, ordering: "not a rule"}
`
	_, err := Parse("m.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `m.yaml:8:50: displayName.ordering "not a rule" is not a matching rule name or OID`) {
		t.Fatalf("bad ordering: %v", err)
	}
	m, err := Parse("m.yaml", []byte(strings.Replace(src, `, ordering: "not a rule"`, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("User")
	for sortBy, rule := range map[string]string{"userName": CaseExactOrdering, "title": "2.5.13.3", "displayName": CaseIgnoreOrdering} {
		if k, err := u.SortKey(sortBy); err != nil || k.OrderingRule != rule {
			t.Errorf("%s: %+v %v, want rule %s", sortBy, k, err, rule)
		}
	}
	if _, err := u.SortKey("active"); err == nil || !strings.Contains(err.Error(), "boolean, which has no ordering") {
		t.Errorf("boolean without ordering: %v", err)
	}
}
