package draft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// SCIMType: the RFC 7643 §2.3 type for each LDAP syntax (RFC 4517 §3.3, RFC
// 4523 §2, AD's LargeInteger and NT-Sec-Desc).
func TestSCIMType(t *testing.T) {
	for oid, want := range map[string]string{
		"1.3.6.1.4.1.1466.115.121.1.27":      "integer", // INTEGER
		"1.2.840.113556.1.4.906":             "integer", // AD LargeInteger
		"1.3.6.1.4.1.1466.115.121.1.7":       "boolean", // Boolean
		"1.3.6.1.4.1.1466.115.121.1.24":      "dateTime",
		"1.3.6.1.4.1.1466.115.121.1.12":      "reference", // DN
		"1.3.6.1.4.1.1466.115.121.1.40":      "binary",    // Octet String
		"1.3.6.1.4.1.1466.115.121.1.40{128}": "binary",
		"1.3.6.1.4.1.1466.115.121.1.28":      "binary", // JPEG
		"1.3.6.1.4.1.1466.115.121.1.8":       "binary", // Certificate
		"1.3.6.1.4.1.1466.115.121.1.5":       "binary", // Binary
		"1.2.840.113556.1.4.907":             "binary", // NT-Sec-Desc
		"1.3.6.1.4.1.1466.115.121.1.15":      "string", // Directory String
		"1.3.6.1.4.1.1466.115.121.1.15{64}":  "string",
		"1.3.6.1.4.1.1466.115.121.1.26":      "string", // IA5 String
		"1.3.6.1.4.1.1466.115.121.1.50":      "string", // Telephone Number
		"1.3.6.1.4.1.1466.115.121.1.53":      "string", // UTCTime: not GeneralizedTime's form
		"1.3.6.1.4.1.1466.115.121.1.36":      "string", // Numeric String
		"":                                   "string",
	} {
		if got := SCIMType(oid); got != want {
			t.Errorf("SCIMType(%q) = %s, want %s", oid, got, want)
		}
	}
}

// The RFC 7643 path of each well-known attribute (userTable), as the example
// mappings map them; LDAP names compare case-insensitively.
func TestWellKnownPath(t *testing.T) {
	wellKnownPath := func(f Flavor, ldapAttr string) string {
		for _, w := range userTable(f) {
			if strings.EqualFold(w.ldap, ldapAttr) {
				return w.path
			}
		}
		return ""
	}
	for _, c := range []struct {
		f          Flavor
		ldap, path string
	}{
		{OpenLDAP, "uid", "userName"},
		{OpenLDAP, "UID", "userName"},
		{DS389, "uid", "userName"},
		{ActiveDirectory, "sAMAccountName", "userName"},
		{ActiveDirectory, "uid", ""},
		{OpenLDAP, "sAMAccountName", ""},
		{OpenLDAP, "givenName", "name.givenName"},
		{OpenLDAP, "sn", "name.familyName"},
		{ActiveDirectory, "sn", "name.familyName"},
		{OpenLDAP, "cn", "name.formatted"},
		{OpenLDAP, "displayName", "displayName"},
		{OpenLDAP, "mail", `emails[type eq "work"].value`},
		{OpenLDAP, "telephoneNumber", `phoneNumbers[type eq "work"].value`},
		{OpenLDAP, "mobile", `phoneNumbers[type eq "mobile"].value`},
		{OpenLDAP, "title", "title"},
		{OpenLDAP, "uniqueIdentifier", "externalId"},
		{OpenLDAP, "employeeNumber", Enterprise + ":employeeNumber"},
		{ActiveDirectory, "employeeID", Enterprise + ":employeeNumber"},
		{OpenLDAP, "departmentNumber", Enterprise + ":department"},
		{ActiveDirectory, "department", Enterprise + ":department"},
		{OpenLDAP, "manager", Enterprise + ":manager"},
		{ActiveDirectory, "manager", Enterprise + ":manager"},
		{OpenLDAP, "carLicense", ""},
	} {
		if got := wellKnownPath(c.f, c.ldap); got != c.path {
			t.Errorf("the path of %s on %s = %q, want %q", c.ldap, c.f, got, c.path)
		}
	}
}

