package gateway_test

// The IdP scenarios of internal/scimtest (Microsoft Entra ID and Okta, users
// and groups) against slapd with mappings.example.yaml; gateway/adtest runs the
// same scenarios against Active Directory.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

// TestIdPScenarios runs every scenario of scimtest.Scenarios on slapd, each
// against a gateway of its own. Every write a scenario sends is first planned
// (scimtest.PlanShadow, with a credential that has plan: true): the plan must
// leave the directory byte for byte as it was, answer what the real write
// answers but for what the directory assigns, and audit the same change as
// LDIF; then the write is sent for real and the scenario goes on.
func TestIdPScenarios(t *testing.T) {
	for _, s := range scimtest.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			e, audit := planEnv(t, "read-write")
			sh := &scimtest.PlanShadow{T: t, PlanAuth: "Bearer " + planToken, Events: audit.Events,
				Dump: func(t testing.TB) string { return dumpTree(t, e.ldap) }}
			e.Client.HTTP = &http.Client{Transport: sh}
			s.Run(t, e.Client, openLDAP{e})
			if sh.Writes < 5 || sh.Creates == 0 {
				t.Fatalf("the scenario sent %d writes, %d creates: the plan shadow saw too little", sh.Writes, sh.Creates)
			}
			t.Logf("%d writes planned and compared, %d of them creates", sh.Writes, sh.Creates)
		})
	}
}

// openLDAP is slapd under mappings.example.yaml as the scenarios see it: ids
// are entryUUIDs, ETags entryCSNs; users are uid=<userName>,ou=people and
// groups cn=<displayName>,ou=groups; active false is ppolicy's
// pwdAccountLockedTime 000001010000Z; password is not mapped; an empty
// groupOfNames holds the placeholder member "".
type openLDAP struct{ e *env }

var _ scimtest.Directory = openLDAP{}

func (d openLDAP) Entry(t testing.TB, id string) *ldap.Entry {
	t.Helper()
	res, err := d.e.ldap.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false,
		"(entryUUID="+ldap.EscapeFilter(id)+")", []string{"*", "+"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

func (openLDAP) DN(resourceType, name string) string {
	if resourceType == "Group" {
		return strings.ToLower("cn=" + ldap.EscapeDN(name) + ",ou=groups,dc=example,dc=org")
	}
	return peopleDN(name)
}

func (openLDAP) Names(resourceType, name string) map[string]string {
	if resourceType == "Group" {
		return map[string]string{"cn": name}
	}
	return map[string]string{"uid": name}
}

var openLDAPAttrs = map[string]string{
	"userName": "uid", "externalId": "uniqueIdentifier", "name.formatted": "cn", "name.familyName": "sn",
	"name.givenName": "givenName", "displayName": "displayName", "title": "title", `emails[type eq "work"].value`: "mail",
	entSchema + ":employeeNumber": "employeeNumber", entSchema + ":manager": "manager",
	"meta.version": "entryCSN", "meta.created": "createTimestamp",
}

func (openLDAP) Attr(path string) string { return openLDAPAttrs[path] }

func (d openLDAP) Active(t testing.TB, id string) bool {
	t.Helper()
	switch lock := d.Entry(t, id).GetAttributeValue("pwdAccountLockedTime"); lock {
	case "":
		return true
	case "000001010000Z":
		return false
	default:
		t.Errorf("pwdAccountLockedTime = %q, want none or 000001010000Z (locked for good)", lock)
		return false
	}
}

func (d openLDAP) CanBind(t testing.TB, id, password string) bool {
	t.Helper()
	return d.e.canBind(d.Entry(t, id).DN, password)
}

func (openLDAP) Passwords() bool { return false }

func (d openLDAP) SetPassword(t testing.TB, id, password string) {
	t.Helper()
	mod := ldap.NewModifyRequest(d.Entry(t, id).DN, nil)
	mod.Replace("userPassword", []string{password})
	if err := d.e.ldap.Modify(mod); err != nil {
		t.Fatal(err)
	}
}

func (openLDAP) EmptyMembers() []string { return []string{""} }
