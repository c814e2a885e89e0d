package gateway_test

// What operators see: the request log line, /metrics, and the audit log.

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

func TestRequestLogLineHoldsNoSecret(t *testing.T) {
	e := newEnv(t)
	e.Do("POST", "/Users", user("logged@example.org", nil))
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logBuf.String()), "\n") {
		json.Unmarshal([]byte(l), &line)
	}
	if line["method"] != "POST" || line["path"] != "/scim/v2/Users" || line["status"] != 201.0 || line["ldap_ops"] != 4.0 || line["duration"] == nil {
		t.Errorf("log line: %v", line)
	}
	if strings.Contains(e.logBuf.String(), token) || strings.Contains(e.logBuf.String(), slapd.Password) {
		t.Error("a secret reached the log")
	}
}

// A rename's audit event carries the old DN, so a SIEM can follow the entry.
func TestAuditRecordsOldDNOnRename(t *testing.T) {
	var audit bytes.Buffer
	gw := gateway.New(gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Log: zerolog.Nop(), Tokens: []string{token},
		Audit: zerolog.SyncWriter(&audit)})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	c := &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}
	id := c.MustCreate("/Users", user("rv-audit", nil))
	c.MustPatch("/Users/"+id, patchBody(op("replace", "userName", "rv-audit2")))
	lines := strings.Split(strings.TrimSpace(audit.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"old_dn":"uid=rv-audit,ou=people,dc=example,dc=org"`) || !strings.Contains(last, `"dn":"uid=rv-audit2,ou=people,dc=example,dc=org"`) {
		t.Errorf("rename audit event: %s", last)
	}
	if strings.Contains(lines[0], "old_dn") {
		t.Errorf("a create has no old DN: %s", lines[0])
	}
}

func TestMetricsAndAudit(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{rwToken}, AuthFailureBurst: -1})
	auth := bearer(rwToken)
	const secretPassword = "Sup3r-Secret-Passw0rd!"

	// Changes of every kind, with a password and a token in flight.
	u := newUser("audited")
	u["password"] = secretPassword
	u["emails"] = []any{map[string]any{"type": "work", "value": "audited-mail@example.org"}}
	c := e.call("POST", "/Users", auth, u, "X-Request-Id", "req-create-1")
	if c.Status != 201 {
		t.Fatalf("create: %d %s", c.Status, c.Raw)
	}
	if c.Header.Get("X-Request-Id") != "req-create-1" {
		t.Errorf("X-Request-Id not propagated: %q", c.Header.Get("X-Request-Id"))
	}
	id := c.Body["id"].(string)
	p := e.call("PATCH", "/Users/"+id, auth, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Chief"}, map[string]any{"op": "add", "path": "password", "value": secretPassword}}})
	if p.Status != 200 {
		t.Fatalf("patch: %d %s", p.Status, p.Raw)
	}
	u["name"] = map[string]any{"givenName": "Renamed", "familyName": "Family"}
	if r := e.call("PUT", "/Users/"+id, auth, u); r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Raw)
	}
	g := e.call("POST", "/Groups", auth, map[string]any{"displayName": "audited-group", "members": []any{map[string]any{"value": id}}})
	if g.Status != 201 {
		t.Fatalf("group: %d %s", g.Status, g.Raw)
	}
	gid := g.Body["id"].(string)
	if r := e.call("DELETE", "/Groups/"+gid, auth, nil); r.Status != 204 {
		t.Fatalf("delete group: %d", r.Status)
	}
	if r := e.call("DELETE", "/Users/"+id, auth, nil); r.Status != 204 {
		t.Fatalf("delete: %d", r.Status)
	}
	// Not changes: reads, failures.
	e.call("GET", "/Users", auth, nil)
	e.call("GET", "/Users/"+id, auth, nil)
	e.call("GET", "/Users", bearer("wrong-token-value-0123456789"), nil)

	// Audit: one event per change, in order, never a value.
	type event struct {
		Log, Event, RequestID, Client, Auth, Operation, ResourceType, ID, DN string
		Attributes                                                           []string
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		ev := event{Log: str(raw["log"]), Event: str(raw["event"]), RequestID: str(raw["request_id"]), Client: str(raw["client"]), Auth: str(raw["auth"]),
			Operation: str(raw["operation"]), ResourceType: str(raw["resource_type"]), ID: str(raw["id"]), DN: str(raw["dn"])}
		for _, a := range raw["attributes"].([]any) {
			ev.Attributes = append(ev.Attributes, a.(string))
		}
		events = append(events, ev)
	}
	want := []struct{ op, rt, id, dnPrefix, attr string }{
		{"create", "User", id, "uid=audited,", "mail"},
		{"patch", "User", id, "uid=audited,", "title"},
		{"replace", "User", id, "uid=audited,", "givenName"},
		{"create", "Group", gid, "cn=audited-group,", "member"},
		{"delete", "Group", gid, "cn=audited-group,", ""},
		{"delete", "User", id, "uid=audited,", ""},
	}
	if len(events) != len(want) {
		t.Fatalf("%d audit events, want %d:\n%s", len(events), len(want), e.audit.String())
	}
	for i, w := range want {
		ev := events[i]
		if ev.Log != "audit" || ev.Event != "scim.change" || ev.Operation != w.op || ev.ResourceType != w.rt || ev.ID != w.id ||
			!strings.HasPrefix(ev.DN, w.dnPrefix) || ev.Client != "token-1" || ev.Auth != "token" || ev.RequestID == "" {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if w.attr != "" && !contains(ev.Attributes, w.attr) {
			t.Errorf("event %d attributes %v lack %s", i, ev.Attributes, w.attr)
		}
		if w.attr == "" && len(ev.Attributes) != 0 {
			t.Errorf("event %d: a delete lists attributes %v", i, ev.Attributes)
		}
	}
	if events[0].RequestID != "req-create-1" {
		t.Errorf("the create event's request id is %q", events[0].RequestID)
	}
	all := e.audit.String() + e.log.String()
	for _, secret := range []string{secretPassword, rwToken, "wrong-token-value-0123456789", "audited-mail@example.org", "Chief", "Renamed"} {
		if strings.Contains(e.audit.String(), secret) {
			t.Errorf("the audit log contains the value %q", secret)
		}
	}
	for _, secret := range []string{secretPassword, rwToken, "wrong-token-value-0123456789"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs contain the secret %q", secret)
		}
	}

	// Metrics: scrape and check the series.
	m := e.call("GET", "/metrics", "", nil)
	if m.Status != 200 {
		t.Fatalf("/metrics: %d", m.Status)
	}
	for _, series := range []string{
		`scim2ldap_http_requests_total{client="token-1",method="POST",route="/scim/v2/Users",status="201"} 1`,
		`scim2ldap_http_requests_total{client="token-1",method="GET",route="/scim/v2/Users/{id}",status="404"} 1`,
		`scim2ldap_http_requests_total{client="-",method="GET",route="/scim/v2/Users",status="401"} 1`,
		`scim2ldap_http_requests_total{client="token-1",method="DELETE",route="/scim/v2/Groups/{id}",status="204"} 1`,
		`scim2ldap_http_request_duration_seconds_bucket{method="PATCH",route="/scim/v2/Users/{id}",le="+Inf"} 1`,
		`scim2ldap_ldap_operations_total{op="add",result="0"} 2`,
		`scim2ldap_ldap_operations_total{op="delete",result="0"} 2`,
		`scim2ldap_ldap_operation_duration_seconds_count{op="search"}`,
		`scim2ldap_ldap_connections{state="up"} 4`,
		`scim2ldap_ldap_connections{state="down"} 0`,
		`scim2ldap_auth_failures_total{reason="invalid"} 1`,
		`scim2ldap_audit_events_total{operation="create",resource_type="User"} 1`,
		`scim2ldap_audit_events_total{operation="patch",resource_type="User"} 1`,
		`scim2ldap_http_requests_in_flight`,
		`go_goroutines`,
	} {
		if !strings.Contains(m.Raw, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if regexp.MustCompile(`route="/scim/v2/Users/[0-9a-f]{8}-`).MatchString(m.Raw) {
		t.Error("a raw path (with an id) is a metrics label")
	}
}
