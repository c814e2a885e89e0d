package ds389test

// Lists on 389 DS: filters translated for it, startIndex paging, sortBy and
// cursors (server-side sorting and VLV as 389 DS offers them), as the
// gateway's service account (not the Directory Manager, which no limit or
// access rule binds).

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// names returns the userNames of a ListResponse, in order.
func names(t *testing.T, r map[string]any) []string {
	t.Helper()
	var out []string
	res, _ := r["Resources"].([]any)
	for _, x := range res {
		out = append(out, x.(map[string]any)["userName"].(string))
	}
	return out
}

func TestFiltersPagingAndSorting389DS(t *testing.T) {
	e := newEnv(t, "")
	var all []string
	ids := map[string]string{}
	for i := range 23 {
		n := fmt.Sprintf("lst-%02d", i)
		title := map[bool]string{true: "Engineer", false: "Manager"}[i%3 == 0]
		ids[n] = e.MustCreate("/Users", user(n, map[string]any{"title": title,
			"name":   map[string]any{"givenName": "G" + n, "familyName": fmt.Sprintf("F%02d", 22-i)},
			"emails": []any{map[string]any{"type": "work", "value": n + "@Example.org"}}, "active": i != 5}))
		all = append(all, n)
	}
	list := func(q string) map[string]any {
		t.Helper()
		r := e.Do("GET", "/Users?"+q, nil)
		if r.Status != 200 {
			t.Fatalf("GET /Users?%s: %s", q, r.Raw)
		}
		return r.Body
	}
	filtered := func(f, extra string) []string {
		t.Helper()
		got := names(t, list("filter="+url.QueryEscape(f)+"&count=100&attributes=userName"+extra))
		sort.Strings(got)
		return got
	}
	// Filters: each is translated to an LDAP filter that 389 DS evaluates.
	for f, want := range map[string][]string{
		`userName eq "LST-07"`:                                                 {"lst-07"},
		`userName sw "lst-0" and title eq "engineer"`:                          {"lst-00", "lst-03", "lst-06", "lst-09"},
		`emails.value co "-1" or userName ew "22"`:                             {"lst-10", "lst-11", "lst-12", "lst-13", "lst-14", "lst-15", "lst-16", "lst-17", "lst-18", "lst-19", "lst-22"},
		`userName gt "lst-20" and userName sw "lst"`:                           {"lst-21", "lst-22"},
		`userName le "lst-01" and userName sw "lst"`:                           {"lst-00", "lst-01"},
		`active eq false and userName sw "lst"`:                                {"lst-05"},
		`not (title pr) and userName sw "lst"`:                                 nil,
		`id eq "` + strings.ToUpper(ids["lst-04"]) + `"`:                       {"lst-04"},
		`meta.lastModified gt "2000-01-01T00:00:00Z" and userName eq "lst-03"`: {"lst-03"},
	} {
		if got := filtered(f, ""); !slices.Equal(got, want) {
			t.Errorf("filter %s: %v, want %v", f, got, want)
		}
	}

	// startIndex paging over every match: no page overlaps or skips.
	var paged []string
	for start := 1; start <= 23; start += 5 {
		b := list(fmt.Sprintf("filter=%s&startIndex=%d&count=5&attributes=userName", url.QueryEscape(`userName sw "lst-"`), start))
		if b["totalResults"] != 23.0 || b["startIndex"] != float64(start) {
			t.Fatalf("page at %d: totalResults %v startIndex %v", start, b["totalResults"], b["startIndex"])
		}
		paged = append(paged, names(t, b)...)
	}
	sort.Strings(paged)
	if !slices.Equal(paged, all) {
		t.Errorf("startIndex pages: %v", paged)
	}

	// sortBy, ascending and descending, across pages; familyName runs
	// against userName.
	for _, c := range []struct {
		sortBy, order string
		want          []string
	}{
		{"userName", "ascending", all},
		{"userName", "descending", reversed(all)},
		{"name.familyName", "ascending", reversed(all)},
	} {
		var got []string
		for start := 1; start <= 23; start += 10 {
			got = append(got, names(t, list(fmt.Sprintf("filter=%s&sortBy=%s&sortOrder=%s&startIndex=%d&count=10&attributes=userName",
				url.QueryEscape(`userName sw "lst-"`), c.sortBy, c.order, start)))...)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("sortBy %s %s: %v", c.sortBy, c.order, got)
		}
	}

	// A cursor walk (RFC 9865), ordered by id.
	var walked []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		b := list(fmt.Sprintf("filter=%s&cursor=%s&count=7&attributes=userName", url.QueryEscape(`userName sw "lst-"`), url.QueryEscape(cursor)))
		walked = append(walked, names(t, b)...)
		next, _ := b["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Strings(walked)
	if !slices.Equal(walked, all) {
		t.Errorf("cursor walk: %v", walked)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// 389 DS bounds every search of an account by its look-through limit (the
// candidates examined; nsslapd-lookthroughlimit, 5,000 by default, or the
// account's own nsLookThroughLimit): a list beyond it is 400 tooMany naming
// the limit, never a 5xx, while look-ups by id and by userName, which read
// one candidate through an index, still work.
func TestLookThroughLimit389DS(t *testing.T) {
	setup := newEnv(t, "")
	var id string
	for i := range 12 {
		id = setup.MustCreate("/Users", user(fmt.Sprintf("ltl-%02d", i), nil))
	}
	mod := func(op string) {
		t.Helper()
		m := ldap.NewModifyRequest(ds.BindDN, nil)
		if op == "add" {
			m.Replace("nsLookThroughLimit", []string{"5"})
		} else {
			m.Delete("nsLookThroughLimit", nil)
		}
		if err := setup.ldap.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	mod("add")
	t.Cleanup(func() { mod("delete") })
	e := newEnv(t, "") // binds after the change: 389 DS reads an account's limits at bind
	wantError(t, e.Do("GET", "/Users?startIndex=1&count=10", nil), 400, "tooMany")
	if g := e.Do("GET", "/Users/"+id, nil); g.Status != 200 {
		t.Errorf("GET by id under the limit: %s", g.Raw)
	}
	if l := e.Do("GET", "/Users"+filterQ(`userName eq "ltl-03"`), nil); l.Status != 200 || l.Body["totalResults"] != 1.0 {
		t.Errorf("filter by userName under the limit: %s", l.Raw)
	}
	if containsLevel(e.logs.String(), "error") {
		t.Errorf("the gateway logged an error:\n%s", e.logs)
	}
}
