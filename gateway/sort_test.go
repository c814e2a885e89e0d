package gateway_test

// Sorting (RFC 7644 §3.4.2.3) across pages, and a directory that cannot sort
// as asked.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
)

// pageThrough fetches every page of size n and returns the userNames in order.
func pageThrough(t *testing.T, e *env, query string, n int) []string {
	t.Helper()
	var all []string
	for start := 1; ; start += n {
		r := e.Do("GET", fmt.Sprintf("/Users?%s&startIndex=%d&count=%d", query, start, n), nil)
		page := listNames(t, r)
		if r.Body["startIndex"] != float64(start) {
			t.Fatalf("startIndex %v, want %d", r.Body["startIndex"], start)
		}
		all = append(all, page...)
		if len(page) < n {
			if int(r.Body["totalResults"].(float64)) != len(all) {
				t.Fatalf("totalResults %v, but %d users came", r.Body["totalResults"], len(all))
			}
			return all
		}
	}
}

func TestSortingAcrossPages(t *testing.T) {
	e := newFxEnv(t)
	var uids []string
	for _, u := range fxUsers {
		uids = append(uids, u.uid)
	}
	asc := slices.Clone(uids)
	slices.Sort(asc)
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	if got := pageThrough(t, e, "sortBy=userName", 37); !slices.Equal(got, asc) {
		t.Errorf("ascending:\n got  %v\n want %v", got, asc)
	}
	if got := pageThrough(t, e, "sortBy=USERNAME&sortOrder=DESCENDING", 41); !slices.Equal(got, desc) {
		t.Errorf("descending:\n got  %v\n want %v", got, desc)
	}
	if got := pageThrough(t, e, "sortBy=urn:ietf:params:scim:schemas:core:2.0:User:userName&sortOrder=ascending&filter="+url.QueryEscape(`title eq "Manager"`), 9); !slices.Equal(got, expectSorted(func(u *fxUser) bool { return u.title == "Manager" })) {
		t.Errorf("filtered and sorted: %v", got)
	}

	// familyName has many ties: case-insensitive order (adams < García < Jones <
	// Müller < Ng < O'Brien < Smith < Special), every user exactly once, the same
	// order on every walk (ties broken by id).
	familyOf := map[string]string{}
	for _, u := range fxUsers {
		familyOf[u.uid] = u.family
	}
	order := []string{"adams", "García", "Jones", "Müller", "Ng", "O'Brien", "Smith", "Special"}
	for _, sortOrder := range []string{"ascending", "descending"} {
		first := pageThrough(t, e, "sortBy=name.familyName&sortOrder="+sortOrder, 23)
		if !sameSet(first, uids) || len(first) != len(uids) {
			t.Fatalf("%s: %d users, want each of %d once", sortOrder, len(first), len(uids))
		}
		var got []string
		for _, uid := range first {
			if f := familyOf[uid]; len(got) == 0 || got[len(got)-1] != f {
				got = append(got, f)
			}
		}
		want := slices.Clone(order)
		if sortOrder == "descending" {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s family order %v, want %v", sortOrder, got, want)
		}
		if again := pageThrough(t, e, "sortBy=name.familyName&sortOrder="+sortOrder, 17); !slices.Equal(again, first) {
			t.Errorf("%s: a second walk with other page sizes gave another order", sortOrder)
		}
	}

	// Entries without the sort attribute come last ascending, first descending
	// (what slapd does; the README documents it).
	titled := func(names []string) []bool {
		var out []bool
		for _, n := range names {
			for _, u := range fxUsers {
				if u.uid == n {
					out = append(out, u.title != "")
				}
			}
		}
		return out
	}
	tAsc := titled(pageThrough(t, e, "sortBy=title", 100))
	if i := slices.Index(tAsc, false); i < 0 || slices.Contains(tAsc[i:], true) {
		t.Errorf("ascending by title: untitled users are not all at the end")
	}
	tDesc := titled(pageThrough(t, e, "sortBy=title&sortOrder=descending", 100))
	if i := slices.Index(tDesc, true); i <= 0 || slices.Contains(tDesc[i:], false) {
		t.Errorf("descending by title: untitled users are not all at the start")
	}

	// Unsortable or unknown attributes and bad sortOrder: 400 invalidValue naming them.
	for q, detail := range map[string]string{
		"sortBy=nickName":                    `"nickName"`,
		"sortBy=phoneNumbers":                "telephoneNumber, mobile",
		"sortBy=name":                        "sub-attributes",
		"sortBy=userName&sortOrder=sideways": "sideways",
		"sortBy=" + url.QueryEscape("a b"):   "not an attribute path",
	} {
		r := e.Do("GET", "/Users?"+q, nil)
		wantError(t, r, 400, "invalidValue")
		if d, _ := r.Body["detail"].(string); !strings.Contains(d, detail) {
			t.Errorf("%s: detail %q should mention %s", q, d, detail)
		}
	}
	if spc := e.Do("GET", "/ServiceProviderConfig", nil); get(spc.Body, "sort", "supported") != true {
		t.Errorf("slapd offers sorting, sort.supported should be true: %s", spc.Raw)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func expectSorted(pred func(u *fxUser) bool) []string {
	out := expect(pred)
	slices.Sort(out)
	return out
}

// A gateway whose directory offers no sorting says so and refuses sortBy
// instead of ignoring it. (No store at all: the request never reaches LDAP.)
func TestSortByWithoutDirectorySupport(t *testing.T) {
	e := fxEnvWith(t, gateway.Config{Mapping: fxMapping(t), Log: zerolog.Nop(), Tokens: []string{token}})
	if spc := e.Do("GET", "/ServiceProviderConfig", nil); get(spc.Body, "sort", "supported") != false {
		t.Errorf("sort.supported: %s", spc.Raw)
	}
	for _, r := range []response{
		e.Do("GET", "/Users?sortBy=userName", nil),
		e.Do("POST", "/.search", map[string]any{"sortBy": "userName"}),
	} {
		wantError(t, r, 400, "invalidValue")
		if d, _ := r.Body["detail"].(string); !strings.Contains(d, "does not offer server-side sorting") {
			t.Errorf("detail %q", d)
		}
	}
}

// An ordering rule the directory does not know (a mapping mistake) is a 400
// naming sortBy and the option, not a 500; filters on the attribute still work.
func TestSortByRuleTheDirectoryRefuses(t *testing.T) {
	fxOnce.Do(func() { fxErr = loadFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	m := fxMapping(t, "{ldap: title}", "{ldap: title, ordering: noSuchOrderingMatch}")
	e := fxEnvWith(t, gateway.Config{Mapping: m, Store: openStore(t), Log: zerolog.Nop(), Tokens: []string{token}})
	r := e.Do("GET", "/Users?sortBy=title", nil)
	wantError(t, r, 400, "invalidValue")
	if d, _ := r.Body["detail"].(string); !strings.Contains(d, "title:noSuchOrderingMatch") || !strings.Contains(d, "ordering:") {
		t.Errorf("detail %q", d)
	}
	if got := listNames(t, e.Do("GET", "/Users"+filterQ(`title eq "Manager"`)+"&count=1000", nil)); !sameSet(got, expect(func(u *fxUser) bool { return u.title == "Manager" })) {
		t.Errorf("filter on title: %v", got)
	}
}
