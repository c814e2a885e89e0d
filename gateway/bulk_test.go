package gateway_test

// POST /Bulk (RFC 7644 §3.7) against a real slapd: the RFC's own examples
// (§3.7.1–3.7.3, with the attribute names of mappings.example.yaml), bulkId
// references in either order and in cycles, failOnErrors, the limits
// (§3.7.4), scopes and versions per operation, malformed operations, and a
// 1,000-operation request.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

const (
	bulkRequest  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponse = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
)

// bulkBody is a BulkRequest of ops; failOnErrors 0 leaves it out.
func bulkBody(failOnErrors int, ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	b := map[string]any{"schemas": []string{bulkRequest}, "Operations": list}
	if failOnErrors > 0 {
		b["failOnErrors"] = failOnErrors
	}
	return b
}

// bulkOp is one operation; version "" and data nil are left out.
func bulkOp(method, path, bulkID string, data map[string]any, version ...string) map[string]any {
	o := map[string]any{"method": method, "path": path}
	if bulkID != "" {
		o["bulkId"] = bulkID
	}
	if data != nil {
		o["data"] = data
	}
	if len(version) > 0 {
		o["version"] = version[0]
	}
	return o
}

// bulkResult is one operation's result in a BulkResponse.
type bulkResult struct {
	Method, BulkID, Location, Version, Status string
	Response                                  map[string]any
}

// sendBulk sends a Bulk request that must be answered 200 with a
// BulkResponse, and returns its results; no operation may be a 5xx.
func sendBulk(t *testing.T, c *scimtest.Client, body any) []bulkResult {
	t.Helper()
	r := c.Do("POST", "/Bulk", body)
	if r.Status != 200 {
		t.Fatalf("POST /Bulk: %d %s", r.Status, r.Raw)
	}
	if s, _ := r.Body["schemas"].([]any); len(s) != 1 || s[0] != bulkResponse {
		t.Fatalf("schemas %v, want [%s]", r.Body["schemas"], bulkResponse)
	}
	var out []bulkResult
	ops, _ := r.Body["Operations"].([]any)
	for _, o := range ops {
		m := o.(map[string]any)
		res := bulkResult{Method: str(m["method"]), BulkID: str(m["bulkId"]), Location: str(m["location"]),
			Version: str(m["version"]), Status: str(m["status"])}
		res.Response, _ = m["response"].(map[string]any)
		if res.Status >= "500" && res.Status != "503" {
			t.Errorf("operation %s %s: %s %v", res.Method, res.Location, res.Status, res.Response)
		}
		if res.Status >= "400" && (res.Response == nil || str(res.Response["status"]) != res.Status || str(res.Response["detail"]) == "") {
			t.Errorf("operation %s (bulkId %q): status %s without a SCIM error response: %v", res.Method, res.BulkID, res.Status, res.Response)
		}
		out = append(out, res)
	}
	return out
}

// wantStatuses checks the results' statuses, in order.
func wantStatuses(t *testing.T, got []bulkResult, want ...string) {
	t.Helper()
	var have []string
	for _, r := range got {
		have = append(have, r.Status)
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Fatalf("statuses %v, want %v (%+v)", have, want, got)
	}
}

// wantOpError checks a failed result's status, scimType and detail.
func wantOpError(t *testing.T, r bulkResult, status, scimType string, mention ...string) {
	t.Helper()
	if r.Status != status || str(r.Response["scimType"]) != scimType {
		t.Fatalf("result %+v, want status %s scimType %q", r, status, scimType)
	}
	for _, m := range mention {
		if !strings.Contains(str(r.Response["detail"]), m) {
			t.Errorf("detail %q does not mention %q", r.Response["detail"], m)
		}
	}
}

func idOf(loc string) string { return loc[strings.LastIndexByte(loc, '/')+1:] }

func memberIDs(g map[string]any) []string {
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, str(m.(map[string]any)["value"]))
	}
	return out
}

func group(name string, members ...string) map[string]any {
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	g := map[string]any{"schemas": []string{groupSchema}, "displayName": name}
	if ms != nil {
		g["members"] = ms
	}
	return g
}

// RFC 7644 §3.7.2's example: a user and a group with the user as member, in
// the RFC's order and in the other one (the group first: its member names a
// user created later in the request).
func TestBulkRFCExampleUserAndGroup(t *testing.T) {
	e := newEnv(t)
	for _, groupFirst := range []bool{false, true} {
		suffix := fmt.Sprint(groupFirst)
		ops := []map[string]any{
			bulkOp("POST", "/Users", "qwerty", newUser("bulk-alice-"+suffix)),
			bulkOp("POST", "/Groups", "ytrewq", group("Tour Guides "+suffix, "bulkId:qwerty")),
		}
		if groupFirst {
			ops[0], ops[1] = ops[1], ops[0]
		}
		res := sendBulk(t, e.Client, bulkBody(0, ops...))
		wantStatuses(t, res, "201", "201")
		byID := map[string]bulkResult{res[0].BulkID: res[0], res[1].BulkID: res[1]}
		u, g := byID["qwerty"], byID["ytrewq"]
		if res[0].BulkID != ops[0]["bulkId"] {
			t.Errorf("results are not in request order: %+v", res)
		}
		for _, r := range []bulkResult{u, g} {
			if r.Method != "POST" || r.Version == "" || !strings.HasPrefix(r.Location, e.BaseURL+"/") {
				t.Errorf("result %+v: want method, version and location", r)
			}
		}
		got := e.Do("GET", "/Groups/"+idOf(g.Location), nil)
		if ids := memberIDs(got.Body); len(ids) != 1 || ids[0] != idOf(u.Location) {
			t.Errorf("group members %v, want [%s] (the user's id, not its bulkId)", ids, idOf(u.Location))
		}
	}
}

