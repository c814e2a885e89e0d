package gateway_test

// PATCH, POST and PUT against the resource type's schemas (RFC 7644 §3.5.2,
// §3.3, §3.5.1): what no schema defines, what is read-only, and what the
// mapping does not store.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// auditedEnv serves m like newEnv, with the audit events in their own buffer.
func auditedEnv(t *testing.T, m *mapping.Mapping) (*env, *syncBuf) {
	audit := &syncBuf{}
	return newEnvFrom(t, gateway.Config{Mapping: m, Store: openStore(t), Audit: audit}), audit
}

// exampleMappingWith loads mappings.example.yaml with top-level lines prepended.
func exampleMappingWith(t *testing.T, top string) *mapping.Mapping {
	return editedExampleMapping(t, [2]string{"", top + "\n"})
}

// auditEvents returns the audit events whose operation is op, in order.
func auditEvents(t *testing.T, audit *syncBuf, op string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(audit.String()), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		if ev["operation"] == op {
			out = append(out, ev)
		}
	}
	return out
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// sameEntry fails unless two reads of an entry hold the same attributes and
// values, entryCSN included (the directory's version: any write changes it).
func sameEntry(t *testing.T, before, after *ldap.Entry) {
	t.Helper()
	if before == nil || after == nil {
		t.Fatalf("entry missing: before %v, after %v", before, after)
	}
	dump := func(e *ldap.Entry) map[string][]string {
		out := map[string][]string{"dn": {e.DN}}
		for _, a := range e.Attributes {
			out[strings.ToLower(a.Name)] = a.Values
		}
		return out
	}
	if b, a := dump(before), dump(after); !reflect.DeepEqual(b, a) {
		t.Errorf("the entry changed:\nbefore %v\nafter  %v", b, a)
	}
	if before.GetAttributeValue("entryCSN") == "" {
		t.Error("entryCSN was not read")
	}
}

