package adtest

// Plan mode on Active Directory: the IdP scenarios with every write first
// planned (internal/scimtest.PlanShadow), as the slapd suite runs them.

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

const planToken = "ad-plan-token-0123456789"

// dumpOU is every entry under the OU the AD mapping writes, with every
// attribute "*" returns and the version and timestamp every write changes
// (uSNChanged, whenChanged, replPropertyMetaData), as sorted text.
func dumpOU(t testing.TB, c *ldap.Conn) string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "uSNChanged", "whenChanged", "replPropertyMetaData", "memberOf"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range res.Entries {
		for _, a := range e.Attributes {
			for _, v := range a.ByteValues {
				lines = append(lines, e.DN+"\t"+a.Name+"\t"+string(v))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestPlanModeShadowsIdPScenariosAD: every write of every IdP scenario,
// planned first, leaves the DC's entries as they were and answers what the
// real write answers (but for what the DC assigns); passwords (unicodePwd)
// never reach the audit log.
func TestPlanModeShadowsIdPScenariosAD(t *testing.T) {
	for _, sc := range scimtest.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			audit := &scimtest.AuditLog{}
			creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
				{Name: "planner", Token: planToken, Scope: gateway.Scope{Scope: "read-write", Plan: true}}}}
			e := newEnvFrom(t, "", gateway.Config{Credentials: creds, Audit: zerolog.SyncWriter(audit)})
			sh := &scimtest.PlanShadow{T: t, PlanAuth: "Bearer " + planToken, Events: audit.Events,
				Dump: func(t testing.TB) string { return dumpOU(t, e.ldap) },
				// The domain's password policy (MS-ADTS §3.1.1.3.1.5.1): the Okta
				// scenario's too-short password.
				Unknowable: []string{"0000052D"}}
			e.Client.HTTP = &http.Client{Transport: sh}
			sc.Run(t, e.Client, activeDirectory{e})
			if sh.Writes < 5 || sh.Creates == 0 {
				t.Fatalf("the scenario sent %d writes, %d creates: the shadow saw too little", sh.Writes, sh.Creates)
			}
			for _, pw := range []string{"Entra-Passw0rd-1", "1mz050nq-Okta", "N3w-Okta-Passw0rd"} {
				if strings.Contains(audit.String(), pw) {
					t.Errorf("the password %q reached the audit log", pw)
				}
			}
			t.Logf("%d writes planned and compared, %d of them creates", sh.Writes, sh.Creates)
		})
	}
}
