package gateway_test

// Plan mode: writes computed, answered and audited as LDIF, and never sent.
// The IdP scenarios run against a real gateway while every write they send is
// first sent, as it is, by a plan-mode credential to the same gateway: the
// directory must be unchanged by it, byte for byte, and its answer must be
// the real write's, but for what the directory assigns.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

const planToken = "plan-token-0123456789"

// syncBuffer is an audit log tests read while the gateway writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events returns the audit events written since offset, and the new offset.
func (b *syncBuffer) events(t testing.TB, from int) ([]map[string]any, int) {
	t.Helper()
	b.mu.Lock()
	data := slices.Clone(b.buf.Bytes()[from:])
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out, from + len(data)
}

// dumpTree is every entry under dc=example,dc=org with every user and
// operational attribute (entryCSN, modifyTimestamp, contextCSN… included),
// as sorted text: two dumps are equal only when nothing was written.
func dumpTree(t testing.TB, c *ldap.Conn) string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "+"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range res.Entries {
		for _, a := range e.Attributes {
			for _, v := range a.Values {
				lines = append(lines, e.DN+"\t"+a.Name+"\t"+v)
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// stableDump waits until slapd's asynchronous overlays (refint) are done with
// the writes before: two dumps in a row agree.
func stableDump(t testing.TB, c *ldap.Conn) string {
	t.Helper()
	prev := dumpTree(t, c)
	for range 50 {
		next := dumpTree(t, c)
		if next == prev {
			return next
		}
		prev = next
	}
	t.Fatal("the directory kept changing")
	return ""
}

// shadow is a RoundTripper that sends every write first with the plan-mode
// credential, checks what plan mode promises, then sends it for real.
type shadow struct {
	t      *testing.T
	e      *env
	audit  *syncBuffer
	offset int
	writes int
	creates int // of them, creates
}

func (s *shadow) RoundTrip(req *http.Request) (*http.Response, error) {
	t := s.t
	t.Helper()
	write := req.Method == http.MethodPut || req.Method == http.MethodPatch || req.Method == http.MethodDelete ||
		(req.Method == http.MethodPost && !strings.HasSuffix(req.URL.Path, "/.search"))
	if !write {
		return http.DefaultTransport.RoundTrip(req)
	}
	s.writes++
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	send := func(auth string) (*http.Response, []byte) {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("Authorization", auth)
		res, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, raw
	}
	what := req.Method + " " + req.URL.RequestURI() + " " + string(body)
	_, s.offset = s.audit.events(t, s.offset)
	before := stableDump(t, s.e.ldap)
	planned, plannedRaw := send("Bearer " + planToken)
	if after := dumpTree(t, s.e.ldap); after != before {
		t.Errorf("plan mode changed the directory: %s\n%s", what, diffLines(before, after))
	}
	if planned.Header.Get(gateway.PlannedHeader) != "true" {
		t.Errorf("%s: no %s: true on the planned answer", what, gateway.PlannedHeader)
	}
	plannedEvents, off := s.audit.events(t, s.offset)
	s.offset = off
	actual, actualRaw := send(req.Header.Get("Authorization"))
	actualEvents, off := s.audit.events(t, s.offset)
	s.offset = off
	if actual.Header.Get(gateway.PlannedHeader) != "" {
		t.Errorf("%s: %s on a real write", what, gateway.PlannedHeader)
	}
	s.compare(what, req.Method, planned, plannedRaw, actual, actualRaw)
	s.compareAudit(what, planned.StatusCode, plannedEvents, actualEvents)
	actual.Body = io.NopCloser(bytes.NewReader(actualRaw))
	return actual, nil
}

// compare requires the planned answer to be the real one, but for what the
// directory assigns: a create's id (and so meta.location and Location), and
// meta.version, meta.created, meta.lastModified and the ETag (a planned write
// leaves the entry's as they were).
func (s *shadow) compare(what, method string, p *http.Response, praw []byte, a *http.Response, araw []byte) {
	t := s.t
	if p.StatusCode != a.StatusCode {
		t.Errorf("%s: planned %d %s, real %d %s", what, p.StatusCode, praw, a.StatusCode, araw)
		return
	}
	if len(praw) == 0 || len(araw) == 0 {
		if len(praw) != len(araw) {
			t.Errorf("%s: planned body %q, real %q", what, praw, araw)
		}
		return
	}
	var pb, ab map[string]any
	if err := json.Unmarshal(praw, &pb); err != nil {
		t.Fatalf("%s: planned body %s: %v", what, praw, err)
	}
	if err := json.Unmarshal(araw, &ab); err != nil {
		t.Fatalf("%s: real body %s: %v", what, araw, err)
	}
	if p.StatusCode == http.StatusCreated {
		s.creates++
		id, _ := pb["id"].(string)
		if id == "" || id == ab["id"] || id[14] != '5' {
			t.Errorf("%s: planned id %q (real %v), want a version-5 UUID", what, pb["id"], ab["id"])
		}
		if loc := p.Header.Get("Location"); !strings.HasSuffix(loc, "/"+id) {
			t.Errorf("%s: planned Location %q", what, loc)
		}
		if scimtest.Get(pb, "meta", "location") != p.Header.Get("Location") {
			t.Errorf("%s: planned meta.location %v", what, pb["meta"])
		}
		delete(pb, "id")
		delete(ab, "id")
	}
	for _, b := range []map[string]any{pb, ab} {
		if meta, ok := b["meta"].(map[string]any); ok {
			for _, k := range []string{"version", "created", "lastModified"} {
				delete(meta, k)
			}
			if p.StatusCode == http.StatusCreated {
				delete(meta, "location")
			}
		}
	}
	if !reflect.DeepEqual(pb, ab) {
		t.Errorf("%s: planned answer differs from the real one:\nplanned %s\nreal    %s", what, praw, araw)
	}
}

// compareAudit requires the planned write's audit events to be planned, to
// carry LDIF (never a password), and to name what the real write's name: the
// operation, the DN, the DN before a rename, the attributes written.
func (s *shadow) compareAudit(what string, status int, planned, actual []map[string]any) {
	t := s.t
	change := func(evs []map[string]any) map[string]any {
		for _, ev := range evs {
			if ev["event"] == "scim.change" {
				return ev
			}
		}
		return nil
	}
	for _, ev := range planned {
		if ev["planned"] != true {
			t.Errorf("%s: a plan's audit event is not marked planned: %v", what, ev)
		}
	}
	for _, ev := range actual {
		if _, ok := ev["planned"]; ok {
			t.Errorf("%s: a real write's audit event is marked planned: %v", what, ev)
		}
	}
	pc, ac := change(planned), change(actual)
	if (pc == nil) != (ac == nil) {
		t.Errorf("%s: planned audit event %v, real %v", what, pc, ac)
		return
	}
	if pc == nil {
		return
	}
	ldifText, _ := pc["ldif"].(string)
	if status < 300 && len(pc["attributes"].([]any)) > 0 && !strings.HasPrefix(ldifText, "dn: ") && !strings.HasPrefix(ldifText, "# ") {
		t.Errorf("%s: planned change without LDIF: %v", what, pc)
	}
	named := func(key string) bool {
		dn, _ := pc[key].(string)
		return dn != "" && strings.Contains(strings.ToLower(ldifText), "dn: "+strings.ToLower(dn)+"\n")
	}
	if ldifText != "" && !named("dn") && !named("old_dn") {
		t.Errorf("%s: the LDIF does not name the entry %v:\n%s", what, pc["dn"], ldifText)
	}
	for _, k := range []string{"operation", "dn", "old_dn", "attributes", "resource_type"} {
		if !reflect.DeepEqual(pc[k], ac[k]) {
			t.Errorf("%s: audit %s planned %v, real %v", what, k, pc[k], ac[k])
		}
	}
}

// diffLines lists the lines only one of two dumps has.
func diffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// planEnv is a gateway on slapd whose credential planToken has plan: true,
// with its audit log in audit.
func planEnv(t *testing.T, scope string) (*env, *syncBuffer) {
	audit := &syncBuffer{}
	creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
		{Name: "planner", Token: planToken, Scope: gateway.Scope{Scope: scope, Plan: true}}}}
	return newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Credentials: creds,
		Audit: zerolog.SyncWriter(audit)}), audit
}

