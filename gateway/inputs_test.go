package gateway_test

// Input: what is malformed, or what the directory cannot hold or name, is
// refused with a precise SCIM error before anything reaches it; what LDAP
// gives a meaning (DN and filter special characters) is escaped.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/gateway"
)

// slapd cuts an assertion value at a NUL: `emails.value co "\u0000"` became
// (mail=**), which every user with a mail matches.
func TestNULInAFilterValueIsRefusedNotAWiderSearch(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Users", user("nul-f1", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-f1@x.org"}}}))
	e.MustCreate("/Users", user("nul-f2", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-f2@x.org"}}}))
	for filter, names := range map[string]string{
		`emails.value co "\u0000"`:                  "emails.value",
		`emails co "x\u0000"`:                       "emails",
		`userName eq "nul-f1\u0000"`:                "userName",
		`emails[value sw "\u0000"]`:                 "emails.value",
		`emails[type eq "work"].value ew "\u0000"`:  "emails.value",
		`userName pr and not (title eq "a\u0000b")`: "title",
	} {
		t.Run(filter, func(t *testing.T) {
			for _, r := range []response{
				e.Do("GET", "/Users"+filterQ(filter), nil),
				e.Do("POST", "/Users/.search", map[string]any{"filter": filter}),
				e.Do("POST", "/.search", map[string]any{"filter": filter}),
			} {
				wantError(t, r, 400, "invalidFilter", names, "U+0000")
			}
		})
	}
}

func TestNULInAPatchPathFilterIsRefused(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("nul-pp", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-pp@x.org"}}}))
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("remove", `emails[value eq "\u0000"]`, nil)))
	wantError(t, r, 400, "invalidPath", "emails.value", "U+0000")
	if m := e.entry("(uid=nul-pp)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "nul-pp@x.org" {
		t.Errorf("mail after the refused PATCH: %q", m)
	}
}

// A NUL in a written value used to reach slapd, which stored it (userName
// "a\u0000b" became the entry uid=a\00b).
func TestNULInAWrittenValueIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	e := newEnv(t)
	boss := e.MustCreate("/Users", user("nul-boss", nil))
	before := e.countPeople()
	for attr, body := range map[string]map[string]any{
		"userName":                     user("nul-w\x00x", nil),
		"externalId":                   user("nul-w-ext", map[string]any{"externalId": "ext\x00"}),
		"title":                        user("nul-w-title", map[string]any{"title": "a\x00b"}),
		`emails[type eq "work"].value`: user("nul-w-mail", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "\x00@x.org"}}}),
		entSchema + ":manager":         user("nul-w-mgr", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": boss + "\x00"}}}),
	} {
		wantError(t, e.Do("POST", "/Users", body), 400, "invalidValue", attr, "U+0000")
	}
	if n := e.countPeople(); n != before {
		t.Errorf("%d entries in ou=people after refused creates, want %d", n, before)
	}

	id := e.MustCreate("/Users", user("nul-w-upd", map[string]any{"title": "T"}))
	wantError(t, e.Do("PUT", "/Users/"+id, user("nul-w-upd", map[string]any{"title": "T\x00"})), 400, "invalidValue", "title", "U+0000")
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "\x00"))), 400, "invalidValue", "title", "U+0000")
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "userName", "nul-w-upd\x00"))), 400, "invalidValue", "userName", "U+0000")
	if got := e.entry("(uid=nul-w-upd)"); got == nil || got.GetAttributeValue("title") != "T" {
		t.Errorf("entry after refused updates: %+v", got)
	}

	// Group members: on create and in a PATCH (whose member ids take their own way).
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "nul-grp"})
	wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": "nul-grp2", "members": []any{map[string]any{"value": boss + "\x00"}}}), 400, "invalidValue", "members", "U+0000")
	wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("add", "members", []any{map[string]any{"value": "\x00"}}))), 400, "invalidValue", "members", "U+0000")
	wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": "nul-grp\x00"}), 400, "invalidValue", "displayName", "U+0000")
	if g := e.groupEntry("nul-grp2"); g != nil {
		t.Errorf("group written: %s", g.DN)
	}
}

func TestNULInAPasswordIsRefused(t *testing.T) {
	e := newEnvWith(t, loadMapping(t, "docs/examples/openldap-posix.yaml"))
	before := e.countPeople()
	body := user("nul-pw", map[string]any{"password": "secret\x00more", entSchema: map[string]any{"employeeNumber": "4711"}})
	wantError(t, e.Do("POST", "/Users", body), 400, "invalidValue", "password", "U+0000")
	if n := e.countPeople(); n != before {
		t.Errorf("%d entries in ou=people after a refused create, want %d", n, before)
	}
	body["password"] = "Corr3ct-Horse-4711"
	id := e.MustCreate("/Users", body)
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "password", "\x00"))), 400, "invalidValue", "password", "U+0000")
	if !e.canBind("uid=nul-pw,ou=people,dc=example,dc=org", "Corr3ct-Horse-4711") {
		t.Error("the password changed")
	}
}

