package gateway_test

// Plan mode: writes computed, answered and audited as LDIF, and never sent.
// TestIdPScenarios (idp_test.go) plans every write of the IdP scenarios before
// it is made; these tests hold the rest: scopes, gateway-wide plan mode, the
// id of a planned create, passwords.

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

const planToken = "plan-token-0123456789"

// dumpTree is every entry under dc=example,dc=org with every user and
// operational attribute (entryCSN, modifyTimestamp, contextCSN… included):
// two dumps are equal only when nothing was written.
func dumpTree(t testing.TB, c *ldap.Conn) string {
	return scimtest.DumpTree(t, c, "dc=example,dc=org", "*", "+")
}

// planEnv is a gateway on slapd whose credential planToken has plan: true,
// with its audit log in audit.
func planEnv(t *testing.T, scope string) (*env, *scimtest.AuditLog) {
	audit := &scimtest.AuditLog{}
	creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
		{Name: "planner", Token: planToken, Scope: gateway.Scope{Scope: scope, Plan: true}}}}
	return newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Credentials: creds,
		Audit: zerolog.SyncWriter(audit)}), audit
}

// TestPlanModeRefusesReadOnly: plan mode is no way around a scope. A
// credentials file can't give plan: true to a read-only credential
// (TestPlanOnAReadOnlyCredentialIsRefused); the gateway refuses its writes
// all the same when it is configured so (gateway.Config).
func TestPlanModeRefusesReadOnly(t *testing.T) {
	e, audit := planEnv(t, "read-only")
	before := scimtest.StableDump(t, func(t testing.TB) string { return dumpTree(t, e.ldap) })
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	wantError(t, planner.Do("POST", "/Users", user("plan-ro", nil)), 403, "")
	if after := dumpTree(t, e.ldap); after != before {
		t.Errorf("a refused plan changed the directory:\n%s", scimtest.DiffLines(before, after))
	}
	if evs := audit.Events(t); len(evs) != 0 {
		t.Errorf("a refused write was audited: %v", evs)
	}
}

