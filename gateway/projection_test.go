package gateway_test

// attributes and excludedAttributes (RFC 7644 §3.4.2.5, §3.9): what a
// response holds.

import (
	"net/url"
	"testing"
)

func TestAttributesAndExcludedAttributes(t *testing.T) {
	e := newEnv(t)
	r := e.Do("POST", "/Users?attributes=userName", user("proj@example.org", map[string]any{
		"name": map[string]any{"givenName": "P", "familyName": "Roj"}, "title": "T", entSchema: map[string]any{"employeeNumber": "9"}}))
	if r.Status != 201 || r.Body["title"] != nil || r.Body["userName"] != "proj@example.org" || r.Body["id"] == nil {
		t.Fatalf("create with attributes: %s", r.Raw)
	}
	id := r.Body["id"].(string)
	g := e.Do("GET", "/Users/"+id+"?attributes=name.givenName,"+url.QueryEscape(entSchema+":employeeNumber"), nil)
	if get(g.Body, "name", "givenName") != "P" || get(g.Body, "name", "familyName") != nil || g.Body["userName"] != nil ||
		get(g.Body, entSchema, "employeeNumber") != "9" || g.Body["id"] != id {
		t.Errorf("attributes: %s", g.Raw)
	}
	g = e.Do("GET", "/Users/"+id+"?excludedAttributes=name,title,"+url.QueryEscape(entSchema), nil)
	if g.Body["name"] != nil || g.Body["title"] != nil || g.Body[entSchema] != nil || g.Body["userName"] != "proj@example.org" || g.Body["id"] != id {
		t.Errorf("excludedAttributes: %s", g.Raw)
	}
	l := e.Do("GET", "/Users"+filterQ(`userName eq "proj@example.org"`)+"&attributes=title", nil)
	if get(l.Body, "Resources", "0", "title") != "T" || get(l.Body, "Resources", "0", "userName") != nil {
		t.Errorf("list attributes: %s", l.Raw)
	}
}
