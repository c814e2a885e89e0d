package gateway_test

// Users end to end: create, read, find, replace and delete against slapd, and
// what each step leaves in the directory.

import "testing"

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	body := user("alice@example.org", map[string]any{
		"externalId":   "0a21f0f2-8a2b",
		"active":       true,
		"name":         map[string]any{"givenName": "Alice", "familyName": "Smith", "formatted": "Alice Smith"},
		"emails":       []any{map[string]any{"primary": true, "type": "work", "value": "alice@example.org"}, map[string]any{"type": "home", "value": "alice@home.example"}},
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}},
		"title":        "Engineer",
		entSchema:      map[string]any{"employeeNumber": "701984", "department": "Tour Operations"},
		"roles":        []any{},
		"addresses":    nil,
	})
	r := e.Do("POST", "/Users", body)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id, _ := r.Body["id"].(string)
	if loc := r.Header.Get("Location"); loc != e.srv.URL+"/scim/v2/Users/"+id {
		t.Errorf("Location %q", loc)
	}
	if get(r.Body, "meta", "location") != r.Header.Get("Location") {
		t.Errorf("meta.location %v", get(r.Body, "meta", "location"))
	}

	// The entry is in slapd with the mapped attributes, and id is its entryUUID.
	ent := e.entry("(uid=alice@example.org)")
	if ent == nil {
		t.Fatal("no entry in slapd")
	}
	if ent.DN != "uid=alice@example.org,ou=people,dc=example,dc=org" {
		t.Errorf("DN %q", ent.DN)
	}
	for attr, want := range map[string]string{
		"entryUUID": id, "givenName": "Alice", "sn": "Smith", "cn": "Alice Smith", "mail": "alice@example.org",
		"telephoneNumber": "+1 555 0100", "title": "Engineer", "employeeNumber": "701984",
		"departmentNumber": "Tour Operations", "uniqueIdentifier": "0a21f0f2-8a2b",
	} {
		if got := ent.GetAttributeValues(attr); len(got) != 1 || got[0] != want {
			t.Errorf("LDAP %s = %q, want %q", attr, got, want)
		}
	}
	if etag := r.Header.Get("ETag"); etag != `W/"`+ent.GetAttributeValue("entryCSN")+`"` || get(r.Body, "meta", "version") != etag {
		t.Errorf("ETag %q, meta.version %v, entryCSN %q", etag, get(r.Body, "meta", "version"), ent.GetAttributeValue("entryCSN"))
	}
	for _, k := range []string{"created", "lastModified"} {
		if s, _ := get(r.Body, "meta", k).(string); len(s) != len("2006-01-02T15:04:05Z") {
			t.Errorf("meta.%s = %q", k, s)
		}
	}
	if get(r.Body, "meta", "resourceType") != "User" {
		t.Errorf("meta.resourceType %v", get(r.Body, "meta", "resourceType"))
	}

	// GET by id.
	g := e.Do("GET", "/Users/"+id, nil)
	if g.Status != 200 || g.Body["userName"] != "alice@example.org" || get(g.Body, "name", "givenName") != "Alice" ||
		get(g.Body, "emails", "0", "value") != "alice@example.org" || get(g.Body, "emails", "0", "type") != "work" ||
		get(g.Body, entSchema, "employeeNumber") != "701984" || g.Body["externalId"] != "0a21f0f2-8a2b" {
		t.Fatalf("get: %d %s", g.Status, g.Raw)
	}
	if n := len(g.Body["emails"].([]any)); n != 1 {
		t.Errorf("emails %d: only the mapped work e-mail exists", n)
	}

	// Find by userName, case-insensitively; by externalId; by id.
	for _, f := range []string{`userName eq "ALICE@example.org"`, `externalId eq "0a21f0f2-8a2b"`, `id eq "` + id + `"`} {
		l := e.Do("GET", "/Users"+filterQ(f), nil)
		if l.Status != 200 || l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "id") != id {
			t.Errorf("filter %s: %d %s", f, l.Status, l.Raw)
		}
	}
	// externalId is caseExact (RFC 7643 §3.1).
	if l := e.Do("GET", "/Users"+filterQ(`externalId eq "0A21F0F2-8A2B"`), nil); l.Body["totalResults"] != 0.0 {
		t.Errorf("externalId matched case-insensitively: %s", l.Raw)
	}

	// Duplicate userName in another case → 409 uniqueness, nothing written.
	before := e.countPeople()
	wantError(t, e.Do("POST", "/Users", user("ALICE@EXAMPLE.ORG", nil)), 409, "uniqueness")
	if e.countPeople() != before {
		t.Error("a duplicate was written")
	}

	// PUT replaces: givenName changes, title and phone (absent) are cleared, read-only ignored.
	put := user("alice@example.org", map[string]any{
		"id": "ignored", "meta": map[string]any{"created": "2000-01-01T00:00:00Z"},
		"name":       map[string]any{"givenName": "Alicia", "familyName": "Smith"},
		"emails":     []any{map[string]any{"type": "work", "value": "alicia@example.org"}},
		"externalId": "0a21f0f2-8a2b",
	})
	p := e.Do("PUT", "/Users/"+id, put)
	if p.Status != 200 || get(p.Body, "name", "givenName") != "Alicia" || p.Body["title"] != nil || p.Body["id"] != id {
		t.Fatalf("put: %d %s", p.Status, p.Raw)
	}
	ent = e.entry("(entryUUID=" + id + ")")
	if ent.GetAttributeValue("givenName") != "Alicia" || ent.GetAttributeValue("title") != "" || ent.GetAttributeValue("telephoneNumber") != "" ||
		ent.GetAttributeValue("employeeNumber") != "" || ent.GetAttributeValue("mail") != "alicia@example.org" {
		t.Errorf("after PUT: %v", ent.Attributes)
	}
	if cn := ent.GetAttributeValue("cn"); cn != "Alicia Smith" {
		t.Errorf("cn default = %q, want the first template that fills", cn)
	}

	// DELETE → 204, then 404.
	if d := e.Do("DELETE", "/Users/"+id, nil); d.Status != 204 || d.Raw != "" {
		t.Fatalf("delete: %d %q", d.Status, d.Raw)
	}
	wantError(t, e.Do("GET", "/Users/"+id, nil), 404, "")
	wantError(t, e.Do("DELETE", "/Users/"+id, nil), 404, "")
	if e.entry("(uid=alice@example.org)") != nil {
		t.Error("entry still in slapd")
	}
}