// RFC 7644 §3.7.2's second example: a reference in an extension (the
// enterprise manager) to a user created in the same request.
func TestBulkRFCExampleManager(t *testing.T) {
	e := newEnv(t)
	worker := newUser("bulk-worker")
	worker["schemas"] = []string{userSchema, entSchema}
	worker[entSchema] = map[string]any{"employeeNumber": "11250", "manager": map[string]any{"value": "bulkId:boss"}}
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Users", "worker", worker), // names its manager before the manager's POST
		bulkOp("POST", "/Users", "boss", newUser("bulk-boss"))))
	wantStatuses(t, res, "201", "201")
	got := e.Do("GET", "/Users/"+idOf(res[0].Location), nil)
	if m := get(got.Body, entSchema, "manager", "value"); m != idOf(res[1].Location) {
		t.Errorf("manager %v, want %s", m, idOf(res[1].Location))
	}
}

// RFC 7644 §3.7.1: circular references are resolved: two groups naming each
// other, and three groups in a ring, are created and then completed with a
// PATCH; each ends with the others as members.
func TestBulkCircularReferencesResolved(t *testing.T) {
	e := newEnv(t)
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Groups", "a", group("bulk-cycle-a", "bulkId:b")),
		bulkOp("POST", "/Groups", "b", group("bulk-cycle-b", "bulkId:a")),
		bulkOp("POST", "/Groups", "x", group("bulk-ring-x", "bulkId:y")),
		bulkOp("POST", "/Groups", "y", group("bulk-ring-y", "bulkId:z")),
		bulkOp("POST", "/Groups", "z", group("bulk-ring-z", "bulkId:x"))))
	wantStatuses(t, res, "201", "201", "201", "201", "201")
	want := map[int]int{0: 1, 1: 0, 2: 3, 3: 4, 4: 2}
	for i, j := range want {
		got := e.Do("GET", "/Groups/"+idOf(res[i].Location), nil)
		if ids := memberIDs(got.Body); len(ids) != 1 || ids[0] != idOf(res[j].Location) {
			t.Errorf("%s members %v, want [%s]", got.Body["displayName"], ids, idOf(res[j].Location))
		}
		// A membership-only PATCH answers 204 without an ETag, as it does
		// alone: then the result has no version rather than a stale one.
		if etag := got.Header.Get("ETag"); res[i].Version != "" && res[i].Version != etag {
			t.Errorf("%s: version %q, want none or the one after the PATCH (%q)", got.Body["displayName"], res[i].Version, etag)
		}
	}
}

// A cycle whose attempt fails (RFC 7644 §3.7.1: 409): one group of the cycle
// can't be created (its name is taken), so the other is created without its
// reference to it and answered 409 invalidValue, saying so.
func TestBulkCircularReferenceNotResolved(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Groups", group("bulk-taken"))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Groups", "a", group("bulk-half-cycle", "bulkId:b")),
		bulkOp("POST", "/Groups", "b", group("bulk-taken", "bulkId:a"))))
	wantOpError(t, res[1], "409", "uniqueness")
	wantOpError(t, res[0], "409", "invalidValue", "circular reference", "bulkId:b")
	if res[0].Location == "" {
		t.Errorf("the created group's result has no location: %+v", res[0])
	}
	if g := e.Do("GET", "/Groups/"+idOf(res[0].Location), nil); len(memberIDs(g.Body)) != 0 {
		t.Errorf("members %v, want none", memberIDs(g.Body))
	}
}

// failOnErrors reached inside a cycle: a ring a→b→c→a whose c can't be
// created (its name is taken) stops the request (failOnErrors 1), but a and b
// were created without their references to the ring; they ran, so they are
// completed as they would be without failOnErrors: a gets b as member (201),
// b is 409 naming bulkId:c. Never a 201 for a group that lacks a member it
// was sent with and that exists.
func TestBulkFailOnErrorsInsideCycle(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Groups", group("bulk-foe-ring-c"))
	res := sendBulk(t, e.Client, bulkBody(1,
		bulkOp("POST", "/Groups", "a", group("bulk-foe-ring-a", "bulkId:b")),
		bulkOp("POST", "/Groups", "b", group("bulk-foe-ring-b", "bulkId:c")),
		bulkOp("POST", "/Groups", "c", group("bulk-foe-ring-c", "bulkId:a")),
		bulkOp("POST", "/Users", "after", newUser("bulk-foe-ring-not-run"))))
	wantStatuses(t, res, "201", "409", "409")
	wantOpError(t, res[1], "409", "invalidValue", "circular reference", "bulkId:c")
	wantOpError(t, res[2], "409", "uniqueness")
	if g := e.Do("GET", "/Groups/"+idOf(res[0].Location), nil); !slices.Equal(memberIDs(g.Body), []string{idOf(res[1].Location)}) {
		t.Errorf("a's members %v, want [%s] (b)", memberIDs(g.Body), idOf(res[1].Location))
	}
	if e.entry("(uid=bulk-foe-ring-not-run)") != nil {
		t.Error("an operation after the failOnErrors limit ran")
	}
}

