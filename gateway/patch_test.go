package gateway_test

// PATCH (RFC 7644 §3.5.2) against slapd: malformed requests, value filters
// that match nothing, a whole extension as the path. The IdPs' own PATCH
// sequences are in idp_test.go (internal/scimtest); the pure parsing and
// application in patch_internal_test.go.

import (
	"strings"
	"testing"
)

func TestBadPatchRequestsAreRefusedWhole(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("patch-err", nil))
	for name, c := range map[string]struct {
		body           any
		status         int
		scimType, text string
	}{
		"no operations":      {patchBody(), 400, "invalidValue", "Operations"},
		"bad op":             {patchBody(op("move", "title", "x")), 400, "invalidValue", "move"},
		"bad path":           {patchBody(op("replace", `emails[type eq`, "x")), 400, "invalidPath", "path"},
		"remove no path":     {patchBody(op("remove", "", nil)), 400, "noTarget", "path"},
		"no value":           {patchBody(op("add", "title", nil)), 400, "invalidValue", "value"},
		"no-path non-object": {patchBody(op("replace", "", "x")), 400, "invalidValue", "object"},
		"wrong schema":       {map[string]any{"schemas": []string{"urn:x"}, "Operations": []any{op("replace", "title", "x")}}, 400, "invalidValue", "PatchOp"},
		"bad type":           {patchBody(op("replace", "active", "maybe")), 400, "invalidValue", "active"},
		"not JSON":           {"{", 400, "invalidSyntax", "JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Do("PATCH", "/Users/"+id, c.body)
			wantError(t, r, c.status, c.scimType)
			if !strings.Contains(r.Raw, c.text) {
				t.Errorf("detail should mention %q: %s", c.text, r.Raw)
			}
		})
	}
	wantError(t, e.Do("PATCH", "/Users/00000000-0000-0000-0000-000000000000", patchBody(op("replace", "title", "x"))), 404, "")
	// Several operations are all or nothing: the bad second one leaves the first unwritten.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T1"), op("replace", "active", 5))), 400, "invalidValue")
	if v := e.entry("(uid=patch-err)").GetAttributeValue("title"); v != "" {
		t.Errorf("half-written: title = %q", v)
	}
	// Stale If-Match → 412.
	g := e.Do("GET", "/Users/"+id, nil)
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "T2")))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T3")), "If-Match", g.Header.Get("ETag")), 412, "")
}

func TestPatchValueFiltersThatMatchNothing(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-nt", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "w@x.org"}}}))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", `emails[value eq "nomatch"].value`, "z@x.org"))), 400, "noTarget")
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", `emails[nosuch eq "work"].value`, "z@x.org"))), 400, "invalidPath")
	if m := e.entry("(uid=rv-nt)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "w@x.org" {
		t.Errorf("mail after rejected PATCHes: %q", m)
	}
	// The typed slot is still created when missing (Entra), and removing a
	// value nobody has is a no-op.
	e.MustPatch("/Users/"+id, patchBody(op("remove", `emails[type eq "work"]`, nil)))
	e.MustPatch("/Users/"+id, patchBody(op("add", `emails[type eq "work"].value`, "n@x.org")))
	e.MustPatch("/Users/"+id, patchBody(op("remove", `emails[value eq "gone@x.org"]`, nil)))
	if m := e.entry("(uid=rv-nt)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "n@x.org" {
		t.Errorf("mail: %q", m)
	}
}

func TestPatchOfTheWholeEnterpriseExtension(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("rv-ext", map[string]any{entSchema: map[string]any{"employeeNumber": "1", "department": "D"}}))
	e.MustPatch("/Users/"+id, patchBody(op("replace", entSchema, map[string]any{"employeeNumber": "99"})))
	got := e.entry("(uid=rv-ext)")
	if got.GetAttributeValue("employeeNumber") != "99" || got.GetAttributeValue("departmentNumber") != "D" {
		t.Errorf("replace with the extension URN as path: %v", got.Attributes)
	}
	e.MustPatch("/Users/"+id, patchBody(op("remove", entSchema, nil)))
	got = e.entry("(uid=rv-ext)")
	if got.GetAttributeValue("employeeNumber") != "" || got.GetAttributeValue("departmentNumber") != "" {
		t.Errorf("remove of the extension: %v", got.Attributes)
	}
	wantError(t, e.Do("POST", "/Users", map[string]any{"userName": "rv-ext2", entSchema: "str"}), 400, "invalidValue")
}