// TestPlanModeGatewayWide: with Config.Plan (SCIM2LDAP_MODE=plan) every
// credential's writes are planned, a read-only one is still refused, and a
// planned create's id is not found afterwards (404 saying why), by GET or
// PATCH; passwords never reach the LDIF, and the account lock is written
// after the password as the real write would.
func TestPlanModeGatewayWide(t *testing.T) {
	audit := &scimtest.AuditLog{}
	creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
		{Name: "reader", Token: planToken, Scope: gateway.Scope{Scope: "read-only"}}}}
	e := newEnvFrom(t, gateway.Config{Mapping: editedExampleMapping(t, withPassword), Store: openStore(t), Credentials: creds,
		Audit: zerolog.SyncWriter(audit), Plan: true})
	// A real user to update, written straight into the directory.
	add := ldap.NewAddRequest("uid=plan-real,ou=people,dc=example,dc=org", nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"plan-real"})
	add.Attribute("cn", []string{"Plan Real"})
	add.Attribute("sn", []string{"Real"})
	if err := e.ldap.Add(add); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.ldap.Del(ldap.NewDelRequest(add.DN, nil)) })
	realID := e.entry("(uid=plan-real)").GetAttributeValue("entryUUID")

	before := scimtest.StableDump(t, func(t testing.TB) string { return dumpTree(t, e.ldap) })
	const secret = "Plan-Secret-Passw0rd"
	cr := e.Do("POST", "/Users", user("plan-new", map[string]any{"password": secret, "active": false, "title": "Planner"}))
	if cr.Status != 201 || cr.Header.Get(gateway.PlannedHeader) != "true" || cr.Body["title"] != "Planner" || cr.Body["active"] != false {
		t.Fatalf("planned create: %d %v %s", cr.Status, cr.Header, cr.Raw)
	}
	id := cr.Body["id"].(string)
	wantError(t, e.Do("GET", "/Users/"+id, nil), 404, "", "plan-mode")
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "x"))), 404, "", "plan-mode")
	put := e.Do("PUT", "/Users/"+realID, user("plan-renamed", map[string]any{"password": secret, "title": "Renamed"}))
	if put.Status != 200 || put.Body["userName"] != "plan-renamed" || put.Body["title"] != "Renamed" || put.Body["id"] != realID {
		t.Fatalf("planned PUT: %d %s", put.Status, put.Raw)
	}
	if del := e.Do("DELETE", "/Users/"+realID, nil); del.Status != 204 || del.Header.Get(gateway.PlannedHeader) != "true" {
		t.Fatalf("planned DELETE: %d %s", del.Status, del.Raw)
	}
	reader := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	wantError(t, reader.Do("DELETE", "/Users/"+realID, nil), 403, "")
	if g := e.Do("GET", "/Users/"+realID, nil); g.Status != 200 || g.Body["userName"] != "plan-real" || g.Header.Get(gateway.PlannedHeader) != "" {
		t.Errorf("after the plans: %d %s", g.Status, g.Raw)
	}
	if after := dumpTree(t, e.ldap); after != before {
		t.Errorf("plan mode changed the directory:\n%s", scimtest.DiffLines(before, after))
	}

	if !strings.Contains(e.logBuf.String(), `"planned":true`) {
		t.Error("the request log does not mark planned writes")
	}
	evs := audit.Events(t)
	var ldifs []string
	for _, ev := range evs {
		if ev["event"] == "scim.change" {
			if ev["planned"] != true {
				t.Errorf("not planned: %v", ev)
			}
			ldifs = append(ldifs, ev["ldif"].(string))
		}
	}
	all := strings.Join(ldifs, "")
	if strings.Contains(all, secret) || strings.Contains(audit.String(), secret) {
		t.Fatalf("the password reached the audit log:\n%s", all)
	}
	if len(ldifs) != 3 {
		t.Fatalf("want 3 planned changes (create, replace, delete), got %d:\n%s", len(ldifs), all)
	}
	wantLDIF := func(i int, parts ...string) {
		t.Helper()
		at := 0
		for _, p := range parts {
			n := strings.Index(ldifs[i][at:], p)
			if n < 0 {
				t.Errorf("change %d lacks %q (in this order):\n%s", i, p, ldifs[i])
				return
			}
			at += n + len(p)
		}
	}
	// The create: the add (locked, since active is false), the password as a
	// marker, then the lock written again after it (ppolicy lifts it on a
	// password change).
	wantLDIF(0, "dn: uid=plan-new,ou=people,dc=example,dc=org\nchangetype: add\n", "pwdAccountLockedTime: 000001010000Z\n", "title: Planner\n",
		"# Password Modify extended operation", "replace: userPassword\nuserPassword: [password]\n",
		"changetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n")
	// The replace: the rename first, then the modify at the new DN, the password.
	wantLDIF(1, "dn: uid=plan-real,ou=people,dc=example,dc=org\nchangetype: modrdn\nnewrdn: uid=plan-renamed\ndeleteoldrdn: 1\n",
		"dn: uid=plan-renamed,ou=people,dc=example,dc=org\nchangetype: modify\n", "title: Renamed\n", "userPassword: [password]\n")
	wantLDIF(2, "dn: uid=plan-real,ou=people,dc=example,dc=org\nchangetype: delete\n")
	t.Logf("planned LDIF:\n%s", all)
}