// RFC 7644 §3.7.3's first example: add, replace, patch and delete users in
// one request, each PUT, PATCH and DELETE with its version.
func TestBulkRFCExampleMixedMethods(t *testing.T) {
	e := newEnv(t)
	var ids, versions []string
	for _, n := range []string{"bulk-put", "bulk-patch", "bulk-delete"} {
		r := e.Do("POST", "/Users", newUser(n))
		ids, versions = append(ids, str(r.Body["id"])), append(versions, r.Header.Get("ETag"))
	}
	res := sendBulk(t, e.Client, bulkBody(1,
		bulkOp("POST", "/Users", "qwerty", newUser("bulk-alice-mixed")),
		bulkOp("PUT", "/Users/"+ids[0], "", user("bulk-put", map[string]any{"title": "Tour Guide"}), versions[0]),
		bulkOp("PATCH", "/Users/"+ids[1], "", patchBody(op("replace", "title", "Guide")), versions[1]),
		bulkOp("DELETE", "/Users/"+ids[2], "", nil, versions[2])))
	wantStatuses(t, res, "201", "200", "200", "204")
	for i, r := range res[1:] {
		if r.Location != e.BaseURL+"/Users/"+ids[i] {
			t.Errorf("%s location %q, want %s", r.Method, r.Location, e.BaseURL+"/Users/"+ids[i])
		}
	}
	if res[1].Version == "" || res[1].Version == versions[0] || res[2].Version == "" {
		t.Errorf("PUT/PATCH versions %q %q: want the new ones", res[1].Version, res[2].Version)
	}
	if g := e.Do("GET", "/Users/"+ids[0], nil); g.Body["title"] != "Tour Guide" {
		t.Errorf("PUT not applied: %v", g.Body)
	}
	if g := e.Do("GET", "/Users/"+ids[2], nil); g.Status != 404 {
		t.Errorf("DELETE not applied: %d", g.Status)
	}
}

// RFC 7644 §3.7.3's second example: with failOnErrors 1 the first error ends
// the request; only what ran is listed, and what follows is not applied.
func TestBulkFailOnErrors(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Users", newUser("bulk-dup"))
	res := sendBulk(t, e.Client, bulkBody(1,
		bulkOp("POST", "/Users", "dup", newUser("bulk-dup")),
		bulkOp("POST", "/Users", "after", newUser("bulk-not-run"))))
	wantStatuses(t, res, "409")
	if e.entry("(uid=bulk-not-run)") != nil {
		t.Error("an operation after the failOnErrors limit ran")
	}
	// failOnErrors 2: the second error stops it; the successes before stay.
	res = sendBulk(t, e.Client, bulkBody(2,
		bulkOp("POST", "/Users", "ok1", newUser("bulk-foe-1")),
		bulkOp("POST", "/Users", "dup", newUser("bulk-dup")),
		bulkOp("PATCH", "/Users/no-such-id", "", patchBody(op("replace", "title", "x"))),
		bulkOp("POST", "/Users", "ok2", newUser("bulk-foe-2"))))
	wantStatuses(t, res, "201", "409", "404")
	if e.entry("(uid=bulk-foe-1)") == nil || e.entry("(uid=bulk-foe-2)") != nil {
		t.Error("want bulk-foe-1 created and bulk-foe-2 not")
	}
}

// Without failOnErrors every operation runs (RFC 7644 §3.7: "continue
// performing as many changes as possible"), each failure with its own
// error, in request order.
func TestBulkMixedFailures(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Users", newUser("bulk-mixed-dup"))
	gone := e.MustCreate("/Users", newUser("bulk-mixed-gone"))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Users", "ok", newUser("bulk-mixed-ok")),
		bulkOp("POST", "/Users", "dup", newUser("bulk-mixed-dup")),
		bulkOp("PATCH", "/Users/no-such-id", "", patchBody(op("replace", "title", "x"))),
		bulkOp("DELETE", "/Users/"+gone, "", nil),
		bulkOp("POST", "/Users", "bad", map[string]any{"schemas": []string{userSchema}, "userName": 7}),
		bulkOp("PATCH", "/Users/bulkId:ok", "", patchBody(op("replace", "title", "Later")))))
	wantStatuses(t, res, "201", "409", "404", "204", "400", "200")
	wantOpError(t, res[1], "409", "uniqueness")
	if res[1].Location != "" {
		t.Errorf("a failed POST has a location: %+v", res[1])
	}
	if res[5].Location != res[0].Location {
		t.Errorf("PATCH of bulkId:ok at %q, want %q", res[5].Location, res[0].Location)
	}
	if g := e.Do("GET", "/Users/"+idOf(res[0].Location), nil); g.Body["title"] != "Later" {
		t.Errorf("the PATCH through bulkId:ok was not applied: %v", g.Body)
	}
}