// A PATCH whose operation names what no schema of the resource type defines, or
// changes a read-only attribute, is refused whole (RFC 7644 §3.5.2: the request
// is atomic); the valid operation sent with it is not written either.
func TestPatchRefusedOperationLeavesEntryUnchanged(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("atomic-patch", map[string]any{"title": "Before"}))
	member := e.MustCreate("/Users", user("atomic-member", nil))
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "Atomic Group", "members": []any{map[string]any{"value": member}}})
	valid := op("replace", "title", "After")
	cases := []struct {
		name     string
		bad      map[string]any
		scimType string
		mention  string
	}{
		{"unknown attribute", op("replace", "fooBarBaz", "x"), "invalidPath", "fooBarBaz"},
		{"unknown attribute in any case of op", op("Add", "fooBarBaz", "x"), "invalidPath", "fooBarBaz"},
		{"unknown sub-attribute", op("replace", "name.noSuchSub", "x"), "invalidPath", "noSuchSub"},
		{"unknown sub-attribute after a value filter", op("replace", `emails[type eq "work"].noSuchSub`, "x"), "invalidPath", "noSuchSub"},
		{"unknown sub-attribute in a value", op("replace", "name", map[string]any{"givenName": "G", "noSuchSub": "x"}), "invalidPath", "noSuchSub"},
		{"undeclared extension URN", op("replace", "urn:example:nope:2.0:User:x", "x"), "invalidPath", "urn:example:nope:2.0:User"},
		{"unknown attribute of a declared extension", op("replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize", "44"), "invalidPath", "shoeSize"},
		{"unknown key in a no-path value", op("replace", "", map[string]any{"displayName": "D", "fooBarBaz": "x"}), "invalidPath", "fooBarBaz"},
		{"undeclared extension in a no-path value", op("add", "", map[string]any{"urn:example:nope:2.0:User": map[string]any{"x": "y"}}), "invalidPath", "urn:example:nope:2.0:User"},
		{"remove of an unknown attribute", op("remove", "fooBarBaz", nil), "invalidPath", "fooBarBaz"},
		{"id", op("replace", "id", "7d3bcbf1-0000-0000-0000-000000000000"), "mutability", "id"},
		{"meta", op("replace", "meta", map[string]any{"resourceType": "Group"}), "mutability", "meta"},
		{"meta sub-attribute", op("replace", "meta.lastModified", "2020-01-01T00:00:00Z"), "mutability", "meta"},
		{"groups", op("add", "groups", []any{map[string]any{"value": gid}}), "mutability", "groups"},
		{"remove groups", op("remove", "groups", nil), "mutability", "groups"},
		{"read-only sub-attribute", op("replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "Boss"), "mutability", "displayName"},
		{"a different id in a no-path value", op("replace", "", map[string]any{"id": "7d3bcbf1-0000-0000-0000-000000000000", "displayName": "D"}), "mutability", "id"},
		{"groups in a no-path value", op("replace", "", map[string]any{"groups": []any{map[string]any{"value": gid}}}), "mutability", "groups"},
		{"schemas", op("add", "schemas", []any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}), "mutability", "schemas"},
	}
	for _, c := range cases {
		for _, order := range []string{"bad first", "bad last"} {
			t.Run(c.name+"/"+order, func(t *testing.T) {
				before := e.entry("(entryUUID=" + id + ")")
				ops := []map[string]any{c.bad, valid}
				if order == "bad last" {
					ops = []map[string]any{valid, c.bad}
				}
				wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(ops...)), 400, c.scimType, c.mention)
				sameEntry(t, before, e.entry("(entryUUID="+id+")"))
			})
		}
	}
	// A member's read-only display, next to a valid rename of the group.
	readGroup := func() *ldap.Entry {
		res, err := e.ldap.Search(ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
			"(entryUUID="+gid+")", []string{"*", "entryCSN"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("group: %v %v", err, res)
		}
		return res.Entries[0]
	}
	before := readGroup()
	r := e.Do("PATCH", "/Groups/"+gid, patchBody(op("replace", "displayName", "Atomic Group 2"),
		op("replace", fmt.Sprintf(`members[value eq "%s"].display`, member), "Someone")))
	wantError(t, r, 400, "mutability", "display")
	sameEntry(t, before, readGroup())
	// The same id in a no-path value is what Okta echoes: ignored.
	e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"id": id, "schemas": []any{userSchema}, "meta": map[string]any{"resourceType": "User"}, "title": "Echoed"})))
	if v := e.entry("(entryUUID=" + id + ")").GetAttributeValue("title"); v != "Echoed" {
		t.Errorf("title = %q after a no-path replace echoing id, schemas and meta", v)
	}
}