// TestPlanModeBulk: a Bulk request of a plan-mode credential plans each
// operation as its single request would be planned (on what the earlier ones
// planned: TestPlanModeDeleteAnswersAsApply): the statuses are the real ones,
// each planned change is audited with its own LDIF, and nothing is written. An operation that names an earlier one's planned create
// (bulkId) finds nothing, as docs/plan-mode.md says.
func TestPlanModeBulk(t *testing.T) {
	e, audit := planEnv(t, "read-write")
	var ids []string
	for _, n := range []string{"plan-bulk-put", "plan-bulk-patch", "plan-bulk-delete"} {
		ids = append(ids, e.MustCreate("/Users", user(n, nil)))
	}
	audit.Events(t)
	before := dumpTree(t, e.ldap)
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	body := bulkBody(0,
		bulkOp("POST", "/Users", "new", user("plan-bulk-new", nil)),
		bulkOp("PUT", "/Users/"+ids[0], "", user("plan-bulk-put", map[string]any{"title": "Tour Guide"})),
		bulkOp("PATCH", "/Users/"+ids[1], "", patchBody(op("replace", "title", "Guide"))),
		bulkOp("DELETE", "/Users/"+ids[2], "", nil),
		bulkOp("PATCH", "/Users/bulkId:new", "", patchBody(op("replace", "title", "x"))))
	if r := planner.Do("POST", "/Bulk", body); r.Header.Get(gateway.PlannedHeader) != "true" {
		t.Errorf("the Bulk answer is not marked planned: %d %v", r.Status, r.Header)
	}
	if after := dumpTree(t, e.ldap); after != before {
		t.Fatalf("a planned Bulk request changed the directory:\n%s", scimtest.DiffLines(before, after))
	}
	audit.Events(t)
	res := sendBulk(t, planner, body)
	wantStatuses(t, res, "201", "200", "200", "204", "404")
	var ldifs []string
	for _, ev := range audit.Events(t) {
		if ev["event"] == "scim.change" {
			if ev["planned"] != true {
				t.Errorf("not planned: %v", ev)
			}
			ldifs = append(ldifs, ev["ldif"].(string))
		}
	}
	if len(ldifs) != 4 || !strings.Contains(ldifs[0], "changetype: add") || !strings.Contains(ldifs[3], "changetype: delete") ||
		strings.Contains(ldifs[1], "changetype: add") {
		t.Errorf("want one LDIF per operation, each its own: %q", ldifs)
	}
	if g := e.Do("GET", "/Users/"+ids[2], nil); g.Status != 200 {
		t.Errorf("the planned delete was made: %d", g.Status)
	}
}

// A secret given to two credentials is refused at start-up and on a reload:
// the copy of a writing token made for staging with plan: true, its token
// left unchanged, would otherwise be planned or not by the order of the two.
// The error names the credentials, not the secret.
func TestPlanCredentialSharingASecretIsRefused(t *testing.T) {
	const secret = "shared-0123456789abcdef0123456789abcdef"
	for name, c := range map[string]struct {
		tokens []string
		creds  gateway.Credentials
		want   string
	}{
		"two tokens": {creds: gateway.Credentials{Tokens: []gateway.TokenCredential{
			{Name: "staging", Token: secret, Scope: gateway.Scope{Scope: "read-write", Plan: true}},
			{Name: "prod", Token: secret, Scope: gateway.Scope{Scope: "read-write"}},
		}}, want: `tokens[1] "prod" has the same secret as tokens[0] "staging"`},
		"an environment token and a file token": {tokens: []string{secret}, creds: gateway.Credentials{Tokens: []gateway.TokenCredential{
			{Name: "staging", Token: secret, Scope: gateway.Scope{Scope: "read-write", Plan: true}},
		}}, want: `tokens[0] "staging" has the same secret as bearer token 1 of SCIM2LDAP_BEARER_TOKENS`},
		"two Basic users": {creds: gateway.Credentials{BasicUsers: []gateway.BasicCredential{
			{Name: "staging", Username: "entra", Password: secret, Scope: gateway.Scope{Scope: "read-write", Plan: true}},
			{Name: "prod", Username: "entra", Password: secret, Scope: gateway.Scope{Scope: "read-write"}},
		}}, want: `basicUsers[1] "prod" has the same secret as basicUsers[0] "staging"`},
	} {
		err := gateway.CheckCredentials(nil, c.tokens, &c.creds)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v, want an error saying %s (without the secret)", name, err, c.want)
		}
	}
	distinct := gateway.Credentials{BasicUsers: []gateway.BasicCredential{
		{Name: "staging", Username: "entra-staging", Password: secret, Scope: gateway.Scope{Scope: "read-write", Plan: true}},
		{Name: "prod", Username: "entra", Password: secret, Scope: gateway.Scope{Scope: "read-write"}},
	}}
	if err := gateway.CheckCredentials(nil, []string{"other-token"}, &distinct); err != nil {
		t.Errorf("credentials with their own secrets: %v", err)
	}
}