// A bulkId that no POST defines fails its operation (400 invalidValue, naming
// it); one whose POST failed fails its referrers with 409 invalidValue.
func TestBulkUnresolvedReferences(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Users", newUser("bulk-ref-dup"))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Groups", "g1", group("bulk-ref-nothing", "bulkId:nope")),
		bulkOp("PATCH", "/Users/bulkId:nope", "", patchBody(op("replace", "title", "x"))),
		bulkOp("POST", "/Users", "u", newUser("bulk-ref-dup")),
		bulkOp("POST", "/Groups", "g2", group("bulk-ref-failed", "bulkId:u")),
		bulkOp("POST", "/Groups", "g3", group("bulk-ref-fine")),
		bulkOp("POST", "/Groups", "g4", group("bulk-ref-refused", "bulkId:m")), // before the malformed POST it names
		bulkOp("POST", "/Users", "m", nil)))
	wantOpError(t, res[0], "400", "invalidValue", "bulkId:nope", "names no POST")
	wantOpError(t, res[1], "400", "invalidValue", "bulkId:nope")
	wantOpError(t, res[2], "409", "uniqueness")
	wantOpError(t, res[3], "409", "invalidValue", "bulkId:u", "failed")
	if res[4].Status != "201" {
		t.Errorf("an independent operation failed: %+v", res[4])
	}
	wantOpError(t, res[5], "409", "invalidValue", "bulkId:m", "refused (status 400)")
	wantOpError(t, res[6], "400", "invalidSyntax", "data is required")
	if e.groupEntry("bulk-ref-nothing") != nil || e.groupEntry("bulk-ref-failed") != nil || e.groupEntry("bulk-ref-refused") != nil {
		t.Error("a group with an unresolved reference was created")
	}
}

// Malformed operations fail alone, each with a precise 400; a malformed
// request fails whole.
func TestBulkMalformed(t *testing.T) {
	e := newEnv(t)
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("GET", "/Users", "", nil),
		bulkOp("POST", "/Widgets", "w", newUser("bulk-w")),
		bulkOp("POST", "/Users/abc", "p", newUser("bulk-p")),
		bulkOp("DELETE", "/Users", "", nil),
		bulkOp("POST", "/Users", "", newUser("bulk-nobulkid")),
		bulkOp("PUT", "/Users/abc", "", nil),
		map[string]any{"method": 5, "path": "/Users"},
		bulkOp("POST", "/Users/.search", "s", map[string]any{}),
		bulkOp("DELETE", "/Users/..", "", nil),
		bulkOp("POST", "/Users", "twice", newUser("bulk-twice-1")),
		bulkOp("POST", "/Users", "twice", newUser("bulk-twice-2")),
		bulkOp("POST", "/Users", "fine", newUser("bulk-malformed-fine"))))
	wantOpError(t, res[0], "400", "invalidValue", `"GET"`, "POST, PUT, PATCH or DELETE")
	wantOpError(t, res[1], "400", "invalidValue", "/Widgets", "/Users")
	wantOpError(t, res[2], "400", "invalidValue", "POST takes its resource type endpoint")
	wantOpError(t, res[3], "400", "invalidValue", "DELETE takes one")
	wantOpError(t, res[4], "400", "invalidValue", "bulkId is required")
	wantOpError(t, res[5], "400", "invalidSyntax", "data is required")
	wantOpError(t, res[6], "400", "invalidSyntax", "method must be a string")
	wantOpError(t, res[7], "400", "invalidValue", "/Users/.search")
	wantOpError(t, res[8], "400", "invalidValue", "/Users/..")
	wantStatuses(t, res[9:], "201", "400", "201")
	wantOpError(t, res[10], "400", "invalidValue", "not unique", "operation 10")

	for _, c := range []struct {
		body     any
		status   int
		scimType string
		mention  string
	}{
		{`{"Operations": [`, 400, "invalidSyntax", "JSON"},
		{map[string]any{"schemas": []string{bulkRequest}}, 400, "invalidValue", "Operations"},
		{map[string]any{"schemas": []string{bulkRequest}, "Operations": []any{}}, 400, "invalidValue", "Operations"},
		{map[string]any{"schemas": []string{userSchema}, "Operations": []any{bulkOp("DELETE", "/Users/x", "", nil)}}, 400, "invalidValue", bulkRequest},
		{map[string]any{"failOnErrors": 0, "Operations": []any{bulkOp("DELETE", "/Users/x", "", nil)}}, 400, "invalidValue", "failOnErrors"},
		{map[string]any{"failOnErrors": "1", "Operations": []any{bulkOp("DELETE", "/Users/x", "", nil)}}, 400, "invalidValue", `not "1"`},
		{map[string]any{"failOnErrors": 1.5, "Operations": []any{bulkOp("DELETE", "/Users/x", "", nil)}}, 400, "invalidValue", "not 1.5"},
	} {
		wantError(t, e.Do("POST", "/Bulk", c.body), c.status, c.scimType, c.mention)
	}
}