// Detect: AD by LDAP_CAP_ACTIVE_DIRECTORY_OID, 389 DS by vendorName (RFC
// 3045), slapd by OpenLDAProotDSE; anything else drafts as OpenLDAP.
func TestDetect(t *testing.T) {
	for _, c := range []struct {
		dse  ldapstore.RootDSE
		want Flavor
	}{
		{ldapstore.RootDSE{SupportedCapabilities: []string{"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670"}, IsGlobalCatalogReady: "TRUE"}, ActiveDirectory},
		{ldapstore.RootDSE{VendorName: "389 Project", VendorVersion: "389-Directory/2.4.5"}, DS389},
		{ldapstore.RootDSE{VendorName: "Red Hat, Inc."}, DS389},
		{ldapstore.RootDSE{ObjectClasses: []string{"top", "OpenLDAProotDSE"}}, OpenLDAP},
		{ldapstore.RootDSE{VendorName: "ForgeRock AS."}, OpenLDAP},
		{ldapstore.RootDSE{}, OpenLDAP},
	} {
		if got, why := Detect(&c.dse); got != c.want || why == "" {
			t.Errorf("Detect(%+v) = %s (%s), want %s", c.dse, got, why, c.want)
		}
	}
}

func TestParentDNAndDomain(t *testing.T) {
	for dn, want := range map[string]string{
		"uid=alice,ou=people,dc=example,dc=org":  "ou=people,dc=example,dc=org",
		`cn=Smith\, Alice,ou=people,dc=x`:        "ou=people,dc=x",
		`cn=a\\,ou=b`:                            "ou=b",
		"CN=Alice, CN=Users, DC=example,DC=test": "CN=Users, DC=example,DC=test",
		"dc=org":                                 "",
	} {
		if got := ParentDN(dn); got != want {
			t.Errorf("ParentDN(%q) = %q, want %q", dn, got, want)
		}
	}
	if !isBelow("uid=a,ou=x,ou=People,dc=e", "ou=people,dc=e") || isBelow("ou=people,dc=e", "ou=people,dc=e") {
		t.Error("isBelow")
	}
	for dn, want := range map[string]string{"DC=example,DC=test": "example.test", "dc=corp, dc=Example, dc=com": "corp.example.com", "o=acme": ""} {
		if got := dnsDomain(dn); got != want {
			t.Errorf("dnsDomain(%q) = %q, want %q", dn, got, want)
		}
	}
}

// A DN, a filter or a description written by yamlScalar reads back as itself,
// scalars YAML would resolve to other types included.
func TestYAMLScalarRoundTrips(t *testing.T) {
	for _, s := range []string{"00", "0x1F", "1e3", "true", "null", "~", "1.5", "-1", ".inf", "012", "on"} {
		var got map[string]string
		if err := yaml.Unmarshal([]byte("k: "+yamlScalar(s)+"\n"), &got); err != nil || got["k"] != s {
			t.Errorf("%q written as %s reads back as %q (%v)", s, yamlScalar(s), got["k"], err)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`[ -~]{0,40}`).Draw(t, "s")
		var got map[string]string
		if err := yaml.Unmarshal([]byte("k: "+yamlScalar(s)+"\n"), &got); err != nil {
			t.Fatalf("%q as %s: %v", s, yamlScalar(s), err)
		}
		if got["k"] != s {
			t.Fatalf("%q written as %s reads back as %q", s, yamlScalar(s), got["k"])
		}
	})
}

// RFC 4519 / RFC 2798 object classes and the attributes they name, as slapd
// publishes them (trimmed), for drafts without a directory.
var (
	testAttrs = []string{
		"( 2.5.4.0 NAME 'objectClass' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )",
		"( 2.5.4.41 NAME 'name' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
		"( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
		"( 2.5.4.42 NAME ( 'givenName' 'gn' ) SUP name )",
		"( 2.5.4.12 NAME 'title' SUP name )",
		"( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )",
		"( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
		"( 2.16.840.1.113730.3.1.241 NAME 'displayName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 2.16.840.1.113730.3.1.3 NAME 'employeeNumber' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 2.16.840.1.113730.3.1.1 NAME 'carLicense' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		"( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )",
		"( 2.5.4.35 NAME 'userPassword' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40{128} )",
		"( 2.5.4.34 NAME 'seeAlso' SUP distinguishedName )",
		"( 2.5.4.49 NAME 'distinguishedName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
		"( 2.5.4.31 NAME 'member' SUP distinguishedName )",
		"( 2.5.4.50 NAME 'uniqueMember' SYNTAX 1.3.6.1.4.1.1466.115.121.1.34 )",
		"( 2.5.4.45 NAME 'x500UniqueIdentifier' SYNTAX 1.3.6.1.4.1.1466.115.121.1.6 )",
		"( 0.9.2342.19200300.100.1.44 NAME 'uniqueIdentifier' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )",
		"( 9.9.1 NAME 'shoeSize' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
		"( 9.9.2 NAME 'retired' SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )",
		"( 9.9.3 NAME 'hired' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )",
		"( 2.16.840.1.113730.3.1.1.1 NAME 'nsAccountLock' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 2.5.18.1 NAME 'createTimestamp' SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
	}
	testClasses = []string{
		"( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
		"( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ seeAlso ) )",
		"( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY ( title ) )",
		"( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL MAY ( carLicense $ displayName $ employeeNumber $ givenName $ jpegPhoto $ mail $ uid $ x500UniqueIdentifier $ shoeSize $ retired $ hired ) )",
		"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( seeAlso ) )",
		"( 2.5.6.17 NAME 'groupOfUniqueNames' SUP top STRUCTURAL MUST ( uniqueMember $ cn ) MAY ( seeAlso ) )",
		"( 1.3.6.1.4.1.1466.101.120.111 NAME 'extensibleObject' SUP top AUXILIARY )",
	}
)