// An IdP that was told a planned create's id adds it to a group or names it as
// a manager in its next requests: 400 invalidValue (the id names nothing), and
// the detail says why, as the 404 of a GET does. The directory is unchanged.
func TestPlanModeReferenceToAPlannedID(t *testing.T) {
	e, _ := planEnv(t, "read-write")
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	cr := planner.Do("POST", "/Users", user("plan-referenced", nil))
	if cr.Status != 201 {
		t.Fatalf("planned create: %d %s", cr.Status, cr.Raw)
	}
	id := cr.Body["id"].(string)
	boss := e.Do("POST", "/Users", user("plan-boss", nil)) // real: a user to PATCH
	grp := e.Do("POST", "/Groups", group("plan-refgroup", boss.Body["id"].(string)))
	before := scimtest.StableDump(t, func(t testing.TB) string { return dumpTree(t, e.ldap) })
	const manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
	for what, r := range map[string]scimtest.Response{
		"a group created with it":    planner.Do("POST", "/Groups", group("plan-newgroup", id)),
		"a member added by PATCH":    planner.Do("PATCH", "/Groups/"+grp.Body["id"].(string), patchBody(op("add", "members", []any{map[string]any{"value": id}}))),
		"a manager set by PATCH":     planner.Do("PATCH", "/Users/"+boss.Body["id"].(string), patchBody(op("replace", manager, map[string]any{"value": id}))),
		"the members of a PUT group": planner.Do("PUT", "/Groups/"+grp.Body["id"].(string), group("plan-refgroup", id)),
	} {
		if r.Status != 400 || !strings.Contains(r.Raw, id) || strings.Count(r.Raw, "plan-mode gateway") != 1 {
			t.Errorf("%s: %d %s, want 400 saying (once) the id is a planned create's", what, r.Status, r.Raw)
		}
	}
	if after := dumpTree(t, e.ldap); after != before {
		t.Errorf("planned requests changed the directory:\n%s", scimtest.DiffLines(before, after))
	}
}

// answer is what a client learns from a SCIM answer or a Bulk operation's
// result: its status and, for an error, its scimType and detail.
type answer struct{ status, scimType, detail string }

func answerOf(r scimtest.Response) answer {
	a := answer{status: strconv.Itoa(r.Status)}
	if r.Status >= 400 {
		a.scimType, a.detail = str(r.Body["scimType"]), str(r.Body["detail"])
	}
	return a
}

func answersOf(res []bulkResult) []answer {
	var out []answer
	for _, r := range res {
		a := answer{status: r.Status}
		if r.Response != nil {
			a.scimType, a.detail = str(r.Response["scimType"]), str(r.Response["detail"])
		}
		out = append(out, a)
	}
	return out
}

