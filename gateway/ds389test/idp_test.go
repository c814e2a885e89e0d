package ds389test

// The IdP scenarios of internal/scimtest (Microsoft Entra ID and Okta, users
// and groups) against 389 Directory Server with mappings.389ds.example.yaml;
// the gateway tests run the same scenarios against slapd, gateway/adtest
// against Samba AD.

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

// TestIdPScenarios389DS runs every scenario of scimtest.Scenarios on 389 DS,
// each against a gateway of its own.
func TestIdPScenarios389DS(t *testing.T) {
	for _, s := range scimtest.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			e := newEnv(t, "")
			s.Run(t, e.Client, ds389{e})
		})
	}
}

// ds389 is 389 DS under mappings.389ds.example.yaml as the scenarios see it:
// ids are nsUniqueIds, ETags entryusn (the USN plugin); users are
// uid=<userName>,ou=people and groups cn=<displayName>,ou=groups; active
// false is nsAccountLock: true; passwords are stored (Password Modify over
// LDAPS, hashed by the server); an empty groupOfNames has no member value.
type ds389 struct{ e *env }

var _ scimtest.Directory = ds389{}

func (d ds389) Entry(t testing.TB, id string) *ldap.Entry {
	t.Helper()
	return d.e.byID(id)
}

func (ds389) DN(resourceType, name string) string {
	if resourceType == "Group" {
		return strings.ToLower("cn=" + ldap.EscapeDN(name) + "," + groups)
	}
	return peopleDN(name)
}

func (ds389) Names(resourceType, name string) map[string]string {
	if resourceType == "Group" {
		return map[string]string{"cn": name}
	}
	return map[string]string{"uid": name}
}

var dsAttrs = map[string]string{
	"userName": "uid", "externalId": "uniqueIdentifier", "name.formatted": "cn", "name.familyName": "sn",
	"name.givenName": "givenName", "displayName": "displayName", "title": "title", `emails[type eq "work"].value`: "mail",
	entSchema + ":employeeNumber": "employeeNumber", entSchema + ":manager": "manager",
	"meta.version": "entryusn", "meta.created": "createTimestamp",
}

func (ds389) Attr(path string) string { return dsAttrs[path] }

// Active is true without nsAccountLock, false with nsAccountLock: true.
func (d ds389) Active(t testing.TB, id string) bool {
	t.Helper()
	switch lock := d.e.byID(id).GetAttributeValue("nsAccountLock"); lock {
	case "":
		return true
	case "true":
		return false
	default:
		t.Errorf("nsAccountLock = %q, want none or true", lock)
		return false
	}
}

func (d ds389) CanBind(t testing.TB, id, password string) bool {
	t.Helper()
	return canBind(t, d.e.byID(id).DN, password)
}

func (ds389) Passwords() bool { return true }

func (ds389) SetPassword(t testing.TB, _, _ string) {
	t.Fatal("the 389 DS mapping stores passwords: the scenarios send them through SCIM")
}

func (ds389) EmptyMembers() []string { return nil }
