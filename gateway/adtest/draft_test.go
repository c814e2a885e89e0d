package adtest

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/mapping/draft"
	"github.com/scim2ldap/scim2ldap/preflight"
)

// `scim2ldap mapping init` on the Samba AD DC: the flavor is found from the
// root DSE, users and groups go to the domain's Users container with AD's
// classes and attributes (sAMAccountName, a computed userPrincipalName,
// userAccountControl, unicodePwd, memberOf); the draft loads, passes what
// `mapping check --ldap-url` checks (the schema, the bases), and a gateway
// serving it over LDAPS runs the user and group sequence.
func TestMappingInitDraftServes(t *testing.T) {
	store, err := ldapstore.Open(ldapstore.Config{URL: dc.LDAPSURL, BindDN: dc.BindDN, BindPassword: dc.Password, CAFile: dc.CAFile, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	facts, err := draft.Read(ctx, store, dc.LDAPSURL)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Flavor != draft.ActiveDirectory || !strings.Contains(facts.Why, "1.2.840.113556.1.4.800") {
		t.Errorf("flavor %s (%s), want activedirectory from supportedCapabilities", facts.Flavor, facts.Why)
	}
	res, err := draft.Draft(facts, draft.Options{IdP: "entra", File: "ad-draft.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	y := string(res.YAML)
	for _, want := range []string{"flavor: activedirectory", "userName:                      {ldap: sAMAccountName, uniqueness: server}",
		"objectClasses: [top, person, organizationalPerson, user]", `Append(userName, "@example.test")`,
		"active:                        {accountState: adUserAccountControl}", `password:                      {ldap: unicodePwd, pwdLastSet: "-1"}`,
		`'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': {ldap: employeeID}`,
		"objectClasses: [top, group]", "sAMAccountName: displayName"} {
		if !strings.Contains(y, want) {
			t.Errorf("the AD draft lacks %q:\n%s", want, y)
		}
	}
	if !strings.Contains(res.IdPTable, "userPrincipalName (matching attribute)") || !strings.Contains(res.IdPTable, "→ userName [sAMAccountName]") {
		t.Errorf("the Entra table:\n%s", res.IdPTable)
	}
	// --map-all: every allowed attribute of user and group mapped (hundreds on AD) still loads and checks.
	if _, err := draft.Draft(facts, draft.Options{MapAll: true}); err != nil {
		t.Errorf("--map-all: %v", err)
	}
	// What `mapping check --ldap-url` checks: the file, the schema, the bases.
	m, problems := mapping.ParseAll(filepath.Join(t.TempDir(), "ad-draft.yaml"), res.YAML)
	if len(problems) > 0 {
		t.Fatalf("the draft does not load: %v", problems)
	}
	schema, err := store.ReadSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ps := m.CheckSchema(schema); len(ps) > 0 {
		t.Fatalf("the draft against the DC's schema: %v", ps)
	}
	if missing, err := preflight.MissingBases(ctx, store, m); err != nil || len(missing) > 0 {
		t.Fatalf("the draft's bases: %v %v", missing, err)
	}

	logs := &bytes.Buffer{}
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.New(zerolog.SyncWriter(logs)), Tokens: []string{token}})
	if err := gw.CheckMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	scimtest.UserGroupSequence(t, &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}, "init-ad", true)
	if t.Failed() {
		t.Log(logs.String())
	}
}