// TestPlanModeDeleteAnswersAsApply: a planned DELETE answers what the real
// one answers, for an id that names nothing (404), an entry that exists (204)
// and an entry deleted twice in one Bulk request (204, then 404: the second
// delete finds the entry the first planned away), also after a rename in the
// same request, and a PATCH after a DELETE (404); the plans write nothing.
// Each request is planned first, then sent by a writing credential.
func TestPlanModeDeleteAnswersAsApply(t *testing.T) {
	e, _ := planEnv(t, "read-write")
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	single := e.MustCreate("/Users", user("plan-del-single", nil))
	twice := e.MustCreate("/Users", user("plan-del-twice", nil))
	renamed := e.MustCreate("/Users", user("plan-del-renamed", nil))
	patched := e.MustCreate("/Users", user("plan-del-patched", nil))
	const missing = "0b4f0c1e-1d2c-4b7a-9a3e-2f1d0c9b8a7e" // version 4: no planned create's id
	requests := []struct {
		name string
		send func(c *scimtest.Client) []answer
	}{
		{"DELETE of an id that names nothing", func(c *scimtest.Client) []answer {
			return []answer{answerOf(c.Do("DELETE", "/Users/"+missing, nil))}
		}},
		{"DELETE of an existing id", func(c *scimtest.Client) []answer {
			return []answer{answerOf(c.Do("DELETE", "/Users/"+single, nil))}
		}},
		{"Bulk deleting one id twice", func(c *scimtest.Client) []answer {
			return answersOf(sendBulk(t, c, bulkBody(0, bulkOp("DELETE", "/Users/"+twice, "", nil), bulkOp("DELETE", "/Users/"+twice, "", nil))))
		}},
		{"Bulk deleting an id that names nothing", func(c *scimtest.Client) []answer {
			return answersOf(sendBulk(t, c, bulkBody(0, bulkOp("DELETE", "/Users/"+missing, "", nil))))
		}},
		{"Bulk renaming an entry, then deleting it twice", func(c *scimtest.Client) []answer {
			return answersOf(sendBulk(t, c, bulkBody(0, bulkOp("PUT", "/Users/"+renamed, "", user("plan-del-renamed-2", nil)),
				bulkOp("DELETE", "/Users/"+renamed, "", nil), bulkOp("DELETE", "/Users/"+renamed, "", nil))))
		}},
		{"Bulk deleting an entry, then patching it", func(c *scimtest.Client) []answer {
			return answersOf(sendBulk(t, c, bulkBody(0, bulkOp("DELETE", "/Users/"+patched, "", nil),
				bulkOp("PATCH", "/Users/"+patched, "", patchBody(op("replace", "title", "x"))))))
		}},
	}
	before := scimtest.StableDump(t, func(t testing.TB) string { return dumpTree(t, e.ldap) })
	planned := make([][]answer, len(requests))
	for i, rq := range requests {
		planned[i] = rq.send(planner)
	}
	if after := dumpTree(t, e.ldap); after != before {
		t.Fatalf("planned deletes changed the directory:\n%s", scimtest.DiffLines(before, after))
	}
	want := [][]string{{"404"}, {"204"}, {"204", "404"}, {"404"}, {"200", "204", "404"}, {"204", "404"}}
	for i, rq := range requests {
		applied := rq.send(e.Client)
		if !slices.Equal(planned[i], applied) {
			t.Errorf("%s: planned %+v, applied %+v", rq.name, planned[i], applied)
		}
		var got []string
		for _, a := range applied {
			got = append(got, a.status)
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("%s: applied statuses %v, want %v", rq.name, got, want[i])
		}
	}
}