// A path whose bulkId reference is empty ("/Users/bulkId:") names neither a
// resource nor a POST of the request: 400 invalidValue naming the operation,
// whatever the method, and nothing is sent to the directory.
func TestBulkEmptyBulkIdReference(t *testing.T) {
	e := newEnv(t)
	patch := patchBody(op("replace", "title", "T"))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Users", "u", newUser("bulk-emptyref")),
		bulkOp("DELETE", "/Users/bulkId:", "", nil),
		bulkOp("PATCH", "/Groups/bulkId:", "", patch),
		bulkOp("PUT", "/Users/bulkId:", "", newUser("bulk-emptyref"))))
	wantStatuses(t, res, "201", "400", "400", "400")
	wantOpError(t, res[1], "400", "invalidValue", "operation 2 (DELETE /Users/bulkId:)", "names no bulkId", "/Users/bulkId:{bulkId}")
	wantOpError(t, res[2], "400", "invalidValue", "operation 3 (PATCH /Groups/bulkId:)", "/Groups/bulkId:{bulkId}")
	wantOpError(t, res[3], "400", "invalidValue", "operation 4 (PUT /Users/bulkId:)")
	if u := e.entry("(uid=bulk-emptyref)"); u == nil || u.GetAttributeValue("title") != "" {
		t.Errorf("the user created by operation 1 changed: %v", u)
	}
}

// A result's location is a URI (RFC 7644 §3.7.3) even when the operation's
// path names an id with characters a path segment can't hold as they are: the
// id is percent-encoded, as in meta.location (mapping.Location).
func TestBulkLocationEscaped(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", newUser("bulk-escaped"))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("DELETE", "/Users/a b%zz", "", nil),
		bulkOp("PATCH", "/Users/"+id, "", patchBody(op("replace", "title", "T")))))
	wantStatuses(t, res, "404", "200")
	for i, c := range []struct{ id, escaped string }{{"a b%zz", "a%20b%25zz"}, {id, id}} {
		loc := res[i].Location
		u, err := url.Parse(loc)
		if err != nil || !strings.HasSuffix(loc, "/scim/v2/Users/"+c.escaped) || u.Path != "/scim/v2/Users/"+c.id {
			t.Errorf("operation %d: location %q (%v), want a URI ending /scim/v2/Users/%s", i+1, loc, err, c.escaped)
		}
	}
}

// RFC 7644 §3.7.4: maxOperations and maxPayloadSize are advertised and
// enforced (413 tooLarge, naming the limit), before anything runs.
func TestBulkLimits(t *testing.T) {
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), BulkMaxOperations: 3, BulkMaxPayloadSize: 2048})
	spc := e.Do("GET", "/ServiceProviderConfig", nil).Body
	if b := spc["bulk"].(map[string]any); b["supported"] != true || b["maxOperations"] != 3.0 || b["maxPayloadSize"] != 2048.0 {
		t.Errorf("bulk %v, want supported with maxOperations 3 and maxPayloadSize 2048", b)
	}
	var four []map[string]any
	for i := range 4 {
		four = append(four, bulkOp("POST", "/Users", fmt.Sprint(i), newUser(fmt.Sprintf("bulk-limit-%d", i))))
	}
	wantError(t, e.Do("POST", "/Bulk", bulkBody(0, four...)), 413, "tooLarge", "4 operations", "maxOperations (3")
	big := newUser("bulk-limit-big")
	big["title"] = strings.Repeat("x", 3000)
	wantError(t, e.Do("POST", "/Bulk", bulkBody(0, bulkOp("POST", "/Users", "big", big))), 413, "tooLarge", "maxPayloadSize (2048 bytes")
	if n := len(e.searchPeople("(uid=bulk-limit-*)")); n != 0 {
		t.Errorf("%d operations of refused requests ran", n)
	}
	// The payload limit is the Bulk request's own: a single request keeps MaxBodyBytes.
	sendBulk(t, e.Client, bulkBody(0, four[:3]...))
	if n := len(e.searchPeople("(uid=bulk-limit-*)")); n != 3 {
		t.Errorf("%d users created, want 3", n)
	}
}

// An operation's data is the body of the single request it stands for, so it
// is held to MaxBodyBytes as that request would be (413), even when the Bulk
// request's own limit, maxPayloadSize, is larger.
func TestBulkOperationBodyLimit(t *testing.T) {
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), MaxBodyBytes: 1024, BulkMaxPayloadSize: 1 << 20})
	big := newUser("bulk-body-big")
	big["title"] = strings.Repeat("x", 2000)
	wantError(t, e.Do("POST", "/Users", big), 413, "", "1024 bytes")
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Users", "big", big),
		bulkOp("POST", "/Users", "small", newUser("bulk-body-small"))))
	wantStatuses(t, res, "413", "201")
	wantOpError(t, res[0], "413", "", "1024 bytes")
	if e.entry("(uid=bulk-body-big)") != nil {
		t.Error("an operation larger than MaxBodyBytes was applied")
	}
}