// Attributes RFC 7643 defines but the mapping doesn't store (Entra ID's default
// attribute mapping sends addresses, a fax number, roles…) are ignored by
// default, and the audit event of the write names them.
func TestPatchIgnoresUnmappedAttributesAndAuditsThem(t *testing.T) {
	e, audit := auditedEnv(t, exampleMapping(t))
	id := e.MustCreate("/Users", user("entra-unmapped", nil))
	r := e.MustPatch("/Users/"+id, patchBody(
		op("Add", "addresses", []any{map[string]any{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "primary": true}}),
		op("Replace", `phoneNumbers[type eq "fax"].value`, "+1 555 0199"),
		op("Replace", "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "Entra Name"),
		op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:employeeNumber", "42"),
		op("Add", "roles", []any{map[string]any{"value": "admin", "primary": false}}),
		op("Replace", "nickName", ""), // clearing what is not stored asks for what already holds
	))
	if r.Body["displayName"] != "Entra Name" || r.Body["addresses"] != nil || r.Body["phoneNumbers"] != nil {
		t.Errorf("response: %s", r.Raw)
	}
	ent := e.entry("(entryUUID=" + id + ")")
	if ent.GetAttributeValue("displayName") != "Entra Name" || ent.GetAttributeValue("employeeNumber") != "42" {
		t.Errorf("valid operations not written: %v", ent.Attributes)
	}
	evs := auditEvents(t, audit, "patch")
	if len(evs) != 1 {
		t.Fatalf("%d patch events:\n%s", len(evs), audit.String())
	}
	want := []string{"addresses", `phoneNumbers[type eq "fax"].value`, "roles"}
	if got := strs(evs[0]["ignored"]); !slices.Equal(got, want) {
		t.Errorf("ignored %q, want %q", got, want)
	}
	if got := strs(evs[0]["attributes"]); !slices.Contains(got, "displayName") || !slices.Contains(got, "employeeNumber") {
		t.Errorf("attributes %q", got)
	}
	// Nothing but ignored attributes: nothing written, and still an event that
	// says what was ignored (the client believes it changed the address).
	csn := ent.GetAttributeValue("entryCSN")
	e.MustPatch("/Users/"+id, patchBody(op("replace", "", map[string]any{"addresses": []any{map[string]any{"formatted": "2 Main St"}}})))
	if got := e.entry("(entryUUID=" + id + ")").GetAttributeValue("entryCSN"); got != csn {
		t.Errorf("an ignored-only PATCH wrote the entry (entryCSN %s → %s)", csn, got)
	}
	evs = auditEvents(t, audit, "patch")
	if len(evs) != 2 || !slices.Equal(strs(evs[1]["ignored"]), []string{"addresses"}) || len(strs(evs[1]["attributes"])) != 0 {
		t.Errorf("ignored-only PATCH events:\n%s", audit.String())
	}
}

// POST and PUT stay lenient (RFC 7644 §3.3: the server is free to ignore
// content), but the audit event names what was not stored: attributes the
// mapping doesn't map, unknown ones, and multi-valued elements no slot takes.
func TestCreateAndReplaceAuditWhatTheyIgnore(t *testing.T) {
	e, audit := auditedEnv(t, exampleMapping(t))
	body := user("lenient-post", map[string]any{
		"addresses":    []any{map[string]any{"type": "work", "streetAddress": "1 Main St"}},
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}, map[string]any{"type": "fax", "value": "+1 555 0199"}},
		"emails":       []any{map[string]any{"type": "work", "value": "lenient@example.org", "primary": true}},
		"fooBarBaz":    "x",
		"roles":        []any{}, // empty: nothing to store, nothing lost
		"id":           "ignored", "meta": map[string]any{"resourceType": "User"}, "groups": []any{},
	})
	id := e.MustCreate("/Users", body)
	want := []string{"addresses", "fooBarBaz", `phoneNumbers[type eq "fax"]`}
	if evs := auditEvents(t, audit, "create"); len(evs) != 1 || !slices.Equal(strs(evs[0]["ignored"]), want) {
		t.Errorf("create events (want ignored %q):\n%s", want, audit.String())
	}
	body["nickName"] = "Lenny"
	if p := e.Do("PUT", "/Users/"+id, body); p.Status != 200 {
		t.Fatalf("PUT: %d %s", p.Status, p.Raw)
	}
	want = []string{"addresses", "fooBarBaz", "nickName", `phoneNumbers[type eq "fax"]`}
	if evs := auditEvents(t, audit, "replace"); len(evs) != 1 || !slices.Equal(strs(evs[0]["ignored"]), want) {
		t.Errorf("replace events (want ignored %q):\n%s", want, audit.String())
	}
	// Nothing ignored: no "ignored" field.
	e.MustCreate("/Users", user("plain-post", nil))
	if evs := auditEvents(t, audit, "create"); len(evs) != 2 || evs[1]["ignored"] != nil {
		t.Errorf("a create that ignores nothing: %v", evs)
	}
}