// TestPlanOnAReadOnlyCredentialIsRefused: plan: true on a read-only
// credential (its writes are 403 before anything is planned, so it would plan
// nothing) stops the credentials file's load with an error naming the
// credential, on every kind and on a claimScopes entry; on a read-write one it
// loads.
func TestPlanOnAReadOnlyCredentialIsRefused(t *testing.T) {
	const jwt = "  - {name: entra-oauth, issuer: https://idp.example.org, audiences: [scim], jwksURL: https://idp.example.org/keys"
	for name, c := range map[string]struct{ yaml, want string }{
		"a token, read-only by default": {"tokens:\n  - {name: staging, token: " + planToken + ", plan: true}\n",
			`tokens[0] "staging": plan: true needs scope: read-write (the scope is read-only (the default)`},
		"a Basic user": {"basicUsers:\n  - {name: okta-staging, username: okta, password: " + planToken + ", scope: read-only, plan: true}\n",
			`basicUsers[0] "okta-staging": plan: true needs scope: read-write (the scope is read-only;`},
		"an issuer": {"jwtIssuers:\n" + jwt + ", scope: read-only, plan: true}\n",
			`jwtIssuers[0] "entra-oauth": plan: true needs scope: read-write`},
		"a claimScopes entry": {"jwtIssuers:\n" + jwt + ", claimScopes: [{claim: roles, value: SCIM.ReadWrite, scope: read-write}, {claim: roles, value: SCIM.Plan, plan: true}]}\n",
			`jwtIssuers[0].claimScopes[1] "entra-oauth": plan: true needs scope: read-write`},
		"a client certificate": {"clientCertificates:\n  - {name: hr-staging, subject: hr.example.org, scope: read-only, plan: true}\n",
			`clientCertificates[0] "hr-staging": plan: true needs scope: read-write`},
	} {
		path := filepath.Join(t.TempDir(), "credentials.yaml")
		if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := gateway.LoadCredentials(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "plan: true") != 1 {
			t.Errorf("%s: %v, want one error saying %s", name, err, c.want)
		}
		writing := strings.Replace(strings.Replace(c.yaml, "scope: read-only, plan: true", "plan: true", 1), "plan: true", "scope: read-write, plan: true", 1)
		if err := os.WriteFile(path, []byte(writing), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := gateway.LoadCredentials(path); err != nil {
			t.Errorf("%s with scope: read-write: %v", name, err)
		}
	}
}

// TestPlanModeRepeatedMembershipAnswersAsApply: a Bulk request that removes a
// member twice and adds one twice answers the same planned as made. Made, the
// second removal is refused by slapd (16 noSuchAttribute: permissive modify
// doesn't cover a delete) and redone after an LDAP Compare of each value
// (RFC 4511 §4.10); planned, the modify is recorded (a plan answers no 16), so
// no Compare runs in plan mode and none can read the directory where the plan
// changed it: the metrics count Compares made, none planned. What a later
// operation learns of the group (whether it holds its placeholder member) is
// what the earlier ones planned.
func TestPlanModeRepeatedMembershipAnswersAsApply(t *testing.T) {
	e, audit := planEnv(t, "read-write")
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	a := e.MustCreate("/Users", user("plan-cmp-a", nil))
	b := e.MustCreate("/Users", user("plan-cmp-b", nil))
	g := e.MustCreate("/Groups", group("plan-cmp-group", a))
	compares := func() int {
		rec := httptest.NewRecorder()
		e.gw.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		n := 0
		for _, l := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(l, `scim2ldap_ldap_operations_total{op="compare"`) {
				v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				n += int(v)
			}
		}
		return n
	}
	remove := func(id string) map[string]any {
		return patchBody(op("remove", `members[value eq "`+id+`"]`, nil))
	}
	add := func(id string) map[string]any {
		return patchBody(op("add", "members", []any{map[string]any{"value": id}}))
	}
	body := bulkBody(0,
		bulkOp("PATCH", "/Groups/"+g, "", remove(a)), bulkOp("PATCH", "/Groups/"+g, "", remove(a)),
		bulkOp("PATCH", "/Groups/"+g, "", add(b)), bulkOp("PATCH", "/Groups/"+g, "", add(b)),
		bulkOp("PATCH", "/Groups/"+g, "", remove(b)), bulkOp("PATCH", "/Groups/"+g, "", remove(b)))
	before := scimtest.StableDump(t, func(t testing.TB) string { return dumpTree(t, e.ldap) })
	atStart := compares()
	audit.Events(t)
	planned := answersOf(sendBulk(t, planner, body))
	if n := compares(); n != atStart {
		t.Errorf("a planned request sent %d LDAP Compares", n-atStart)
	}
	var ldifs []string
	for _, ev := range audit.Events(t) {
		if ev["event"] == "scim.change" {
			ldifs = append(ldifs, str(ev["ldif"]))
		}
	}
	// The second addition of b: the first one planned the placeholder
	// member away, so it is not deleted again (the group's placeholder is
	// read with the matched values control, answered from the planned state).
	if len(ldifs) != 6 || !strings.Contains(ldifs[3], "add: member\nmember: uid=plan-cmp-b,") || strings.Contains(ldifs[3], "delete:") {
		t.Errorf("planned changes: %q", ldifs)
	}
	if after := dumpTree(t, e.ldap); after != before {
		t.Fatalf("a planned request changed the directory:\n%s", scimtest.DiffLines(before, after))
	}
	applied := answersOf(sendBulk(t, e.Client, body))
	if !slices.Equal(planned, applied) {
		t.Errorf("planned %+v, applied %+v", planned, applied)
	}
	for i, a := range applied {
		if a.status != "200" && a.status != "204" {
			t.Errorf("operation %d: %+v, want success", i+1, a)
		}
	}
	if compares() == atStart {
		t.Error("made, the repeated removals ran no Compare: the test no longer covers the path that uses one")
	}
	if r := e.Do("GET", "/Groups/"+g, nil); r.Status != 200 || r.Body["members"] != nil {
		t.Errorf("the group after the request: %d %s", r.Status, r.Raw)
	}
}