func testFacts() *Facts {
	return &Facts{URL: "ldap://ldap.example.org", DSE: &ldapstore.RootDSE{}, Schema: ldapstore.ParseSchema(testAttrs, testClasses),
		Flavor: OpenLDAP, Why: "test", FlavorOK: true, Base: "dc=example,dc=org", GroupClass: "groupOfNames",
		Users:  Container{DN: "ou=people,dc=example,dc=org", Scope: "one", How: "test"},
		Groups: Container{DN: "ou=groups,dc=example,dc=org", Scope: "one", How: "test"}}
}

// Draft from a schema alone (Draft itself loads and checks what it writes):
// what each directory's facts change. Each draft also passes the published
// JSON Schema (mapping.schema.json) its first line names for editors.
func TestDraftChoices(t *testing.T) {
	sch, err := jsonschema.NewCompiler().Compile("../../mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		change    func(*Facts)
		opts      Options
		want, not []string
	}{
		{name: "empty directory: the example's layout", change: func(*Facts) {},
			want: []string{"objectClasses: [inetOrgPerson, extensibleObject]", "externalId:                    {ldap: uniqueIdentifier}",
				"userName:                      {ldap: uid, uniqueness: server}", "sn: \"{userName}\"", `- "{name.givenName} {name.familyName}"`,
				`members:                       {ldap: member, reference: [User, Group], placeholder: ""}`,
				// no ppolicy in this schema: active is left to the admin
				"# active:                        {accountState: ppolicy}",
				// the extension, typed from the syntaxes, lines commented out
				"shoeSize:", "{type: integer}", "{type: boolean}", "{type: dateTime}", "jpegPhoto:", "{type: binary, multiValued: true}",
				"seeAlso:", "{type: reference, multiValued: true}", "x500UniqueIdentifier:",
				"# 'urn:scim2ldap:schemas:extension:ldap:2.0:User:shoeSize': {ldap: shoeSize}",
				"# password:                      {ldap: userPassword}"},
			not: []string{"User:userPassword", "createTimestamp", "{accountState: nsAccountLock}", "groups:"}},
		{name: "existing users without extensibleObject: externalId left unmapped",
			change: func(f *Facts) { f.Users.Count, f.CountedUsers, f.ExtensibleUsers = 40, 41, 1 },
			want:   []string{"objectClasses: [inetOrgPerson]", "# externalId:                    {ldap: uniqueIdentifier}", "externalId is left unmapped", "which 40 of the 41 existing users lack"}},
		{name: "groupOfUniqueNames", change: func(f *Facts) { f.GroupClass = "groupOfUniqueNames" },
			want: []string{"filter: (objectClass=groupOfUniqueNames)", `{ldap: uniqueMember, reference: [User, Group], placeholder: ""}`}},
		{name: "389 DS before its flavor exists", change: func(f *Facts) { f.Flavor, f.FlavorOK = DS389, false },
			want: []string{"set flavor: 389ds once", "flavor: openldap", "active:                        {accountState: nsAccountLock}"}},
		{name: "389 DS: the MemberOf plugin, not slapd's overlay", change: func(f *Facts) {
			f.Flavor, f.GroupClass = DS389, "groupOfUniqueNames"
			f.Schema = ldapstore.ParseSchema(append(slices.Clone(testAttrs),
				"( 1.2.840.113556.1.2.102 NAME 'memberOf' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )"), testClasses)
		}, want: []string{"flavor: 389ds", "from the MemberOf plugin", "--groupattr member uniqueMember", "# groups:"},
			not: []string{"olcMemberOf", "slapo-memberof"}},
		{name: "posix users and other containers", change: func(f *Facts) {
			f.PosixUsers = 3
			f.Users.Others = []Counted{{DN: "ou=contractors,dc=example,dc=org", Count: 2}}
		}, want: []string{"3 of the users are also posixAccount", "Also 2 in ou=contractors,dc=example,dc=org"}},
		{name: "--map-all", change: func(*Facts) {}, opts: Options{MapAll: true},
			want: []string{"\n      'urn:scim2ldap:schemas:extension:ldap:2.0:User:shoeSize': {ldap: shoeSize}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := testFacts()
			c.change(f)
			res, err := Draft(f, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			y := string(res.YAML)
			var doc any
			if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(doc)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
			if err == nil {
				err = sch.Validate(inst)
			}
			if err != nil {
				t.Errorf("mapping.schema.json refuses the draft: %v\n%s", err, y)
			}
			for _, w := range c.want {
				if !strings.Contains(y, w) {
					t.Errorf("the draft lacks %q:\n%s", w, y)
				}
			}
			for _, w := range c.not {
				if strings.Contains(y, w) {
					t.Errorf("the draft has %q:\n%s", w, y)
				}
			}
		})
	}
}

// The IdP tables name the IdP's source for each mapped attribute, and refuse
// an IdP they don't know.
func TestIdPTable(t *testing.T) {
	res, err := Draft(testFacts(), Options{IdP: "okta"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"login (Unique identifier field for users: userName)", "→ userName [uid]", "firstName", "→ name.givenName [givenName]"} {
		if !strings.Contains(res.IdPTable, w) {
			t.Errorf("the Okta table lacks %q:\n%s", w, res.IdPTable)
		}
	}
	if _, err := Draft(testFacts(), Options{IdP: "onelogin"}); err == nil {
		t.Error("an unknown IdP was accepted")
	}
}

// Choose: the deepest container holding ≥ 80 % of the entries, scope sub
// when some sit below it, the rest named as Others; never the whole naming
// context when no container below it holds 80 %.
func TestChoose(t *testing.T) {
	const base = "dc=example,dc=org"
	for _, c := range []struct {
		name   string
		counts map[string]int
		dn     string
		scope  string
		count  int
		others int
	}{
		{"one container", map[string]int{"ou=people,dc=example,dc=org": 40}, "ou=people,dc=example,dc=org", "one", 40, 0},
		{"a stray service account elsewhere", map[string]int{"ou=people,dc=example,dc=org": 40, "ou=services,dc=example,dc=org": 1},
			"ou=people,dc=example,dc=org", "one", 40, 1},
		{"an OU per department", map[string]int{"ou=eng,ou=staff,dc=example,dc=org": 3, "ou=sales,ou=staff,dc=example,dc=org": 2},
			"ou=staff,dc=example,dc=org", "sub", 5, 0},
		// No container below the naming context holds 80 %: the one holding most, the others named
		// (the whole naming context would take in every service and administrator account).
		{"spread over two containers", map[string]int{"ou=a,dc=example,dc=org": 5, "ou=b,dc=example,dc=org": 5},
			"ou=a,dc=example,dc=org", "one", 5, 1},
		{"a quarter are service accounts", map[string]int{"ou=people,dc=example,dc=org": 3, "ou=services,dc=example,dc=org": 1},
			"ou=people,dc=example,dc=org", "one", 3, 1},
		{"departments and service accounts", map[string]int{"ou=eng,ou=staff,dc=example,dc=org": 30, "ou=sales,ou=staff,dc=example,dc=org": 30,
			"ou=services,dc=example,dc=org": 20}, "ou=staff,dc=example,dc=org", "sub", 60, 1},
		{"most directly in the naming context", map[string]int{"dc=example,dc=org": 6, "ou=people,dc=example,dc=org": 3},
			"dc=example,dc=org", "one", 6, 1},
		{"directly in the naming context", map[string]int{"dc=example,dc=org": 4}, "dc=example,dc=org", "one", 4, 0},
		{"AD: Users over a few OUs", map[string]int{"CN=Users,DC=example,DC=test": 90, "OU=Sales,DC=example,DC=test": 10},
			"CN=Users,DC=example,DC=test", "one", 90, 1},
	} {
		b := base
		if strings.Contains(c.dn, "DC=test") {
			b = "DC=example,DC=test"
		}
		got := Choose(b, c.counts, "users")
		if got.DN != c.dn || got.Scope != c.scope || got.Count != c.count || len(got.Others) != c.others || got.How == "" {
			t.Errorf("%s: %+v, want %s scope %s count %d, %d others", c.name, got, c.dn, c.scope, c.count, c.others)
		}
	}
}

// Attributes that decide who may log on or what an account may do (Active
// Directory's security descriptor, delegation, SPNs, password hashes, the
// isCriticalSystemObject the drafted filter relies on; PKCS #12 private keys)
// are never offered, not even with --map-all: every mapped attribute is
// readable by every SCIM client and writable by every read-write one. A
// comment names what was left out.
func TestDraftNeverOffersSecurityRelevantAttributes(t *testing.T) {
	risky := []string{"nTSecurityDescriptor", "servicePrincipalName", "msDS-AllowedToDelegateTo", "msDS-KeyCredentialLink",
		"ntPwdHistory", "dBCSPwd", "isCriticalSystemObject", "objectCategory", "adminCount", "primaryGroupID", "scriptPath",
		"sIDHistory", "altSecurityIdentities", "userPKCS12"}
	attrs := slices.Clone(testAttrs)
	for i, a := range risky {
		attrs = append(attrs, fmt.Sprintf("( 9.8.%d NAME '%s' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )", i, a))
	}
	classes := slices.Clone(testClasses)
	classes[3] = strings.Replace(classes[3], "$ hired )", "$ hired $ "+strings.Join(risky, " $ ")+" )", 1)
	f := testFacts()
	f.Schema = ldapstore.ParseSchema(attrs, classes)
	for _, all := range []bool{false, true} {
		res, err := Draft(f, Options{MapAll: all})
		if err != nil {
			t.Fatal(err)
		}
		y := string(res.YAML)
		for _, a := range risky {
			if strings.Contains(y, "ldap: "+a+"}") || strings.Contains(y, "\n      "+a+":") {
				t.Errorf("--map-all %v: %s is offered:\n%s", all, a, y)
			}
		}
		if !strings.Contains(y, "nTSecurityDescriptor") || !strings.Contains(y, "userPKCS12") || !strings.Contains(y, "shoeSize") {
			t.Errorf("--map-all %v: the draft does not name what it left out, or left out too much:\n%s", all, y)
		}
	}
}

// A directory whose every user also has an object class of its own (a
// structural subclass of inetOrgPerson, an auxiliary class) gets that class
// in the draft's objectClasses (new users are made like the existing ones)
// and its attributes offered, hyphenated names included. A class only some
// users have is named in a comment and left out (the gateway never adds an
// object class to an entry), as is one with a MUST the draft cannot fill.
func TestDraftTakesTheUsersOwnObjectClasses(t *testing.T) {
	attrs := append(slices.Clone(testAttrs),
		"( 9.7.1 NAME 'acme-Badge-ID' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 9.7.2 NAME 'acmeClearance' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )",
		"( 9.7.3 NAME 'acmeFloor' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )",
		"( 9.7.4 NAME 'acmeRequired' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )")
	classes := append(slices.Clone(testClasses),
		"( 9.7.10 NAME 'acmePerson' SUP inetOrgPerson STRUCTURAL MAY ( acme-Badge-ID ) )",
		"( 9.7.11 NAME 'acmeAux' SUP top AUXILIARY MAY ( acmeClearance ) )",
		"( 9.7.12 NAME 'acmeSome' SUP top AUXILIARY MAY ( acmeFloor ) )",
		"( 9.7.13 NAME 'acmeStrict' SUP top AUXILIARY MUST ( acmeRequired ) )")
	f := testFacts()
	f.Schema = ldapstore.ParseSchema(attrs, classes)
	f.CountedUsers, f.ExtensibleUsers = 10, 10
	f.UserClasses = map[string]int{"top": 10, "person": 10, "organizationalPerson": 10, "inetOrgPerson": 10, "extensibleObject": 10,
		"acmePerson": 10, "acmeAux": 10, "acmeSome": 4, "acmeStrict": 10}
	res, err := Draft(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	y := string(res.YAML)
	for _, want := range []string{
		"objectClasses: [inetOrgPerson, extensibleObject, acmeAux, acmePerson]",
		"acme-Badge-ID:", "# 'urn:scim2ldap:schemas:extension:ldap:2.0:User:acme-Badge-ID': {ldap: acme-Badge-ID}",
		"acmeClearance:", "{type: integer, multiValued: true}",
		"acmeSome (on 4 of the 10 users)", "acmeStrict",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("the draft lacks %q:\n%s", want, y)
		}
	}
	for _, not := range []string{"acmeFloor:", "acmeRequired:"} {
		if strings.Contains(y, not) {
			t.Errorf("the draft offers %q:\n%s", not, y)
		}
	}
}
