package gateway

// PatchOp requests (RFC 7644 §3.5.2) without a directory or HTTP: parsePatch
// on request bodies, and patchDoc.apply on a resource's JSON form under
// mappings.example.yaml. The requests are the RFC's own examples where it has
// them (§3.5.2.1 add, §3.5.2.2 remove, §3.5.2.3 replace).

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// patchRequest decodes a PatchOp body as readBody does (numbers stay json.Number).
func patchRequest(t *testing.T, body string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return m
}

// rfcPatch is a PatchOp body with the RFC's schemas and the given operations (JSON).
func rfcPatch(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

func TestParsePatch(t *testing.T) {
	type parsed struct {
		op, path string // path as filterxlate.Path prints it, "" for none
		hasValue bool
	}
	for _, tt := range []struct {
		name, body string
		want       []parsed
	}{
		{"§3.5.2.1 add members", rfcPatch(`{"op":"add","path":"members","value":[{"display":"Babs Jensen",
			"$ref":"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646","value":"2819c223-7f76-453a-919d-413861904646"}]}`),
			[]parsed{{"add", "members", true}}},
		{"§3.5.2.1 add without a path", rfcPatch(`{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`),
			[]parsed{{"add", "", true}}},
		{"§3.5.2.2 remove a member by filter", rfcPatch(`{"op":"remove","path":"members[value eq \"2819c223-7f76-...413861904646\"]"}`),
			[]parsed{{"remove", `members[value eq "2819c223-7f76-...413861904646"]`, false}}},
		{"§3.5.2.2 remove all members", rfcPatch(`{"op":"remove","path":"members"}`), []parsed{{"remove", "members", false}}},
		{"§3.5.2.2 remove by a complex filter", rfcPatch(`{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}`),
			[]parsed{{"remove", `emails[type eq "work" and value ew "example.com"]`, false}}},
		{"§3.5.2.2 remove then add (replace all members)", rfcPatch(`{"op":"remove","path":"members[value eq \"2819c223...919d-413861904646\"]"},
			{"op":"add","path":"members","value":[{"display":"James Smith","$ref":"https://example.com/v2/Users/08e1d05d...473d93df9210","value":"08e1d05d...473d93df9210"}]}`),
			[]parsed{{"remove", `members[value eq "2819c223...919d-413861904646"]`, false}, {"add", "members", true}}},
		{"§3.5.2.3 replace a sub-attribute of a filtered element", rfcPatch(`{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}`),
			[]parsed{{"replace", `addresses[type eq "work"].streetAddress`, true}}},
		{"§3.5.2.3 replace without a path", rfcPatch(`{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},
			{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`),
			[]parsed{{"replace", "", true}}},
		{"Entra: capitalised op names and member names", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[
			{"Op":"Replace","Path":"displayName","Value":"x"},{"op":"Remove","path":"title"}]}`,
			[]parsed{{"replace", "displayName", true}, {"remove", "title", false}}},
		{"no schemas: accepted", `{"Operations":[{"op":"replace","path":"title","value":null}]}`, []parsed{{"replace", "title", true}}},
		{"a blank path is none", rfcPatch(`{"op":"replace","path":" ","value":{"title":"x"}}`), []parsed{{"replace", "", true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := parsePatch(patchRequest(t, tt.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var got []parsed
			for _, op := range ops {
				p := parsed{op: op.Op, hasValue: op.hasV}
				if op.Path != nil {
					p.path = op.Path.String()
				}
				got = append(got, p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePatchRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		scimType   scimerr.Type
		mention    string
	}{
		{"no operations", rfcPatch(``), scimerr.InvalidValue, "Operations"},
		{"Operations not an array", `{"Operations":{"op":"add"}}`, scimerr.InvalidValue, "Operations"},
		{"an operation not an object", rfcPatch(`"add"`), scimerr.InvalidValue, "Operations[0]"},
		{"unknown op", rfcPatch(`{"op":"move","path":"title","value":"x"}`), scimerr.InvalidValue, `"move"`},
		{"no op", rfcPatch(`{"path":"title","value":"x"}`), scimerr.InvalidValue, "op"},
		{"path not a string", rfcPatch(`{"op":"replace","path":5,"value":"x"}`), scimerr.InvalidPath, "path"},
		{"bad path", rfcPatch(`{"op":"replace","path":"emails[type eq","value":"x"}`), scimerr.InvalidPath, "path"},
		{"remove without a path (§3.5.2.2)", rfcPatch(`{"op":"remove"}`), scimerr.NoTarget, "path"},
		{"add without a value", rfcPatch(`{"op":"add","path":"title"}`), scimerr.InvalidValue, "value"},
		{"no path, value not an object", rfcPatch(`{"op":"replace","value":"x"}`), scimerr.InvalidValue, "object"},
		{"wrong schema", `{"schemas":["urn:x"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`, scimerr.InvalidValue, "PatchOp"},
		{"the second operation is bad", rfcPatch(`{"op":"replace","path":"title","value":"x"},{"op":"remove"}`), scimerr.NoTarget, "Operations[1]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := parsePatch(patchRequest(t, tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", ops)
			}
			if e := asSCIMError(err); e.Status != 400 || e.ScimType != tt.scimType || !strings.Contains(e.Detail, tt.mention) {
				t.Errorf("%d %s %q, want 400 %s mentioning %q", e.Status, e.ScimType, e.Detail, tt.scimType, tt.mention)
			}
		})
	}
}

// exampleType is a resource type of mappings.example.yaml.
func exampleType(t *testing.T, name string) *mapping.ResourceType {
	t.Helper()
	m, err := mapping.Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m.ResourceType(name)
}

// jsonDoc decodes a resource's JSON form.
func jsonDoc(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

const bjensenID = "2819c223-7f76-453a-919d-413861904646"

// bjensen is the User the PATCH tests start from (RFC 7643 §8.2, cut to what
// mappings.example.yaml stores).
const bjensen = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com",
	"name":{"familyName":"Jensen","givenName":"Barbara"},"displayName":"Babs Jensen","title":"Tour Guide",
	"emails":[{"value":"bjensen@example.com","type":"work"}],
	"phoneNumbers":[{"value":"555-555-5555","type":"work"},{"value":"555-555-4444","type":"mobile"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Tour Operations"}}`

// TestPatchDocApply applies operations to bjensen's JSON form and compares the
// whole result: what each operation changes, and that nothing else changes.
// Attributes the schemas define but the mapping stores nowhere (nickName,
// addresses, home e-mails) are left out of the write and named in ignored.
func TestPatchDocApply(t *testing.T) {
	rt := exampleType(t, "User")
	for _, tt := range []struct {
		name    string
		ops     string // JSON operations
		edit    func(doc map[string]any)
		ignored []string
	}{
		{"§3.5.2.1 add without a path: an e-mail and a nickname",
			`{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`,
			func(d map[string]any) {
				d["emails"] = append(d["emails"].([]any), map[string]any{"value": "babs@jensen.org", "type": "home"})
			}, []string{`emails[type eq "home"]`, "nickname"}},
		{"§3.5.2.2 remove by a complex filter",
			`{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}`,
			func(d map[string]any) { delete(d, "emails") }, nil},
		{"§3.5.2.2 remove by a filter that matches nothing: no change",
			`{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.org\"]"}`,
			func(map[string]any) {}, nil},
		{"§3.5.2.3 replace without a path: the e-mails and a nickname",
			`{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`,
			func(d map[string]any) {
				d["emails"] = []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
					map[string]any{"value": "babs@jensen.org", "type": "home"}}
			}, []string{`emails[type eq "home"]`, "nickname"}},
		{"§3.5.2.3 replace a sub-attribute of an unmapped attribute: ignored",
			`{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}`,
			func(map[string]any) {}, []string{`addresses[type eq "work"].streetAddress`}},
		{"replace a filtered element's value",
			`{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"555-555-0000"}`,
			func(d map[string]any) {
				d["phoneNumbers"].([]any)[1] = map[string]any{"value": "555-555-0000", "type": "mobile"}
			}, nil},
		{"a typed slot is created when missing (Entra's emails[type eq \"work\"].value)",
			`{"op":"remove","path":"emails"},{"op":"add","path":"emails[type eq \"work\"].value","value":"new@example.com"}`,
			func(d map[string]any) {
				d["emails"] = []any{map[string]any{"type": "work", "value": "new@example.com"}}
			}, nil},
		{"a sub-attribute of a single complex attribute",
			`{"op":"replace","path":"name.givenName","value":"Babs"}`,
			func(d map[string]any) { d["name"].(map[string]any)["givenName"] = "Babs" }, nil},
		{"remove a simple attribute; null clears too",
			`{"op":"remove","path":"title"},{"op":"replace","path":"displayName","value":null}`,
			func(d map[string]any) { delete(d, "title"); delete(d, "displayName") }, nil},
		{"an extension attribute by its URN-qualified path",
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"42"}`,
			func(d map[string]any) { d[entURN].(map[string]any)["employeeNumber"] = "42" }, nil},
		{"the whole extension as the path: the attributes given change, the others stay",
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"employeeNumber":"99"}}`,
			func(d map[string]any) { d[entURN].(map[string]any)["employeeNumber"] = "99" }, nil},
		{"remove of the whole extension",
			`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`,
			func(d map[string]any) { delete(d, entURN) }, nil},
		{"Entra's no-path replace: dotted and URN keys, its URN typo, schemas and its own id skipped",
			`{"op":"replace","value":{"name.givenName":"Flaggy","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"3",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0User":{"department":"D"},"schemas":["x"],"id":"2819C223-7F76-453A-919D-413861904646"}}`,
			func(d map[string]any) {
				d["name"].(map[string]any)["givenName"] = "Flaggy"
				d[entURN] = map[string]any{"employeeNumber": "3", "department": "D"}
			}, nil},
		{"the manager as a bare id (Entra)",
			`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"26118915-6090-4610-87e4-49d8ca9f808d"}`,
			func(d map[string]any) {
				d[entURN].(map[string]any)["manager"] = map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
			}, nil},
		{"operations apply in order",
			`{"op":"replace","path":"title","value":"A"},{"op":"replace","path":"title","value":"B"}`,
			func(d map[string]any) { d["title"] = "B" }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, want := jsonDoc(t, bjensen), jsonDoc(t, bjensen)
			tt.edit(want)
			pd := &patchDoc{rt: rt, doc: doc, id: bjensenID, members: map[*mapping.AttrMap]*directory.MemberChange{}}
			applyAll(t, pd, tt.ops)
			if !reflect.DeepEqual(pd.doc, want) {
				got, _ := json.Marshal(pd.doc)
				exp, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", got, exp)
			}
			if !slices.Equal(pd.ignored, tt.ignored) {
				t.Errorf("ignored %q, want %q", pd.ignored, tt.ignored)
			}
		})
	}
}

// applyAll parses ops (JSON operations) and applies them in order; each must succeed.
func applyAll(t *testing.T, pd *patchDoc, ops string) {
	t.Helper()
	parsed, err := parsePatch(patchRequest(t, rfcPatch(ops)))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range parsed {
		if err := pd.apply(op); err != nil {
			t.Fatalf("apply %s %v: %v", op.Op, op.Path, err)
		}
	}
}

const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestPatchDocApplyRefuses: operations the schemas refuse (RFC 7644 §3.5.2)
// fail with the SCIM error that says why, and leave the document as it was
// up to them.
func TestPatchDocApplyRefuses(t *testing.T) {
	rt := exampleType(t, "User")
	for _, tt := range []struct {
		name, ops string
		scimType  scimerr.Type
	}{
		{"an attribute no schema defines", `{"op":"replace","path":"nosuch","value":"x"}`, scimerr.InvalidPath},
		{"a read-only attribute (groups)", `{"op":"add","path":"groups","value":[{"value":"x"}]}`, scimerr.Mutability},
		{"another resource's id", `{"op":"replace","value":{"id":"00000000-0000-0000-0000-000000000000"}}`, scimerr.Mutability},
		{"schemas", `{"op":"replace","path":"schemas","value":["x"]}`, scimerr.Mutability},
		{"a value filter on a sub-attribute that does not exist", `{"op":"replace","path":"emails[nosuch eq \"work\"].value","value":"x"}`, scimerr.InvalidPath},
		{"a value filter that matches nothing, not a type slot (§3.5.2.3)", `{"op":"replace","path":"emails[value eq \"nomatch\"].value","value":"x"}`, scimerr.NoTarget},
		{"an extension's value not an object", `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":"x"}`, scimerr.InvalidValue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pd := &patchDoc{rt: rt, doc: jsonDoc(t, bjensen), id: bjensenID, members: map[*mapping.AttrMap]*directory.MemberChange{}}
			ops, perr := parsePatch(patchRequest(t, rfcPatch(tt.ops)))
			if perr != nil {
				t.Fatal(perr)
			}
			err := pd.apply(ops[0])
			if err == nil {
				t.Fatalf("applied: %v", pd.doc)
			}
			if e := asSCIMError(err); e.Status != 400 || e.ScimType != tt.scimType {
				t.Errorf("%d %s %q, want 400 %s", e.Status, e.ScimType, e.Detail, tt.scimType)
			}
			if !reflect.DeepEqual(pd.doc, jsonDoc(t, bjensen)) {
				t.Errorf("a refused operation changed the document: %v", pd.doc)
			}
		})
	}
}

// TestPatchDocMembers: member operations on a Group become a change in ids
// (the RFC's examples), which the directory layer looks up and writes as value
// adds and deletes.
func TestPatchDocMembers(t *testing.T) {
	rt := exampleType(t, "Group")
	const babs, james = "2819c223-7f76-453a-919d-413861904646", "08e1d05d-121c-4561-8b96-473d93df9210"
	for _, tt := range []struct {
		name, ops string
		want      func(c *directory.MemberChange)
	}{
		{"§3.5.2.1 add a member", `{"op":"add","path":"members","value":[{"display":"Babs Jensen",
			"$ref":"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646","value":"2819c223-7f76-453a-919d-413861904646"}]}`,
			func(c *directory.MemberChange) { c.Add(babs) }},
		{"§3.5.2.2 remove a member by filter", `{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}`,
			func(c *directory.MemberChange) { c.Remove(babs) }},
		{"§3.5.2.2 remove all members", `{"op":"remove","path":"members"}`, func(c *directory.MemberChange) { c.Replace() }},
		{"§3.5.2.2 remove then add", `{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"},
			{"op":"add","path":"members","value":[{"display":"James Smith","value":"08e1d05d-121c-4561-8b96-473d93df9210"}]}`,
			func(c *directory.MemberChange) { c.Remove(babs); c.Add(james) }},
		{"§3.5.2.3 replace the members", `{"op":"replace","path":"members","value":[
			{"display":"Babs Jensen","value":"2819c223-7f76-453a-919d-413861904646"},{"display":"James Smith","value":"08e1d05d-121c-4561-8b96-473d93df9210"}]}`,
			func(c *directory.MemberChange) { c.Replace(babs, james) }},
		{"remove by a list of values", `{"op":"Remove","path":"members","value":[{"$ref":null,"value":"2819c223-7f76-453a-919d-413861904646"}]}`,
			func(c *directory.MemberChange) { c.Remove(babs) }},
		{"remove by a filter of ids joined by or", `{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}`,
			func(c *directory.MemberChange) { c.Remove("a", "b") }},
		{"bare ids and {\"$ref\": null} (Entra)", `{"op":"Add","path":"members","value":["a",{"$ref":null,"value":"b"}]}`,
			func(c *directory.MemberChange) { c.Add("a", "b") }},
		{"replace with [] empties the group", `{"op":"replace","path":"members","value":[]}`, func(c *directory.MemberChange) { c.Replace() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := jsonDoc(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"e9e30dba-f08f-4109-8486-d5c6a331660a","displayName":"Tour Guides"}`)
			pd := &patchDoc{rt: rt, doc: doc, id: "e9e30dba-f08f-4109-8486-d5c6a331660a", members: map[*mapping.AttrMap]*directory.MemberChange{}}
			applyAll(t, pd, tt.ops)
			want := &directory.MemberChange{}
			tt.want(want)
			if len(pd.members) != 1 {
				t.Fatalf("%d membership changes, want 1", len(pd.members))
			}
			for a, got := range pd.members {
				if a.Def.Name != "members" || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %+v, want %+v", a.Def.Name, got, want)
				}
			}
			if _, ok := pd.doc["members"]; ok {
				t.Errorf("members written into the document: %v", pd.doc)
			}
		})
	}
	for _, tt := range []struct {
		name, ops string
		scimType  scimerr.Type
	}{
		{"a member's value cannot be edited", `{"op":"replace","path":"members[value eq \"a\"].value","value":"b"}`, scimerr.Mutability},
		{"a filter selects by value only", `{"op":"remove","path":"members[display eq \"a\"]"}`, scimerr.InvalidFilter},
		{"a filter goes with remove only", `{"op":"add","path":"members[value eq \"a\"]","value":[{"value":"a"}]}`, scimerr.InvalidPath},
		{"a member needs its id", `{"op":"add","path":"members","value":[{"display":"x"}]}`, scimerr.InvalidValue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pd := &patchDoc{rt: rt, doc: map[string]any{}, id: "g", members: map[*mapping.AttrMap]*directory.MemberChange{}}
			ops, perr := parsePatch(patchRequest(t, rfcPatch(tt.ops)))
			if perr != nil {
				t.Fatal(perr)
			}
			if e := asSCIMError(pd.apply(ops[0])); e.Status != 400 || e.ScimType != tt.scimType {
				t.Errorf("%d %s %q, want 400 %s", e.Status, e.ScimType, e.Detail, tt.scimType)
			}
		})
	}
}
