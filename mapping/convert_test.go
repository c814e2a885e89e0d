package mapping

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

func exampleUser(t *testing.T) *ResourceType {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m.ResourceType("User")
}

func decode(t *testing.T, s string) map[string]any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func noLookup(refTypes, ids []string) (map[string]string, error) { return map[string]string{}, nil }

func TestLDAPValues(t *testing.T) {
	rt := exampleUser(t)
	lookup := func(refTypes, ids []string) (map[string]string, error) {
		if !reflect.DeepEqual(refTypes, []string{"User"}) {
			t.Errorf("refTypes %v", refTypes)
		}
		return map[string]string{"m-1": "uid=boss,ou=people,dc=example,dc=org"}, nil
	}
	// RFC 7643 §8.2-like full user, with Entra's quirks: case-insensitive names,
	// nulls, a home e-mail the mapping does not store, the URN typo, a bare manager id.
	got, err := rt.LDAPValues(decode(t, `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"USERNAME": "bjensen@example.com", "externalId": "701984",
		"name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen", "title": null, "preferredLanguage": "",
		"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
		"phoneNumbers": [{"value": "555-555-5555", "type": "Work"}, {"value": "555-555-4444", "type": "mobile"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"employeeNumber": "701984", "manager": "m-1"}
	}`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"uid": {"bjensen@example.com"}, "uniqueIdentifier": {"701984"}, "cn": {"Ms. Barbara J Jensen, III"},
		"sn": {"Jensen"}, "givenName": {"Barbara"}, "displayName": {"Babs Jensen"}, "title": {}, "preferredLanguage": {},
		"mail": {"bjensen@example.com"}, "telephoneNumber": {"555-555-5555"}, "mobile": {"555-555-4444"},
		"employeeNumber": {"701984"}, "departmentNumber": {}, "manager": {"uid=boss,ou=people,dc=example,dc=org"},
	}
	for k, w := range want {
		if g := got[k]; len(g) != len(w) || (len(w) > 0 && !reflect.DeepEqual(g, w)) {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
}

func TestLDAPValuesDefaultsAndErrors(t *testing.T) {
	rt := exampleUser(t)
	got, err := rt.LDAPValues(decode(t, `{"userName": "u1", "displayName": "U One"}`), noLookup)
	if err != nil || got["cn"][0] != "U One" || got["sn"][0] != "u1" {
		t.Errorf("defaults: %v %v", got, err)
	}
	got, _ = rt.LDAPValues(decode(t, `{"userName": "u1", "name": {"givenName": "A", "familyName": "B"}}`), noLookup)
	if got["cn"][0] != "A B" {
		t.Errorf("cn from the first template: %q", got["cn"])
	}
	for body, want := range map[string]string{
		`{"userName": 1}`: "userName must be a string",
		`{"userName": "x", "emails": {"value": 1}}`: "must be a string",
		`{"userName": "x", "emails": [1]}`:          "emails must be an array of objects",
		`{"userName": "x", "name": [1]}`:            "name must be an object",
		`{"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "nobody"}}}`: `no User with id "nobody"`,
	} {
		_, err := rt.LDAPValues(decode(t, body), noLookup)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
		if ve, ok := err.(*ValueError); !ok || ve.ScimType != "invalidValue" {
			t.Errorf("%s: not an invalidValue ValueError: %#v", body, err)
		}
	}
}

func TestFromLDAP(t *testing.T) {
	rt := exampleUser(t)
	e := ldap.NewEntry("uid=bjensen,ou=people,dc=example,dc=org", map[string][]string{
		"entryUUID": {"2819c223-7f76-453a-919d-413861904646"}, "entryCSN": {"20260101000000.000000Z#000000#000#000000"},
		"createTimestamp": {"20110501184500Z"}, "modifyTimestamp": {"20260102030405Z"},
		"uid": {"bjensen"}, "sn": {"Jensen"}, "givenName": {"Barbara"}, "mail": {"b@example.com", "b2@example.com"},
		"mobile": {"555"}, "employeeNumber": {"7"}, "manager": {"UID=Boss,ou=People,dc=example,dc=org"}, "uniqueIdentifier": {"x1"},
	})
	refs := map[string]Ref{RefKey("uid=boss,ou=people,dc=example,dc=org"): {ID: "m-1", Type: "User", Endpoint: "/Users"}}
	res := rt.FromLDAP(e, NewRefs(refs), "https://h/scim/v2", nil)
	got, _ := json.Marshal(res)
	want := `{"active":true,"emails":[{"type":"work","value":"b@example.com"},{"type":"work","value":"b2@example.com"}],"externalId":"x1","id":"2819c223-7f76-453a-919d-413861904646",` +
		`"meta":{"created":"2011-05-01T18:45:00Z","lastModified":"2026-01-02T03:04:05Z","location":"https://h/scim/v2/Users/2819c223-7f76-453a-919d-413861904646","resourceType":"User","version":"W/\"20260101000000.000000Z#000000#000#000000\""},` +
		`"name":{"familyName":"Jensen","givenName":"Barbara"},"phoneNumbers":[{"type":"mobile","value":"555"}],` +
		`"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"$ref":"https://h/scim/v2/Users/m-1","value":"m-1"}},"userName":"bjensen"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// trueWhenAbsent: only the gateway's own lock (falseValue) reads as active
	// false; a ppolicy lockout after failed binds (a time) leaves the account
	// administratively active (RFC 7643 §4.1.1).
	e.Attributes = append(e.Attributes, &ldap.EntryAttribute{Name: "pwdAccountLockedTime"})
	lock := e.Attributes[len(e.Attributes)-1]
	for _, c := range []struct {
		lock string
		want bool
	}{{"20260101000000Z", true}, {"20260101000000.5Z", true}, {"000001010000Z", false}} {
		lock.Values, lock.ByteValues = []string{c.lock}, [][]byte{[]byte(c.lock)}
		if res := rt.FromLDAP(e, NewRefs(refs), "https://h/scim/v2", nil); res["active"] != c.want {
			t.Errorf("pwdAccountLockedTime %s: active = %v, want %v", c.lock, res["active"], c.want)
		}
	}
}

// Location: RFC 7644 §3.3's example location, and ids that need escaping as
// a path segment (RFC 3986 §3.3); every result parses back to the id.
func TestLocation(t *testing.T) {
	const base = "https://example.com/v2"
	for _, c := range []struct{ id, want string }{
		{"2819c223-7f76-453a-919d-413861904646", base + "/Users/2819c223-7f76-453a-919d-413861904646"},
		{"a b", base + "/Users/a%20b"},
		{"a/b", base + "/Users/a%2Fb"},
		{"50%", base + "/Users/50%25"},
		{"x?y#z", base + "/Users/x%3Fy%23z"},
		{"é", base + "/Users/%C3%A9"},
		{"bulkId:q", base + "/Users/bulkId:q"},
	} {
		got := Location(base, "/Users", c.id)
		if got != c.want {
			t.Errorf("Location(%q) = %q, want %q", c.id, got, c.want)
		}
		u, err := url.Parse(got)
		if err != nil || u.Path != "/v2/Users/"+c.id {
			t.Errorf("Location(%q) = %q parses to path %q (%v)", c.id, got, u.Path, err)
		}
	}
}

func TestGeneralizedTime(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-01-02T15:04:05Z", "20260102150405Z"},
		{"2026-01-02T16:04:05+01:00", "20260102150405Z"},
		{"2026-01-02T15:04:05.25Z", "20260102150405.25Z"},
	} {
		tm, _ := time.Parse(time.RFC3339Nano, c.in)
		if g := GeneralizedTime(tm); g != c.want {
			t.Errorf("%s → %s, want %s", c.in, g, c.want)
		}
		back, err := ParseGeneralizedTime(c.want)
		if err != nil || !back.Equal(tm) {
			t.Errorf("parse %s: %v %v", c.want, back, err)
		}
	}
}

func TestResolveAndTranslate(t *testing.T) {
	rt := exampleUser(t)
	lookup := func(refTypes, ids []string) (map[string]string, error) {
		return map[string]string{"m-1": "uid=boss,ou=people,dc=example,dc=org"}, nil
	}
	for f, want := range map[string]string{
		`userName eq "ALICE@example.org"`:             `(uid=ALICE@example.org)`,
		`externalId eq "X"`:                           `(uniqueIdentifier:caseExactMatch:=X)`,
		`id eq "2819c223"`:                            `(entryUUID=2819c223)`,
		`emails[type eq "work"].value eq "a@b"`:       `(mail=a@b)`,
		`emails.value co "@example"`:                  `(mail=*@example*)`,
		`phoneNumbers[type eq "mobile"]`:              `(mobile=*)`,
		`name.familyName sw "J*"`:                     `(sn=J\2a*)`,
		`meta.lastModified gt "2026-01-01T00:00:00Z"`: `(&(modifyTimestamp>=20260101000000Z)(!(modifyTimestamp=20260101000000Z)))`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1"`: `(manager=uid=boss,ou=people,dc=example,dc=org)`,
		`employeeNumber eq "7"`: `(employeeNumber=7)`,
		`userName gt "m"`:       `(&(uid=*)(!(uid:caseIgnoreOrderingMatch:=m))(!(uid=m)))`,
		`externalId lt "M"`:     `(uniqueIdentifier:caseExactOrderingMatch:=M)`,
	} {
		e, err := filterxlate.Parse(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got, err := filterxlate.Translate(e, rt, lookup)
		if err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", f, got, err, want)
		}
	}
	for _, f := range []string{`nickName eq "x"`, `password eq "x"`, `name.middleName eq "x"`, `urn:x:y:z eq "1"`} {
		e, _ := filterxlate.Parse(f)
		if _, err := filterxlate.Translate(e, rt, lookup); err == nil {
			t.Errorf("%s: want an error for an unmapped attribute", f)
		}
	}
}

// U+0000 is refused in every string that would reach the directory, before any
// lookup; binary values are base64 and may decode to any byte.
func TestLDAPValuesRefuseNUL(t *testing.T) {
	rt := exampleUser(t)
	lookupCalled := false
	lookup := func(refTypes, ids []string) (map[string]string, error) {
		lookupCalled = true
		return map[string]string{}, nil
	}
	for body, what := range map[string]string{
		`{"userName": "a\u0000b"}`:                                             "userName",
		`{"userName": "x", "externalId": "\u0000"}`:                            "externalId",
		`{"userName": "x", "name": {"givenName": "A\u0000"}}`:                  "name.givenName",
		`{"userName": "x", "emails": [{"type": "work", "value": "\u0000@x"}]}`: `emails[type eq "work"].value`,
		`{"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m\u0000"}}}`: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
	} {
		_, err := rt.LDAPValues(decode(t, body), lookup)
		ve, ok := err.(*ValueError)
		if !ok || ve.ScimType != "invalidValue" || !strings.HasPrefix(ve.Msg, what+" contains U+0000") {
			t.Errorf("%s: %v, want an invalidValue ValueError naming %s", body, err, what)
		}
	}
	if lookupCalled {
		t.Error("an id holding U+0000 was looked up")
	}

	m, err := Parse("m.yaml", []byte(`
schemas:
  - id: urn:example:params:scim:schemas:extension:t:2.0:User
    name: T
    alias: t
    attributes:
      blob: {type: binary}
resourceTypes:
  User:
    extensions: [urn:example:params:scim:schemas:extension:t:2.0:User]
    ldap:
      base: ou=people,dc=example,dc=org
      objectClasses: [inetOrgPerson]
      rdn: uid
      computed:
        description: 'Coalesce(nickName, "none")'
    attributes:
      userName: {ldap: uid}
      password: {ldap: userPassword}
      'urn:example:params:scim:schemas:extension:t:2.0:User:blob': {ldap: audio}
`))
	if err != nil {
		t.Fatal(err)
	}
	rt = m.ResourceType("User")
	got, err := rt.LDAPValues(decode(t, `{"userName": "x", "urn:example:params:scim:schemas:extension:t:2.0:User": {"blob": "AEEA"}}`), lookup)
	if err != nil || len(got["audio"]) != 1 || got["audio"][0] != "\x00A\x00" {
		t.Errorf("binary value with NUL bytes: %q %v", got["audio"], err)
	}
	// nickName is not mapped, but the computed description carries it.
	_, err = rt.LDAPValues(decode(t, `{"userName": "x", "nickName": "n\u0000"}`), lookup)
	if ve, ok := err.(*ValueError); !ok || !strings.HasPrefix(ve.Msg, "description (computed by the mapping) contains U+0000") {
		t.Errorf("computed value with NUL: %v", err)
	}
	if _, _, err := rt.Password(decode(t, `{"userName": "x", "password": "pw\u0000"}`)); err == nil || !strings.Contains(err.Error(), "password contains U+0000") {
		t.Errorf("password with NUL: %v", err)
	}
}

// A membership element whose id is empty (or null, or missing) names nothing:
// it was dropped and the write answered 201/200 as if it held the member.
// Refused before the lookup; an empty list and an empty manager still mean
// "none".
func TestLDAPValuesRefuseMembersWithoutID(t *testing.T) {
	m, err := Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	group, user := m.ResourceType("Group"), m.ResourceType("User")
	var looked [][]string
	lookup := func(refTypes, ids []string) (map[string]string, error) {
		looked = append(looked, ids)
		out := map[string]string{}
		for _, id := range ids {
			out[id] = "uid=" + id + ",ou=people,dc=example,dc=org"
		}
		return out, nil
	}
	for _, body := range []string{
		`{"displayName": "g", "members": [{"value": ""}]}`,
		`{"displayName": "g", "members": [{"value": "u1"}, {"value": ""}]}`,
		`{"displayName": "g", "members": [{"value": null}]}`,
		`{"displayName": "g", "members": [{"display": "Bob"}]}`,
		`{"displayName": "g", "MEMBERS": [{"VALUE": ""}]}`,
		`{"displayName": "g", "members": {"value": ""}}`,
	} {
		_, err := group.LDAPValues(decode(t, body), lookup)
		ve, ok := err.(*ValueError)
		if !ok || ve.ScimType != "invalidValue" || !strings.HasPrefix(ve.Msg, "members: ") || !strings.Contains(ve.Msg, "id") {
			t.Errorf("%s: %v, want an invalidValue ValueError naming members", body, err)
		}
	}
	if looked != nil {
		t.Errorf("ids looked up for refused bodies: %q", looked)
	}
	for body, want := range map[string][]string{
		`{"displayName": "g", "members": [{"value": "u1"}, {"value": "u2", "display": "U2"}]}`: {"uid=u1,ou=people,dc=example,dc=org", "uid=u2,ou=people,dc=example,dc=org"},
		`{"displayName": "g", "members": []}`:                                                  {""}, // the placeholder
		`{"displayName": "g", "members": null}`:                                                {""},
		`{"displayName": "g"}`:                                                                 {""},
	} {
		got, err := group.LDAPValues(decode(t, body), lookup)
		if err != nil || !reflect.DeepEqual(got["member"], want) {
			t.Errorf("%s: member %q (%v), want %q", body, got["member"], err, want)
		}
	}
	// An empty manager is no manager (RFC 7643 §2.5: unassigned), as before.
	got, err := user.LDAPValues(decode(t, `{"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": ""}}}`), lookup)
	if err != nil || len(got["manager"]) != 0 {
		t.Errorf("empty manager: %q (%v), want no value", got["manager"], err)
	}
}
