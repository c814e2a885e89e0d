package gateway_test

import (
	"net/http"
	"testing"
)

// The LDAP round trips of the requests an IdP sends most, as the request log
// counts them (ldap_ops): no more than each operation needs.
//
//	create:               uniqueness search, values naming the new DN (stale       4
//	                      grants), add, read of the new entry (id, meta)
//	get by id:            one search                                                1
//	filter userName eq:   one search (the whole result fits the first page)         1
//	PATCH replace:        read (version for the assertion), modify, read back       3
//	PATCH deactivate:     the same                                                  3
//	PATCH add member:     read (placeholder only), id lookup, modify, the id's DN   4
//	                      again (a rename may have raced the write); 204
func TestLDAPOperationCounts(t *testing.T) {
	e := newEnv(t)
	ops := func(what string, want float64) {
		t.Helper()
		if got := e.lastLog()["ldap_ops"]; got != want {
			t.Errorf("%s: %v LDAP operations, want %v", what, got, want)
		}
	}
	c := e.Do("POST", "/Users", user("opcount1", map[string]any{"name": map[string]any{"givenName": "Op", "familyName": "Count"},
		"emails": []any{map[string]any{"type": "work", "value": "opcount1@example.org"}}}))
	if c.Status != 201 {
		t.Fatal(c.Raw)
	}
	ops("create", 4)
	id := c.Body["id"].(string)
	if r := e.Do("GET", "/Users/"+id, nil); r.Status != 200 {
		t.Fatal(r.Raw)
	}
	ops("get by id", 1)
	if r := e.Do("GET", "/Users"+filterQ(`userName eq "OPCOUNT1"`), nil); r.Body["totalResults"] != 1.0 {
		t.Fatal(r.Raw)
	}
	ops("filter userName eq", 1)
	if r := e.Do("GET", "/Users"+filterQ(`userName eq "opcount-nobody"`), nil); r.Body["totalResults"] != 0.0 {
		t.Fatal(r.Raw)
	}
	ops("filter userName eq, no match", 1)
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("Replace", "displayName", "Op C."), op("Replace", "title", "Counter")))
	if r.Status != 200 || r.Body["displayName"] != "Op C." {
		t.Fatal(r.Raw)
	}
	ops("PATCH replace", 3)
	r = e.Do("PATCH", "/Users/"+id, patchBody(op("Replace", "active", "False")))
	if r.Status != 200 || r.Body["active"] != false {
		t.Fatal(r.Raw)
	}
	ops("PATCH deactivate", 3)
	g := e.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "OpCount Group"})
	if g.Status != 201 {
		t.Fatal(g.Raw)
	}
	r = e.Do("PATCH", "/Groups/"+g.Body["id"].(string), patchBody(op("Add", "members", []any{map[string]any{"value": id}})))
	if r.Status != http.StatusNoContent {
		t.Fatalf("PATCH add member: %d %s, want 204", r.Status, r.Raw)
	}
	ops("PATCH add member", 4)
	if m := memberDNs(e.groupEntry("OpCount Group")); len(m) != 1 || m[0] != peopleDN("opcount1") {
		t.Errorf("members after PATCH: %q", m)
	}
	// With attributes=…, the client asks for the resource: 200 and a read-back.
	r = e.Do("PATCH", "/Groups/"+g.Body["id"].(string)+"?attributes=displayName", patchBody(op("Remove", "members", []any{map[string]any{"value": id}})))
	if r.Status != 200 || r.Body["displayName"] != "OpCount Group" {
		t.Errorf("PATCH remove member with attributes=: %d %s", r.Status, r.Raw)
	}
}