// slapd's back-mdb refuses an RDN longer than about 245 bytes with LDAP 80
// (other), which was a 500. The gateway now refuses RDNs over 240 bytes.
func TestTooLongNamingValueIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	e := newEnv(t)
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	before := e.countPeople()
	for _, name := range []string{long("rdn-a", 300), long("rdn-b", 237), long("rdn-c", 235) + ","} {
		wantError(t, e.Do("POST", "/Users", user(name, nil)), 400, "invalidValue", "userName is too long to name a directory entry", "at most 240 bytes")
	}
	if n := e.countPeople(); n != before {
		t.Errorf("%d entries in ou=people after refused creates, want %d", n, before)
	}
	// "uid=" + 236 bytes is 240: still fine, as is a 230-character userName.
	edge := long("rdn-edge", 236)
	e.MustCreate("/Users", user(edge, nil))
	id := e.MustCreate("/Users", user(long("rdn-ok", 230), nil))

	// Renames (PATCH, PUT) are checked the same way; the entry stays as it was.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "userName", long("rdn-ren", 300)))), 400, "invalidValue", "userName is too long")
	wantError(t, e.Do("PUT", "/Users/"+id, user(long("rdn-put", 300), nil)), 400, "invalidValue", "userName is too long")
	if got := e.entry("(entryUUID=" + id + ")"); got == nil || got.GetAttributeValue("uid") != long("rdn-ok", 230) {
		t.Errorf("entry after refused renames: %+v", got)
	}

	// Groups are named by cn = displayName.
	wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": long("rdn-grp", 300)}), 400, "invalidValue", "displayName is too long to name a directory entry")
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "rdn-grp"})
	wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("replace", "displayName", long("rdn-grp", 300)))), 400, "invalidValue", "displayName is too long")
	if e.groupEntry("rdn-grp") == nil {
		t.Error("the group was renamed")
	}
}

// slapd applies insignificant space handling (RFC 4518 §2.6.1) to substring
// assertions: `userName ew " "` became (uid=* ), which every user matched, so
// the list came back unfiltered. Such filters are refused; eq on spaces is not.
func TestSpacesOnlySubstringFilterIsRefusedNotAFullList(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"sp-f1", "sp-f2"} {
		e.MustCreate("/Users", user(n, map[string]any{"displayName": "Sp " + n, "name": map[string]any{"familyName": "Fam"}}))
	}
	for filter, name := range map[string]string{
		`userName ew " "`:        "userName",
		`name.familyName ew " "`: "name.familyName",
		`displayName co "  "`:    "displayName",
		`userName sw " "`:        "userName",
		`emails.value sw " "`:    "emails.value",
	} {
		t.Run(filter, func(t *testing.T) {
			for _, r := range []response{
				e.Do("GET", "/Users"+filterQ(filter), nil),
				e.Do("POST", "/Users/.search", map[string]any{"filter": filter}),
				e.Do("POST", "/.search", map[string]any{"filter": filter}),
			} {
				wantError(t, r, 400, "invalidFilter", `"`+name+`"`, "only spaces", "RFC 4518")
			}
		})
	}
	// eq on spaces compares whole values, which no user has.
	if r := e.Do("GET", "/Users"+filterQ(`userName eq " "`), nil); r.Status != 200 || r.Body["totalResults"] != float64(0) {
		t.Errorf(`userName eq " ": %d %s`, r.Status, r.Raw)
	}
}