// beforeFirstBulkBatch runs f once, before the first batch of the next Bulk
// request runs: between its planning and its first operation.
func beforeFirstBulkBatch(t *testing.T, f func()) {
	var once sync.Once
	gateway.SetBulkBatchHook(func(int, func()) { once.Do(f) })
	t.Cleanup(func() { gateway.SetBulkBatchHook(nil) })
}

// The Bulk request authenticates once: failed authentications from its
// client address while it runs (another client behind the same address)
// block the next requests from it, not the operations of a Bulk request
// already let in.
func TestBulkOperationsNotRateLimited(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{token}, AuthFailureBurst: 1, AuthFailureInterval: time.Hour})
	beforeFirstBulkBatch(t, func() {
		for range 3 {
			e.call("GET", "/Users", "Bearer wrong-token-0123456789", nil)
		}
	})
	r := e.call("POST", "/Bulk", "Bearer "+token, bulkBody(0,
		bulkOp("POST", "/Users", "a", newUser("bulk-limited-a")),
		bulkOp("DELETE", "/Users/bulkId:a", "", nil)))
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	for i, o := range r.Body["Operations"].([]any) {
		if s := str(o.(map[string]any)["status"]); s != []string{"201", "204"}[i] {
			t.Errorf("operation %d: %v, want %s", i+1, o, []string{"201", "204"}[i])
		}
	}
	if r := e.call("GET", "/Users", "Bearer "+token, nil); r.Status != 429 {
		t.Errorf("a new request from the address: %d, want 429", r.Status)
	}
}

// A mapping reload while a Bulk request runs: its operations still reach the
// routes of the mapping it started with, and are authorized by that mapping's
// resource types too. A credential limited to User must not write Groups
// because the new mapping serves them at another endpoint (the old /Groups
// then matched no resource type of the new mapping, and passed as discovery).
func TestBulkScopesAcrossMappingReload(t *testing.T) {
	creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
		{Name: "users-only", Token: "users-only-token-0123456789", Scope: gateway.Scope{Scope: "read-write", ResourceTypes: []string{"User"}}},
	}}
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Credentials: creds})
	renamed := editedExampleMapping(t, [2]string{"    endpoint: /Groups\n", "    endpoint: /Teams\n"})
	beforeFirstBulkBatch(t, func() { e.gw.SetMapping(renamed) })
	usersOnly := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: "users-only-token-0123456789"}
	res := sendBulk(t, usersOnly, bulkBody(0,
		bulkOp("POST", "/Users", "u", newUser("bulk-reload-user")),
		bulkOp("POST", "/Groups", "g", group("bulk-reload-group"))))
	wantStatuses(t, res, "201", "403")
	wantOpError(t, res[1], "403", "", "may not access Group")
	if e.groupEntry("bulk-reload-group") != nil {
		t.Error("a credential limited to User created a group")
	}
}

// Scopes apply per operation, as to the single request: a read-only
// credential's writes are 403, a credential limited to Users can't write
// Groups through Bulk either.
func TestBulkScopes(t *testing.T) {
	creds := &gateway.Credentials{Tokens: []gateway.TokenCredential{
		{Name: "auditor", Token: "read-only-token-0123456789", Scope: gateway.Scope{Scope: "read-only"}},
		{Name: "users-only", Token: "users-only-token-0123456789", Scope: gateway.Scope{Scope: "read-write", ResourceTypes: []string{"User"}}},
	}}
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), Credentials: creds})
	ro := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: "read-only-token-0123456789"}
	res := sendBulk(t, ro, bulkBody(0,
		bulkOp("POST", "/Users", "u", newUser("bulk-scope-ro")),
		bulkOp("POST", "/Groups", "g", group("bulk-scope-ro"))))
	wantOpError(t, res[0], "403", "", "read-only")
	wantOpError(t, res[1], "403", "", "read-only")
	usersOnly := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: "users-only-token-0123456789"}
	res = sendBulk(t, usersOnly, bulkBody(0,
		bulkOp("POST", "/Users", "u", newUser("bulk-scope-users")),
		bulkOp("POST", "/Groups", "g", group("bulk-scope-users", "bulkId:u"))))
	wantStatuses(t, res, "201", "403")
	wantOpError(t, res[1], "403", "", "may not access Group")
	if e.entry("(uid=bulk-scope-ro)") != nil || e.groupEntry("bulk-scope-ro") != nil || e.groupEntry("bulk-scope-users") != nil {
		t.Error("a refused operation was applied")
	}
	// Without a valid credential, the Bulk request itself is refused.
	bad := &scimtest.Client{T: t, BaseURL: e.BaseURL, Token: "wrong"}
	wantError(t, bad.Do("POST", "/Bulk", bulkBody(0, bulkOp("DELETE", "/Users/x", "", nil))), 401, "", "invalid bearer token")
}

