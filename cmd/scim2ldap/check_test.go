package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
)

var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

// Ten distinct admin mistakes, each reported at its line:col, in one run, with
// the live directory's schema.
func TestMappingCheckTenMistakes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`directory:
  flavor: openldap
resourceTypes:
  User:
    extensions: [urn:ietf:params:scim:schemas:extension:enterprise:2.0:User]
    ldap:
      base: ou=people,dc=example,dc=org
      scope: subtree
      objectClasses: [inetOrgPerson, posixAcount]
      rdn: uid
      computed:
        homeDirectory: '"/home/" + ToLowr(userName)'
    attributes:
      userName:       {ldap: uid, uniqness: server}
      name.givenName: {ldap: givenName}
      NAME.givenName: {ldap: gn2}
      displayName:    {ldap: displayName, caseExact: sometimes}
      userNme:        {ldap: cn}
      title:          {ldap: titel}
      'phoneNumbers[type eq "work"].value': {ldap: [telephoneNumber]}
      active:         {accountState: ppolicyy}
`), 0o644)
	t.Setenv("SCIM2LDAP_LDAP_BIND_DN", slapd.BindDN)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", slapd.Password)
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, bad}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut.String())
	}
	want := []string{
		`:8:14: User.ldap.scope is "subtree"; want one of: one, sub`,                                                              // 1 bad value
		`:9:22: User: the directory's schema has no object class "posixAcount"`,                                                   // 2 unknown object class
		`:9:22: User: object class inetOrgPerson requires sn, which nothing fills`,                                                // 3 MUST attribute unfilled
		`:12:24: User.ldap.computed.homeDirectory: expression does not compile: unknown name ToLowr (1:12)`,                       // 4 expression typo
		`:14:35: unknown key "uniqness" in User attribute userName (did you mean "uniqueness"?)`,                                  // 5 typo'd key
		`:16:7: NAME.givenName maps the same SCIM attribute as name.givenName (line 15); keep one`,                                // 6 duplicate SCIM path
		`:17:54: displayName.caseExact must be true or false`,                                                                     // 7 wrong type
		`:18:7: unknown SCIM attribute "userNme" in schema urn:ietf:params:scim:schemas:core:2.0:User (did you mean "userName"?)`, // 8
		`:19:7: User: the directory's schema has no attribute "titel" (title)`,                                                    // 9 unknown LDAP attribute
		`:20:52: phoneNumbers[type eq "work"].value.ldap must be a string, not a list`,                                            // 10 wrong type
		`:21:38: accountState is "ppolicyy"; want one of: ppolicy, nsAccountLock`,                                                 // 11 bad value
	}
	got := errOut.String()
	for _, w := range want {
		if !strings.Contains(got, bad+w) {
			t.Errorf("missing %q in:\n%s", bad+w, got)
		}
	}
	// A correct mapping passes the same check.
	out.Reset()
	errOut.Reset()
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, "../../mappings.example.yaml", "../../docs/examples/openldap-posix.yaml"}, &out, &errOut); code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// An ordering: option must name an ordering rule the directory has and that
// applies to the attribute (slapd publishes matchingRules and matchingRuleUse):
// otherwise sorts come back unsorted and gt/lt filters match wrongly.
func TestMappingCheckOrderingRule(t *testing.T) {
	src, err := os.ReadFile("../../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "title:                         {ldap: title}", "title:                         {ldap: title, ordering: caseIgnoreOrdringMatch}", 1)
	text = strings.Replace(text, "displayName:                   {ldap: displayName}", "displayName:                   {ldap: displayName, ordering: 2.5.13.3}", 1)
	text = strings.Replace(text, "preferredLanguage:             {ldap: preferredLanguage}", "preferredLanguage:             {ldap: preferredLanguage, ordering: integerOrderingMatch}", 1)
	text = strings.Replace(text, "{ldap: employeeNumber}", "{ldap: employeeNumber, ordering: caseIgnoreMatch}", 1)
	if text == string(src) {
		t.Fatal("the example mapping changed; update this test")
	}
	path := filepath.Join(t.TempDir(), "ordering.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	t.Setenv("SCIM2LDAP_LDAP_BIND_DN", slapd.BindDN)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", slapd.Password)
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, path}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut.String())
	}
	got := errOut.String()
	for _, want := range []string{
		`title.ordering: the directory has no matching rule "caseIgnoreOrdringMatch"`,
		`preferredLanguage.ordering: the directory's "integerOrderingMatch" does not apply to preferredLanguage`, // matchingRuleUse
		`employeeNumber.ordering: "caseIgnoreMatch" is not an ordering rule`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "displayName.ordering") { // 2.5.13.3 is caseIgnoreOrderingMatch's OID, and applies
		t.Errorf("a right ordering rule was refused:\n%s", got)
	}
}