// A member whose id is empty names no one: POST and PUT dropped it and
// answered 201/200 as if it were stored. Now 400 invalidValue naming members,
// nothing written, like PATCH already answered. An empty manager stays "no
// manager" (RFC 7643 §2.5).
func TestEmptyMemberIDIsRefused(t *testing.T) {
	e := newEnv(t)
	uid := e.MustCreate("/Users", user("em-u", nil))
	gid := e.createGroup("em-g", uid)
	for _, members := range [][]any{
		{map[string]any{"value": ""}},
		{map[string]any{"value": uid}, map[string]any{"value": ""}},
		{map[string]any{"value": nil, "display": "x"}},
	} {
		wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": "em-new", "members": members}), 400, "invalidValue", "members", `"value"`)
		wantError(t, e.Do("PUT", "/Groups/"+gid, map[string]any{"displayName": "em-g2", "members": members}), 400, "invalidValue", "members", `"value"`)
		wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("add", "members", members))), 400, "invalidValue", "members", `"value"`)
		wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("replace", "", map[string]any{"members": members}))), 400, "invalidValue", "members", `"value"`)
	}
	if g := e.groupEntry("em-new"); g != nil {
		t.Errorf("group created: %s", g.DN)
	}
	if m := e.ldapMembers("em-g"); len(m) != 1 || !strings.HasPrefix(m[0], "uid=em-u,") {
		t.Errorf("members after refused writes: %q", m)
	}

	// manager: {"value": ""} is no manager, on POST, PUT and PATCH.
	boss := e.MustCreate("/Users", user("em-boss", nil))
	noMgr := map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": ""}}}
	if r := e.Do("POST", "/Users", user("em-m", noMgr)); r.Status != 201 || e.entry("(uid=em-m)").GetAttributeValue("manager") != "" {
		t.Errorf("POST with an empty manager: %d %s", r.Status, r.Raw)
	}
	mid := e.MustCreate("/Users", user("em-m2", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": boss}}}))
	if r := e.Do("PUT", "/Users/"+mid, user("em-m2", noMgr)); r.Status != 200 || e.entry("(uid=em-m2)").GetAttributeValue("manager") != "" {
		t.Errorf("PUT with an empty manager: %d %s", r.Status, r.Raw)
	}
	e.MustPatch("/Users/"+mid, patchBody(op("replace", entSchema+":manager", map[string]any{"value": boss})))
	if r := e.Do("PATCH", "/Users/"+mid, patchBody(op("replace", entSchema+":manager", map[string]any{"value": ""}))); r.Status != 200 || e.entry("(uid=em-m2)").GetAttributeValue("manager") != "" {
		t.Errorf("PATCH replace with an empty manager: %d %s", r.Status, r.Raw)
	}
}

func TestBadInputIsPreciseAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	before := e.countPeople()
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
		detail   string
	}{
		{"not JSON", "{bad", 400, "invalidSyntax", "JSON"},
		{"empty", "", 400, "invalidSyntax", "empty"},
		{"array", "[]", 400, "invalidSyntax", "JSON"},
		{"trailing data", `{"userName":"x"} {}`, 400, "invalidSyntax", "after"},
		{"no userName", user("", map[string]any{"displayName": "x"}), 400, "invalidValue", "userName"},
		{"userName not a string", map[string]any{"userName": 5}, 400, "invalidValue", "userName"},
		{"name not an object", map[string]any{"userName": "n1", "name": "x"}, 400, "invalidValue", "name"},
		{"emails not an array", map[string]any{"userName": "n2", "emails": "a@b"}, 400, "invalidValue", "emails"},
		{"wrong schema", map[string]any{"schemas": []string{"urn:x"}, "userName": "n3"}, 400, "invalidValue", "schemas"},
		{"unknown manager", user("n4", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": "7d3bcbf1-0000-0000-0000-000000000000"}}}), 400, "invalidValue", "manager"},
		{"manager not a string", user("n5", map[string]any{entSchema: map[string]any{"manager": map[string]any{"value": 12}}}), 400, "invalidValue", "manager"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do("POST", "/Users", c.body)
			wantError(t, r, c.status, c.scimType)
			if d, _ := r.Body["detail"].(string); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q should mention %q", d, c.detail)
			}
		})
	}
	r := e.Do("POST", "/Users", `{"userName":"ct"}`, "Content-Type", "text/plain")
	wantError(t, r, 415, "invalidSyntax")
	big := `{"userName":"` + strings.Repeat("x", gateway.MaxBodyBytes) + `"}`
	wantError(t, e.Do("POST", "/Users", big), 413, "")

	for _, q := range []string{filterQ(`userName eq`), filterQ(`nickName eq "x"`), filterQ(`userName eq "a" or`), "?startIndex=abc", "?count=1.5"} {
		r := e.Do("GET", "/Users"+q, nil)
		if r.Status != 400 {
			t.Errorf("GET %s: %d %s", q, r.Status, r.Raw)
		}
	}
	wantError(t, e.Do("GET", "/Users"+filterQ(`nickName eq "x"`), nil), 400, "invalidFilter")
	if e.countPeople() != before {
		t.Errorf("bad input wrote entries: %d → %d", before, e.countPeople())
	}
	wantError(t, e.Do("GET", "/Users/not-a-uuid", nil), 404, "")
	wantError(t, e.Do("PUT", "/Users/00000000-0000-0000-0000-000000000000", user("ghost", nil)), 404, "")
	r405 := e.Do("DELETE", "/Users", nil)
	wantError(t, r405, 405, "")
	if got := r405.Header.Get("Allow"); got != "GET, HEAD, POST" { // RFC 9110 §15.5.6
		t.Errorf("405 on /Users: Allow %q, want \"GET, HEAD, POST\"", got)
	}
	if got := e.Do("POST", "/Users/00000000-0000-0000-0000-000000000000", user("x", nil)).Header.Get("Allow"); got != "GET, HEAD, PUT, PATCH, DELETE" {
		t.Errorf("405 on /Users/{id}: Allow %q", got)
	}
	for _, path := range []string{"/Users/.search", "/Groups/.search", "/.search"} { // RFC 7644 §3.4.3: POST only
		for _, method := range []string{"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			r := e.Do(method, path, nil)
			if method != "HEAD" { // no body (RFC 9110 §9.3.2)
				wantError(t, r, 405, "")
			}
			if r.Status != 405 {
				t.Errorf("%s %s: status %d", method, path, r.Status)
			}
			if got := r.Header.Get("Allow"); got != "POST" {
				t.Errorf("%s %s: Allow %q, want \"POST\"", method, path, got)
			}
		}
	}
	wantError(t, e.Do("GET", "/Nope", nil), 404, "")
}

