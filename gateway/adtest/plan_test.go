package adtest

// Plan mode on Active Directory: TestIdPScenariosAD plans every write of the
// IdP scenarios before it is made (internal/scimtest.PlanShadow).

import (
	"net/http"
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
// (uSNChanged, whenChanged, replPropertyMetaData).
func dumpOU(t testing.TB, c *ldap.Conn) string {
	return scimtest.DumpTree(t, c, ou, "*", "uSNChanged", "whenChanged", "replPropertyMetaData", "memberOf")
}

// adShadow is a scenario's plan shadow and the audit log it reads.
type adShadow struct {
	*scimtest.PlanShadow
	audit *scimtest.AuditLog
}

// planShadowEnv is newEnv with a plan-mode credential whose requests shadow
// every write of e.Client (see TestIdPScenariosAD).
func planShadowEnv(t *testing.T) (*env, adShadow) {
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
	return e, adShadow{sh, audit}
}

// Done checks what the whole scenario's plans left: enough writes shadowed,
// and no password of the scenarios in the audit log (unicodePwd included).
func (s adShadow) Done() {
	t := s.T
	if s.Writes < 5 || s.Creates == 0 {
		t.Fatalf("the scenario sent %d writes, %d creates: the plan shadow saw too little", s.Writes, s.Creates)
	}
	for _, pw := range []string{"Entra-Passw0rd-1", "1mz050nq-Okta", "N3w-Okta-Passw0rd"} {
		if strings.Contains(s.audit.String(), pw) {
			t.Errorf("the password %q reached the audit log", pw)
		}
	}
	t.Logf("%d writes planned and compared, %d of them creates", s.Writes, s.Creates)
}