// TestPlanModeShadowsIdPScenarios runs every IdP scenario (Entra ID and Okta,
// users and groups) with each write first planned: the plan leaves the
// directory byte for byte as it was, answers what the real write answers, and
// audits the same change as LDIF.
func TestPlanModeShadowsIdPScenarios(t *testing.T) {
	for _, sc := range scimtest.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			e, audit := planEnv(t, "read-write")
			sh := &shadow{t: t, e: e, audit: audit}
			e.Client.HTTP = &http.Client{Transport: sh}
			sc.Run(t, e.Client, openLDAP{e})
			if sh.writes < 5 || sh.creates == 0 {
				t.Fatalf("the scenario sent %d writes, %d creates: the shadow saw too little", sh.writes, sh.creates)
			}
			t.Logf("%d writes planned and compared, %d of them creates", sh.writes, sh.creates)
		})
	}
}

// TestPlanModeRefusesReadOnly: plan mode is no way around a scope.
func TestPlanModeRefusesReadOnly(t *testing.T) {
	e, audit := planEnv(t, "read-only")
	before := stableDump(t, e.ldap)
	planner := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: planToken}
	wantError(t, planner.Do("POST", "/Users", user("plan-ro", nil)), 403, "")
	if after := dumpTree(t, e.ldap); after != before {
		t.Errorf("a refused plan changed the directory:\n%s", diffLines(before, after))
	}
	if evs, _ := audit.events(t, 0); len(evs) != 0 {
		t.Errorf("a refused write was audited: %v", evs)
	}
}

// TestPlanModeGatewayWide: with Config.Plan (SCIM2LDAP_MODE=plan) every
// credential's writes are planned, a read-only one is still refused, and a
// planned create's id is not found afterwards (404 saying why), by GET or
// PATCH; passwords never reach the LDIF, and the account lock is written
// after the password as the real write would.
func TestPlanModeGatewayWide(t *testing.T) {
	audit := &syncBuffer{}
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

	before := stableDump(t, e.ldap)
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
		t.Errorf("plan mode changed the directory:\n%s", diffLines(before, after))
	}

	evs, _ := audit.events(t, 0)
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
	if strings.Contains(all, secret) || strings.Contains(audit.buf.String(), secret) {
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