func TestEscapingOfDNsAndFilters(t *testing.T) {
	e := newEnv(t)
	names := []string{`o'malley, jr+x=y;"q"<a>\b#`, `star*(paren)`, ` lead`, `#hash`, `zoë@example.org`}
	for _, n := range names {
		r := e.Do("POST", "/Users", user(n, nil))
		if r.Status != 201 {
			t.Fatalf("create %q: %d %s", n, r.Status, r.Raw)
		}
		l := e.Do("GET", "/Users"+filterQ(fmt.Sprintf(`userName eq %q`, n)), nil)
		if l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "userName") != n {
			t.Errorf("filter for %q: %s", n, l.Raw)
		}
	}
	// A '*' in a value is a literal, never a wildcard.
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "star*"`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("'*' acted as a wildcard: %s", l.Raw)
	}
}

func TestBodyMustBeUTF8(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.Do("POST", "/Users", "{\"userName\":\"inv\xff\"}"), 400, "invalidSyntax")
}

func TestBodyLimitAndRequestID(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{rwToken}, MaxBodyBytes: 2048})
	big := newUser("big")
	big["title"] = strings.Repeat("x", 4096)
	r := e.call("POST", "/Users", bearer(rwToken), big)
	if r.Status != 413 || !strings.Contains(r.Raw, "2048") {
		t.Errorf("oversized body: %d %s", r.Status, r.Raw)
	}
	// bulk.maxPayloadSize is the Bulk request's own limit (BulkMaxPayloadSize), not this one.
	if r := e.call("GET", "/ServiceProviderConfig", bearer(rwToken), nil); !strings.Contains(r.Raw, `"maxPayloadSize":1048576`) {
		t.Errorf("bulk.maxPayloadSize is not the default Bulk limit: %s", r.Raw)
	}
	// A request id that is not sane is replaced.
	r = e.call("GET", "/Users?count=0", bearer(rwToken), nil, "X-Request-Id", "bad id\twith spaces")
	if id := r.Header.Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("request id %q, want a fresh 32-hex one", id)
	}
}

// A body that names an attribute by its path ("urn:…:User:employeeNumber")
// instead of holding it in its schema's object (RFC 7643 §3) is refused with
// 400 invalidSyntax, naming the form to use, on POST and PUT alike: ignoring
// the key would drop the value, and a PUT would clear the stored one.
func TestPathKeysInABodyAreRefused(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("path.keys", map[string]any{entSchema: map[string]any{"employeeNumber": "556"}}))
	before := e.entry("(uid=path.keys)")
	for _, key := range []string{entSchema + ":employeeNumber", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:employeeNumber"} {
		body := user("path.keys", map[string]any{key: "557"})
		wantError(t, e.Do("PUT", "/Users/"+id, body), 400, "invalidSyntax", entSchema)
		wantError(t, e.Do("POST", "/Users", user("path.keys2", map[string]any{key: "557"})), 400, "invalidSyntax", "employeeNumber")
	}
	after := e.entry("(uid=path.keys)")
	if after.GetAttributeValue("employeeNumber") != "556" || after.GetAttributeValue("entryCSN") != before.GetAttributeValue("entryCSN") {
		t.Errorf("a refused PUT changed the entry: employeeNumber %q", after.GetAttributeValue("employeeNumber"))
	}
	if e.entry("(uid=path.keys2)") != nil {
		t.Error("a refused POST created the entry")
	}
}