// With `unmappedAttributes: refuse` the mapping's gaps are errors: PATCH answers
// 400 invalidPath, POST and PUT 400 invalidSyntax, and nothing is written.
func TestStrictMappingRefusesUnmappedAttributes(t *testing.T) {
	e, audit := auditedEnv(t, exampleMappingWith(t, "unmappedAttributes: refuse"))
	id := e.MustCreate("/Users", user("strict-user", map[string]any{"title": "Before", "roles": []any{}, "addresses": nil,
		"emails": []any{map[string]any{"type": "work", "value": "strict@example.org", "primary": true}}}))
	for _, c := range []struct {
		name    string
		op      map[string]any
		mention string
	}{
		{"addresses", op("add", "addresses", []any{map[string]any{"type": "work", "streetAddress": "1 Main St"}}), "addresses"},
		{"fax slot", op("replace", `phoneNumbers[type eq "fax"].value`, "+1 555 0199"), `phoneNumbers[type eq "fax"].value`},
		{"unmapped sub-attribute", op("replace", "name.middleName", "Q"), "name.middleName"},
		{"unmapped key in a no-path value", op("replace", "", map[string]any{"nickName": "N"}), "nickName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.entry("(entryUUID=" + id + ")")
			r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "After"), c.op))
			wantError(t, r, 400, "invalidPath", c.mention, "RFC 7643", "mapping")
			sameEntry(t, before, e.entry("(entryUUID="+id+")"))
		})
	}
	// Removing or clearing what is not stored is no loss: accepted.
	e.MustPatch("/Users/"+id, patchBody(op("remove", "addresses", nil), op("replace", "nickName", "")))

	n := e.countPeople()
	wantError(t, e.Do("POST", "/Users", user("strict-2", map[string]any{"addresses": []any{map[string]any{"formatted": "x"}}})), 400, "invalidSyntax", "addresses", "mapping")
	wantError(t, e.Do("POST", "/Users", user("strict-3", map[string]any{"fooBarBaz": "x"})), 400, "invalidSyntax", "fooBarBaz")
	if e.countPeople() != n {
		t.Error("a refused POST created an entry")
	}
	before := e.entry("(entryUUID=" + id + ")")
	wantError(t, e.Do("PUT", "/Users/"+id, user("strict-user", map[string]any{"title": "Put", "nickName": "N"})), 400, "invalidSyntax", "nickName")
	sameEntry(t, before, e.entry("(entryUUID="+id+")"))
	if strings.Contains(audit.String(), `"ignored"`) {
		t.Errorf("strict mode ignored something:\n%s", audit.String())
	}
}

// Entra ID's spellings name attributes the schemas define, so the checks above
// accept them: the legacy dotted extension path, the enterprise URN typo as a
// no-path key, URN-qualified core attributes, and operation names in any case.
func TestPatchEntraSpellingsStillResolve(t *testing.T) {
	e, audit := auditedEnv(t, exampleMapping(t))
	boss := e.MustCreate("/Users", user("entra-spelling-boss", nil))
	id := e.MustCreate("/Users", user("entra-spelling", nil))
	e.MustPatch("/Users/"+id, patchBody(
		op("Add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager", boss),
		op("Replace", "", map[string]any{
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"department": "Tours", "employeeNumber": "7"},
			"urn:ietf:params:scim:schemas:core:2.0:User:displayName":    "Spelled",
			"NAME.givenName": "Ada",
		}),
	))
	ent := e.entry("(entryUUID=" + id + ")")
	if strings.ToLower(ent.GetAttributeValue("manager")) != peopleDN("entra-spelling-boss") || ent.GetAttributeValue("departmentNumber") != "Tours" ||
		ent.GetAttributeValue("employeeNumber") != "7" || ent.GetAttributeValue("displayName") != "Spelled" || ent.GetAttributeValue("givenName") != "Ada" {
		t.Errorf("entry: %v", ent.Attributes)
	}
	if strings.Contains(audit.String(), `"ignored"`) {
		t.Errorf("something was ignored:\n%s", audit.String())
	}
	// The typo URN with an attribute the enterprise schema lacks is still unknown.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:shoeSize", "44"))), 400, "invalidPath", "shoeSize")
}