// An operation's version is its If-Match (RFC 7644 §3.7): a stale one is 412
// for that operation only.
func TestBulkVersionPrecondition(t *testing.T) {
	e := newEnv(t)
	r := e.Do("POST", "/Users", newUser("bulk-version"))
	id, v1 := str(r.Body["id"]), r.Header.Get("ETag")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "changed")))
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("PATCH", "/Users/"+id, "", patchBody(op("replace", "title", "stale")), v1),
		bulkOp("DELETE", "/Users/"+id, "", nil, v1),
		bulkOp("PATCH", "/Users/"+id, "", patchBody(op("replace", "title", "bad")), "not-an-etag"),
		bulkOp("PATCH", "/Users/"+id, "", patchBody(op("replace", "title", "empty")), "")))
	wantOpError(t, res[0], "412", "")
	wantOpError(t, res[1], "412", "")
	if res[2].Status != "400" {
		t.Errorf("a malformed version: %+v, want 400", res[2])
	}
	// An empty version is an empty If-Match, refused as the single request
	// refuses it: never an unconditional write.
	wantOpError(t, res[3], "400", "invalidValue", "If-Match")
	if g := e.Do("GET", "/Users/"+id, nil); g.Status != 200 || g.Body["title"] != "changed" {
		t.Errorf("a refused operation was applied: %d %v", g.Status, g.Body)
	}
	res = sendBulk(t, e.Client, bulkBody(0, bulkOp("PATCH", "/Users/"+id, "", patchBody(op("replace", "title", "fresh")), e.Do("GET", "/Users/"+id, nil).Header.Get("ETag"))))
	wantStatuses(t, res, "200")
}

