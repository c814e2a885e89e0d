package mapping

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Paths resolve in the resource type's schemas only, with Entra ID's spellings;
// what resolves is writable or not by its schema and mapping, stored or not by
// the mapping.
func TestResolvePathInTheTypesSchemas(t *testing.T) {
	m, err := Load("../docs/examples/openldap-posix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("User")
	const acme = "urn:example:params:scim:schemas:extension:acme:2.0:User"
	for _, c := range []struct {
		urn, name, sub string
		schema         string // "" when invalidPath
		mutability     bool   // CheckWritable refuses
		stored         bool
	}{
		{"", "userName", "", UserSchema, false, true},
		{"", "USERNAME", "", UserSchema, false, true},
		{UserSchema, "displayName", "", UserSchema, false, true},
		{"", "externalId", "", UserSchema, false, false},
		{"", "name", "middleName", UserSchema, false, false},
		{"", "name", "noSuchSub", "", false, false},
		{"", "title", "sub", "", false, false},
		{"", "addresses", "", UserSchema, false, false},
		{"", "fooBarBaz", "", "", false, false},
		{"", "id", "", UserSchema, true, false},
		{"", "meta", "created", UserSchema, true, false},
		{"", "groups", "", UserSchema, true, true},
		{"", "emails", "display", UserSchema, true, false},
		{"", "employeeNumber", "", EnterpriseSchema, false, true}, // core first, then the extensions
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0User", "manager", "", EnterpriseSchema, false, false},
		{EnterpriseSchema, "manager", "displayName", EnterpriseSchema, true, false},
		{UserSchema, "employeeNumber", "", "", false, false}, // the core URN names the core schema only
		{"", "building", "", acme, false, false},
		{acme, "badge", "", acme, false, true},
		{"urn:example:nope:2.0:User", "x", "", "", false, false},
	} {
		path := strings.Trim(c.urn+":"+c.name+"."+c.sub, ":.")
		tg, err := u.ResolvePath(c.urn, c.name, c.sub)
		var ve *ValueError
		if c.schema == "" {
			if !errors.As(err, &ve) || ve.ScimType != "invalidPath" || !strings.Contains(ve.Msg, c.name) {
				t.Errorf("%s: %v, want invalidPath naming it", path, err)
			}
			continue
		}
		if err != nil || tg.SchemaURN != c.schema {
			t.Errorf("%s: %+v %v, want schema %s", path, tg, err, c.schema)
			continue
		}
		werr := u.CheckWritable(tg)
		if got := errors.As(werr, &ve) && ve.ScimType == "mutability"; got != c.mutability {
			t.Errorf("%s: CheckWritable %v", path, werr)
		}
		if got := u.Stores(tg, nil); got != c.stored {
			t.Errorf("%s: Stores = %v", path, got)
		}
	}
	tg, _ := u.ResolvePath("", "building", "")
	if f := u.Unmapped("building", tg); f.Unknown || !strings.Contains(f.Detail, "the schema "+acme) {
		t.Errorf("a custom schema's attribute: %+v", f)
	}
	tg, _ = u.ResolvePath("", "phoneNumbers", "value")
	if u.Stores(tg, map[string]any{"type": "fax"}) || u.Stores(tg, map[string]any{"type": "work"}) {
		t.Error("the posix mapping stores no phone number")
	}
	tg, _ = u.ResolvePath("", "emails", "value")
	if !u.Stores(tg, map[string]any{"type": "WORK"}) || u.Stores(tg, map[string]any{"type": "home"}) {
		t.Error("emails: only the work slot is stored")
	}
}

// Unstored names what a POST or PUT body holds that the mapping doesn't store,
// and nothing it stores, ignores by rule (read-only, schemas) or that is empty.
func TestUnstoredNamesWhatABodyLoses(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("User")
	body := map[string]any{
		"schemas": []any{UserSchema}, "id": "x", "meta": map[string]any{"created": "x"}, "groups": []any{map[string]any{"value": "g"}},
		"userName": "a", "nickName": "Al", "roles": []any{}, "x509Certificates": nil, "fooBarBaz": "x",
		"name":      map[string]any{"givenName": "A", "middleName": "Q", "honorificPrefix": "", "bogus": "x"},
		"emails":    []any{map[string]any{"type": "work", "value": "a@x", "primary": true, "display": "A"}, map[string]any{"type": "home", "value": "a@home"}},
		"addresses": []any{map[string]any{"formatted": "1 Main St"}},
		"phoneNumbers": []any{map[string]any{"type": "mobile", "value": "1"}, map[string]any{"type": "fax", "value": ""},
			map[string]any{"type": "pager", "value": "2"}, map[string]any{"value": "3"}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"employeeNumber": "1", "costCenter": "cc", "shoeSize": 44, "manager": nil},
		"urn:example:nope:2.0:User":                                 map[string]any{"x": "y"},
	}
	var got []string
	for _, f := range u.Unstored(body) {
		got = append(got, f.Path)
		if strings.Contains(f.Path, "bogus") || strings.Contains(f.Path, "foo") || strings.Contains(f.Path, "shoe") || strings.Contains(f.Path, "nope") {
			if !f.Unknown {
				t.Errorf("%s: not reported as unknown", f.Path)
			}
		} else if f.Unknown || !strings.Contains(f.Detail, "RFC 7643") {
			t.Errorf("%s: %+v, want defined by RFC 7643 and not mapped", f.Path, f)
		}
	}
	want := []string{
		"addresses",
		`emails[type eq "home"]`,
		"fooBarBaz",
		"name.bogus",
		"name.middleName",
		"nickName",
		"phoneNumbers",
		`phoneNumbers[type eq "pager"]`,
		"urn:example:nope:2.0:User",
		EnterpriseSchema + ":costCenter",
		EnterpriseSchema + ":shoeSize",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Unstored:\n got %q\nwant %q", got, want)
	}
}

// The mapping's mutability: readOnly makes an attribute read-only for writes
// as it is in /Schemas.
func TestCheckWritableFollowsTheMapping(t *testing.T) {
	m, err := Parse("m.yaml", []byte("resourceTypes:\n  User:\n    ldap: {base: \"o=x\", objectClasses: [x], rdn: uid}\n"+
		"    attributes: {userName: uid, title: {ldap: title, mutability: readOnly}, displayName: displayName}\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("User")
	title, _ := u.ResolvePath("", "title", "")
	var ve *ValueError
	if err := u.CheckWritable(title); !errors.As(err, &ve) || ve.ScimType != "mutability" {
		t.Errorf("title: %v", err)
	}
	if d, _ := u.ResolvePath("", "displayName", ""); u.CheckWritable(d) != nil {
		t.Error("displayName is writable")
	}
}

// A top-level key that is an attribute path naming a mapped attribute
// (URN-qualified, Entra's legacy forms, dotted) is Misplaced, never ignored:
// a PUT would otherwise clear the attribute the client meant to set. A key
// that names nothing stays unknown (ignored or refused by the mapping's
// unmappedAttributes).
func TestPathKeysInAResourceAreMisplaced(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt := m.ResourceType("User")
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for key, want := range map[string]string{
		ent + ":employeeNumber": `{"` + ent + `": {"employeeNumber": …}}`,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User:employeeNumber": `{"` + ent + `": {"employeeNumber": …}}`,
		ent + ".manager": `{"` + ent + `": {"manager": …}}`,
		"urn:ietf:params:scim:schemas:core:2.0:User:title": `{"title": …}`,
		"name.givenName": `{"name": {"givenName": …}}`,
	} {
		fs := rt.Unstored(map[string]any{"userName": "u", key: "v"})
		if len(fs) != 1 || !fs[0].Misplaced || !strings.Contains(fs[0].Detail, want) {
			t.Errorf("%s: %+v, want one Misplaced finding naming %s", key, fs, want)
		}
	}
	fs := rt.Unstored(map[string]any{"userName": "u", "totallyUnknown": "x"})
	if len(fs) != 1 || fs[0].Misplaced || !fs[0].Unknown {
		t.Errorf("unknown key: %+v", fs)
	}
}
