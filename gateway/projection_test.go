package gateway_test

// attributes and excludedAttributes (RFC 7644 §3.4.2.5, §3.9): what a
// response holds.

import (
	"maps"
	"net/url"
	"slices"
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

// meta under attributes and excludedAttributes (RFC 7644 §3.4.2.5, §3.9),
// on a GET and in a list: "meta.lastModified" keeps meta with lastModified
// alone, "meta" keeps all of it, excludedAttributes "meta.version" drops
// version only; the ETag header stays.
func TestAttributesMeta(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("projmeta@example.org", map[string]any{"title": "T"}))
	all := []string{"created", "lastModified", "location", "resourceType", "version"}
	for _, c := range []struct {
		query    string
		want     []string
		userName bool
	}{
		{"attributes=meta.lastModified", []string{"lastModified"}, false},
		{"attributes=userName," + url.QueryEscape(userSchema+":meta.version"), []string{"version"}, true},
		{"attributes=meta", all, false},
		{"excludedAttributes=meta.version", []string{"created", "lastModified", "location", "resourceType"}, true},
		{"excludedAttributes=meta", nil, true},
	} {
		g := e.Do("GET", "/Users/"+id+"?"+c.query, nil)
		l := e.Do("GET", "/Users"+filterQ(`userName eq "projmeta@example.org"`)+"&"+c.query, nil)
		for _, r := range []struct {
			what string
			body any
		}{{"GET", g.Body}, {"list", get(l.Body, "Resources", "0")}} {
			res, _ := r.body.(map[string]any)
			meta, has := res["meta"].(map[string]any)
			var got []string
			if has {
				got = slices.Sorted(maps.Keys(meta))
			}
			if !slices.Equal(got, c.want) || has != (c.want != nil) || res["id"] != id || (res["userName"] != nil) != c.userName {
				t.Errorf("%s ?%s: %v; want meta with %q, userName %v", r.what, c.query, res, c.want, c.userName)
			}
		}
		if g.Header.Get("ETag") == "" {
			t.Errorf("GET ?%s: no ETag", c.query)
		}
	}
}