// The operations are written to the audit log and counted as they would be
// sent alone; the Bulk request is one HTTP request.
func TestBulkAuditAndMetrics(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{token}, AuthFailureBurst: -1})
	auth := "Bearer " + token
	r := e.call("POST", "/Bulk", auth, bulkBody(0,
		bulkOp("POST", "/Users", "u", newUser("bulk-audit")),
		bulkOp("PATCH", "/Users/bulkId:u", "", patchBody(op("replace", "title", "x"))),
		bulkOp("DELETE", "/Users/bulkId:u", "", nil)), "X-Request-Id", "bulk-audit-req")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	audit := e.audit.String()
	for _, op := range []string{`"operation":"create"`, `"operation":"patch"`, `"operation":"delete"`} {
		if !strings.Contains(audit, op) {
			t.Errorf("audit log lacks %s: %s", op, audit)
		}
	}
	if n := strings.Count(audit, `"request_id":"bulk-audit-req"`); n != 3 {
		t.Errorf("%d audit events with the Bulk request's id, want 3: %s", n, audit)
	}
	m := e.call("GET", "/metrics", "", nil).Raw
	for _, want := range []string{
		`scim2ldap_bulk_operations_total{client="token-1",method="POST",route="/scim/v2/Users",status="201"} 1`,
		`scim2ldap_bulk_operations_total{client="token-1",method="PATCH",route="/scim/v2/Users/{id}",status="200"} 1`,
		`scim2ldap_bulk_operations_total{client="token-1",method="DELETE",route="/scim/v2/Users/{id}",status="204"} 1`,
		`scim2ldap_http_requests_total{client="token-1",method="POST",route="/scim/v2/Bulk",status="200"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, `scim2ldap_http_requests_total{client="token-1",method="POST",route="/scim/v2/Users"`) {
		t.Error("a Bulk operation was counted as an HTTP request")
	}
}

// 1,000 creates in one request: all 201, all in the directory.
func TestBulkThousandOperations(t *testing.T) {
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), RequestTimeout: 5 * time.Minute})
	var ops []map[string]any
	for i := range 1000 {
		ops = append(ops, bulkOp("POST", "/Users", fmt.Sprint(i), newUser(fmt.Sprintf("bulk-k-%04d", i))))
	}
	res := sendBulk(t, e.Client, bulkBody(0, ops...))
	if len(res) != 1000 {
		t.Fatalf("%d results, want 1000", len(res))
	}
	ids := map[string]bool{}
	for i, r := range res {
		if r.Status != "201" || r.BulkID != fmt.Sprint(i) {
			t.Fatalf("result %d: %+v", i, r)
		}
		ids[idOf(r.Location)] = true
	}
	if len(ids) != 1000 {
		t.Errorf("%d distinct ids, want 1000", len(ids))
	}
	if n := len(e.searchPeople("(uid=bulk-k-*)")); n != 1000 {
		t.Errorf("%d entries in the directory, want 1000", n)
	}
}

// searchPeople reads the entries under ou=people that match filter.
func (e *env) searchPeople(filter string) []*ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		filter, []string{"1.1"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Entries
}

// Past the request's deadline, operations are not started: each is listed as
// 503 saying so, and nothing is written.
func TestBulkDeadline(t *testing.T) {
	e := newEnvFrom(t, gateway.Config{Mapping: exampleMapping(t), Store: openStore(t), RequestTimeout: time.Nanosecond})
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Users", "a", newUser("bulk-late-a")),
		bulkOp("POST", "/Users", "b", newUser("bulk-late-b"))))
	wantStatuses(t, res, "503", "503")
	wantOpError(t, res[0], "503", "", "not run", "deadline")
	if n := len(e.searchPeople("(uid=bulk-late-*)")); n != 0 {
		t.Errorf("%d operations ran after the deadline", n)
	}
	if !strings.Contains(e.logBuf.String(), "not_run") {
		t.Errorf("the operations not run are not logged: %s", e.logBuf.String())
	}
}

// The deadline passing between a cycle's creates and their completion: the
// groups exist without their references to each other, so their results say
// so (503, with their location and what is missing), never 201.
func TestBulkDeadlineInsideCycle(t *testing.T) {
	e := newEnv(t)
	gateway.SetBulkBatchHook(func(completions int, expire func()) {
		if completions > 0 {
			expire()
		}
	})
	t.Cleanup(func() { gateway.SetBulkBatchHook(nil) })
	res := sendBulk(t, e.Client, bulkBody(0,
		bulkOp("POST", "/Groups", "a", group("bulk-late-ring-a", "bulkId:b")),
		bulkOp("POST", "/Groups", "b", group("bulk-late-ring-b", "bulkId:a"))))
	wantStatuses(t, res, "503", "503")
	wantOpError(t, res[0], "503", "", "bulkId:b", "deadline")
	wantOpError(t, res[1], "503", "", "bulkId:a", "deadline")
	for _, r := range res {
		if r.Location == "" || r.Version != "" {
			t.Errorf("want the created group's location and no version: %+v", r)
		}
		if g := e.Do("GET", "/Groups/"+idOf(r.Location), nil); g.Status != 200 || len(memberIDs(g.Body)) != 0 {
			t.Errorf("%s: %d, members %v; want it created without members", r.Location, g.Status, memberIDs(g.Body))
		}
	}
}

// Whatever the order of a request's operations and however their bulkIds
// reference each other (forward, backward, in cycles: managers and groups
// naming each other), every reference ends up naming the id of the resource
// its bulkId created (RFC 7644 §3.7.1–3.7.2).
func TestBulkReferencesAnyOrder(t *testing.T) {
	e := newEnv(t)
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		nu := rapid.IntRange(1, 4).Draw(rt, "users")
		ng := rapid.IntRange(1, 3).Draw(rt, "groups")
		type plan struct {
			bulkID  string
			manager string   // users: the bulkId of the manager, or ""
			members []string // groups: bulkIds of members (users and groups)
		}
		var plans []plan
		var all []string
		for i := range nu {
			all = append(all, fmt.Sprint("u", i))
		}
		for i := range ng {
			all = append(all, fmt.Sprint("g", i))
		}
		for _, id := range all {
			p := plan{bulkID: id}
			others := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == id })
			if id[0] == 'u' {
				var users []string
				for _, o := range others {
					if o[0] == 'u' {
						users = append(users, o)
					}
				}
				if len(users) > 0 && rapid.Bool().Draw(rt, "has manager") {
					p.manager = rapid.SampledFrom(users).Draw(rt, "manager")
				}
			} else if len(others) > 0 {
				for _, o := range others {
					if rapid.Bool().Draw(rt, "member "+o) {
						p.members = append(p.members, o)
					}
				}
			}
			plans = append(plans, p)
		}
		order := rapid.Permutation(plans).Draw(rt, "order")
		var ops []map[string]any
		for _, p := range order {
			name := fmt.Sprintf("bulk-any-%d-%s", run, p.bulkID)
			if p.bulkID[0] == 'u' {
				u := newUser(name)
				if p.manager != "" {
					u["schemas"] = []string{userSchema, entSchema}
					u[entSchema] = map[string]any{"manager": map[string]any{"value": "bulkId:" + p.manager}}
				}
				ops = append(ops, bulkOp("POST", "/Users", p.bulkID, u))
				continue
			}
			var members []string
			for _, m := range p.members {
				members = append(members, "bulkId:"+m)
			}
			ops = append(ops, bulkOp("POST", "/Groups", p.bulkID, group(name, members...)))
		}
		res := sendBulk(t, e.Client, bulkBody(0, ops...))
		ids := map[string]string{}
		for _, r := range res {
			if r.Status != "201" {
				rt.Fatalf("%+v", r)
			}
			ids[r.BulkID] = idOf(r.Location)
		}
		for _, p := range order {
			if p.bulkID[0] == 'u' {
				got := e.Do("GET", "/Users/"+ids[p.bulkID], nil)
				if m := str(get(got.Body, entSchema, "manager", "value")); m != ids[p.manager] {
					rt.Fatalf("%s's manager %q, want %q (%s)", p.bulkID, m, ids[p.manager], p.manager)
				}
				continue
			}
			var want []string
			for _, m := range p.members {
				want = append(want, ids[m])
			}
			got := memberIDs(e.Do("GET", "/Groups/"+ids[p.bulkID], nil).Body)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				rt.Fatalf("%s's members %v, want %v", p.bulkID, got, want)
			}
		}
	})
}
