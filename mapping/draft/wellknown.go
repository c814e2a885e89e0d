package draft

import (
	"slices"
	"strings"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Flavor is the kind of directory Detect finds.
type Flavor string

// The flavors Detect tells apart.
const (
	OpenLDAP        Flavor = "openldap"
	ActiveDirectory Flavor = "activedirectory" // AD and Samba AD
	DS389           Flavor = "389ds"           // 389 Directory Server / Red Hat DS
)

// Detect tells the directory's flavor from its root DSE, and says why:
// supportedCapabilities listing LDAP_CAP_ACTIVE_DIRECTORY_OID
// (1.2.840.113556.1.4.800) is Active Directory or Samba AD [MS-ADTS
// 3.1.1.3.4.3]; a vendorName (RFC 3045) naming 389 ("389 Project") or Red Hat
// / Fedora Directory Server is 389 DS; the OpenLDAProotDSE object class is
// slapd; anything else is drafted as OpenLDAP (RFC 4519 schemas), said so.
func Detect(dse *ldapstore.RootDSE) (Flavor, string) {
	if slices.Contains(dse.SupportedCapabilities, ldapstore.OIDActiveDirectory) {
		why := "the root DSE's supportedCapabilities lists 1.2.840.113556.1.4.800 (Active Directory)"
		if dse.IsGlobalCatalogReady != "" {
			why += ", isGlobalCatalogReady: " + dse.IsGlobalCatalogReady
		}
		return ActiveDirectory, why
	}
	v := strings.ToLower(dse.VendorName)
	if strings.Contains(v, "389") || strings.Contains(v, "red hat") || strings.Contains(v, "fedora") {
		return DS389, "the root DSE's vendorName is " + dse.VendorName + " " + dse.VendorVersion
	}
	if slices.ContainsFunc(dse.ObjectClasses, func(c string) bool { return strings.EqualFold(c, "OpenLDAProotDSE") }) {
		return OpenLDAP, "the root DSE is an OpenLDAProotDSE (slapd)"
	}
	if dse.VendorName != "" {
		return OpenLDAP, "unrecognised vendorName " + dse.VendorName + ": drafted as OpenLDAP (RFC 4519/2798 schemas)"
	}
	return OpenLDAP, "the root DSE names no vendor: drafted as OpenLDAP (RFC 4519/2798 schemas)"
}

// Enterprise is the enterprise User extension's URN (RFC 7643 §4.3).
const Enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// wellKnown is one well-known LDAP attribute and the RFC 7643 path it maps to.
type wellKnown struct {
	ldap, path string
	opts       string // further options in the mapping's flow map, e.g. "uniqueness: server"
	comment    string // a line above the mapping, when the choice needs one
}

// The well-known attributes by flavor, in the order the mapping lists them:
// the inetOrgPerson ones (RFC 2798, RFC 4519) as mappings.example.yaml maps
// them, the AD ones as mappings.ad.example.yaml does ([MS-ADA1..3] names).
var (
	// sharedUser are the attributes both kinds of directory name alike.
	sharedUser = []wellKnown{
		{ldap: "displayName", path: "displayName"},
		{ldap: "title", path: "title"},
		{ldap: "preferredLanguage", path: "preferredLanguage"},
		{ldap: "mail", path: `emails[type eq "work"].value`},
		{ldap: "telephoneNumber", path: `phoneNumbers[type eq "work"].value`},
		{ldap: "mobile", path: `phoneNumbers[type eq "mobile"].value`},
		{ldap: "homePhone", path: `phoneNumbers[type eq "home"].value`},
		{ldap: "facsimileTelephoneNumber", path: `phoneNumbers[type eq "fax"].value`},
		{ldap: "pager", path: `phoneNumbers[type eq "pager"].value`},
	}
	manager  = wellKnown{ldap: "manager", path: Enterprise + ":manager", opts: "reference: User"}
	ldapUser = slices.Concat([]wellKnown{
		{ldap: "uid", path: "userName", opts: "uniqueness: server"},
		{ldap: "uniqueIdentifier", path: "externalId"},
		{ldap: "cn", path: "name.formatted"},
		{ldap: "sn", path: "name.familyName"},
		{ldap: "givenName", path: "name.givenName"},
	}, sharedUser, []wellKnown{
		{ldap: "employeeType", path: "userType"},
		{ldap: "employeeNumber", path: Enterprise + ":employeeNumber"},
		{ldap: "departmentNumber", path: Enterprise + ":department"},
		{ldap: "o", path: Enterprise + ":organization"},
		manager,
	})
	adUser = slices.Concat([]wellKnown{
		{ldap: "sAMAccountName", path: "userName", opts: "uniqueness: server",
			comment: "The pre-Windows 2000 logon name: at most 20 characters, none of \" / \\ [ ] : ; | = , + * ? < >\n(a 400 names the problem before anything is written)."},
		{ldap: "givenName", path: "name.givenName"},
		{ldap: "sn", path: "name.familyName"},
	}, sharedUser, []wellKnown{
		{ldap: "employeeID", path: Enterprise + ":employeeNumber"},
		{ldap: "department", path: Enterprise + ":department"},
		{ldap: "company", path: Enterprise + ":organization"},
		manager,
	})
)

// userTable is the well-known attributes of a user on the flavor, in the
// order the draft writes them.
func userTable(f Flavor) []wellKnown {
	if f == ActiveDirectory {
		return adUser
	}
	return ldapUser
}

// idpSource is, per IdP, the source of each SCIM path in the IdP's attribute
// mappings. Entra ID: the default attribute mappings of a non-gallery SCIM app
// (Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM
// endpoint in Microsoft Entra ID", default user and group attribute mapping
// tables). Okta: the Okta user profile attributes of a SCIM 2.0 app's "To App"
// mappings (Okta developer docs, "Build a SCIM provisioning integration").
var idpSource = map[string]map[string]string{
	"entra": {
		"userName":                             "userPrincipalName (matching attribute)",
		"active":                               `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
		"externalId":                           "objectId",
		"displayName":                          "displayName",
		"title":                                "jobTitle",
		"userType":                             "employeeType",
		"preferredLanguage":                    "preferredLanguage",
		"name.givenName":                       "givenName",
		"name.familyName":                      "surname",
		"name.formatted":                       `Join(" ", [givenName], [surname])`,
		`emails[type eq "work"].value`:         "mail",
		`phoneNumbers[type eq "work"].value`:   "telephoneNumber",
		`phoneNumbers[type eq "mobile"].value`: "mobile",
		`phoneNumbers[type eq "fax"].value`:    "facsimileTelephoneNumber",
		Enterprise + ":employeeNumber":         "employeeId",
		Enterprise + ":department":             "department",
		Enterprise + ":organization":           "companyName",
		Enterprise + ":manager":                "manager",
		"password":                             "(none: Entra ID does not provision passwords; nothing to map)",
		"Group displayName":                    "displayName (matching attribute)",
		"Group members":                        "members",
	},
	"okta": {
		"userName":                             "login (Unique identifier field for users: userName)",
		"active":                               "(built in: Deactivate Users sends active false)",
		"displayName":                          "displayName",
		"title":                                "title",
		"userType":                             "userType",
		"preferredLanguage":                    "preferredLanguage",
		"name.givenName":                       "firstName",
		"name.familyName":                      "lastName",
		"name.formatted":                       `String.join(" ", user.firstName, user.lastName)`,
		`emails[type eq "work"].value`:         "email",
		`phoneNumbers[type eq "work"].value`:   "primaryPhone",
		`phoneNumbers[type eq "mobile"].value`: "mobilePhone",
		Enterprise + ":employeeNumber":         "employeeNumber",
		Enterprise + ":department":             "department",
		Enterprise + ":organization":           "organization",
		Enterprise + ":manager":                "(leave unmapped: Okta sends its own managerId, not the gateway's id; the reference would answer 400)",
		"password":                             "(Sync Password sends it)",
		"Group displayName":                    "(Push Groups: the Okta group's name)",
		"Group members":                        "(Push Groups: the group's members)",
	},
}
