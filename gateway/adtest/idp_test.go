package adtest

// The IdP scenarios of internal/scimtest (Microsoft Entra ID and Okta, users
// and groups) against Samba AD with mappings.ad.example.yaml; the gateway
// tests run the same scenarios against slapd.

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

// TestIdPScenariosAD runs every scenario of scimtest.Scenarios on the Samba
// AD DC, each against a gateway of its own, with every write first planned
// (scimtest.PlanShadow, as the slapd suite does; plan_test.go).
func TestIdPScenariosAD(t *testing.T) {
	for _, s := range scimtest.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			e, sh := planShadowEnv(t)
			s.Run(t, e.Client, activeDirectory{e})
			sh.Done()
		})
	}
}

// activeDirectory is the DC under mappings.ad.example.yaml as the scenarios
// see it: ids are objectGUIDs in their string form, ETags uSNChanged; users
// and groups share one OU as CN=<name>, with sAMAccountName following the name
// (and a user's userPrincipalName, <userName>@example.test unless userName
// holds an @); active is the ACCOUNTDISABLE bit (0x2) of userAccountControl;
// passwords are stored (unicodePwd, over LDAPS) under the domain's complexity
// policy; an empty group has no member value.
type activeDirectory struct{ e *env }

var _ scimtest.Directory = activeDirectory{}

func (d activeDirectory) Entry(t testing.TB, id string) *ldap.Entry {
	t.Helper()
	return d.e.byID(id)
}

func (activeDirectory) DN(_, name string) string { return dnOf(name) }

func (activeDirectory) Names(resourceType, name string) map[string]string {
	names := map[string]string{"cn": name, "sAMAccountName": name}
	if resourceType == "User" {
		names["userPrincipalName"] = name
		if !strings.Contains(name, "@") {
			names["userPrincipalName"] = name + "@example.test"
		}
	}
	return names
}

var adAttrs = map[string]string{
	"userName": "sAMAccountName", "name.familyName": "sn", "name.givenName": "givenName", "displayName": "displayName",
	"title": "title", `emails[type eq "work"].value`: "mail",
	entSchema + ":employeeNumber": "employeeID", entSchema + ":manager": "manager",
	"meta.version": "uSNChanged", "meta.created": "whenCreated",
}

func (activeDirectory) Attr(path string) string { return adAttrs[path] }

// Active is true for NORMAL_ACCOUNT (512), false with ACCOUNTDISABLE (514):
// the scenarios' accounts have no other bit.
func (d activeDirectory) Active(t testing.TB, id string) bool {
	t.Helper()
	switch n := uac(d.e.byID(id)); n {
	case 512:
		return true
	case 514:
		return false
	default:
		t.Errorf("userAccountControl = %d, want 512 (enabled) or 514 (disabled)", n)
		return n&2 == 0
	}
}

// CanBind binds as the account's userPrincipalName, as its holder would.
func (d activeDirectory) CanBind(t testing.TB, id, password string) bool {
	t.Helper()
	return canBind(t, d.e.byID(id).GetAttributeValue("userPrincipalName"), password)
}

func (activeDirectory) Passwords() bool { return true }

func (activeDirectory) SetPassword(t testing.TB, _, _ string) {
	t.Fatal("the AD mapping stores passwords: the scenarios send them through SCIM")
}

func (activeDirectory) EmptyMembers() []string { return nil }
