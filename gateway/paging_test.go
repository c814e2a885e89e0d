package gateway_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// cursorPage fetches one page of a cursor walk and returns the userNames, the
// next and previous cursors and totalResults.
func cursorPage(t *testing.T, e *env, filter, cursor string, count int) (names []string, next, prev string, total int) {
	t.Helper()
	r := e.Do("GET", fmt.Sprintf("/Users?filter=%s&cursor=%s&count=%d&attributes=userName", url.QueryEscape(filter), url.QueryEscape(cursor), count), nil)
	names = listNames(t, r)
	if _, ok := r.Body["startIndex"]; ok {
		t.Errorf("a cursor page carries startIndex: %s", r.Raw)
	}
	if r.Body["itemsPerPage"] != float64(len(names)) {
		t.Errorf("itemsPerPage %v for %d resources", r.Body["itemsPerPage"], len(names))
	}
	next, _ = r.Body["nextCursor"].(string)
	prev, _ = r.Body["previousCursor"].(string)
	return names, next, prev, int(r.Body["totalResults"].(float64))
}

// A cursor walk (RFC 9865) while entries are deleted and added between pages:
// every entry that exists for the whole walk comes exactly once, an entry
// deleted before the walk reached it never comes, new ones at most once, and
// totalResults is the number of matches at the time of each page.
func TestCursorWalkUnderDeletion(t *testing.T) {
	e := newEnv(t)
	const n, count = 300, 25
	dns := addPeople(t, "cwalk", n)
	filter := `userName sw "cwalk"`
	deleted := map[string]bool{} // uid → deleted
	seen := map[string]int{}
	alive := n
	del := func(uid string) {
		if err := e.ldap.Del(ldap.NewDelRequest("uid="+uid+",ou=people,dc=example,dc=org", nil)); err != nil {
			t.Fatal(err)
		}
		deleted[uid] = true
		alive--
	}
	added := 0
	cursor, pages := "", 0
	for {
		names, next, _, total := cursorPage(t, e, filter, cursor, count)
		pages++
		if total != alive {
			t.Errorf("page %d: totalResults %d, want %d", pages, total, alive)
		}
		for _, name := range names {
			seen[name]++
			if deleted[name] {
				t.Errorf("page %d returned %s, deleted before the walk reached it", pages, name)
			}
		}
		if next == "" {
			break
		}
		if pages > 2*n/count {
			t.Fatal("the walk does not end")
		}
		// Between pages: delete 3 entries not yet returned, 1 already returned,
		// and add one, in an order unrelated to the walk's (entryUUID) order.
		unseen := 0
		for k, i := 0, (pages*37)%n; unseen < 3 && k < n; k, i = k+1, (i+53)%n { // 53 is prime to n: every index once
			uid := fmt.Sprintf("cwalk%05d", i)
			if !deleted[uid] && seen[uid] == 0 {
				del(uid)
				unseen++
			}
		}
		if last := names[len(names)-1]; !deleted[last] {
			del(last) // the id the cursor names: the next page must still start right after it
		}
		add := ldap.NewAddRequest(fmt.Sprintf("uid=cwalknew%03d,ou=people,dc=example,dc=org", added), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{fmt.Sprintf("cwalknew%03d", added)})
		add.Attribute("cn", []string{"x"})
		add.Attribute("sn", []string{"x"})
		if err := e.ldap.Add(add); err != nil {
			t.Fatal(err)
		}
		added++
		alive++
		cursor = next
	}
	for _, dn := range dns {
		uid := dn[len("uid="):len("uid=cwalk00000")]
		if !deleted[uid] && seen[uid] != 1 {
			t.Errorf("%s survived the walk but came %d times", uid, seen[uid])
		}
	}
	for uid, k := range seen {
		if k > 1 {
			t.Errorf("%s came %d times", uid, k)
		}
	}
	t.Logf("%d pages; %d deleted during the walk, %d added", pages, len(deleted), added)
}

// previousCursor leads back to the page before; the first page has none, the
// last no nextCursor; count=0 gives totalResults only.
func TestCursorBackAndForth(t *testing.T) {
	e := newEnv(t)
	addPeople(t, "cback", 23)
	filter := `userName sw "cback"`
	var pages [][]string
	var prevs []string
	cursor := ""
	for {
		names, next, prev, total := cursorPage(t, e, filter, cursor, 5)
		if total != 23 {
			t.Fatalf("totalResults %d, want 23", total)
		}
		if (len(pages) == 0) != (prev == "") {
			t.Errorf("page %d: previousCursor %q", len(pages)+1, prev)
		}
		pages, prevs = append(pages, names), append(prevs, prev)
		if next == "" {
			break
		}
		cursor = next
	}
	var all []string
	for _, p := range pages {
		all = append(all, p...)
	}
	if len(pages) != 5 || len(all) != 23 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 23 {
		t.Fatalf("%d pages, %d names: %v", len(pages), len(all), pages)
	}
	for i := 1; i < len(pages); i++ {
		back, _, _, _ := cursorPage(t, e, filter, prevs[i], 5)
		if !slices.Equal(back, pages[i-1]) {
			t.Errorf("previousCursor of page %d gave %v, want page %d %v", i+1, back, i, pages[i-1])
		}
	}
	r := e.Do("GET", "/Users"+filterQ(filter)+"&cursor=&count=0", nil)
	if r.Body["totalResults"] != 23.0 || len(r.Body["Resources"].([]any)) != 0 || r.Body["nextCursor"] != nil {
		t.Errorf("count=0: %s", r.Raw)
	}
	// POST .search takes the cursor in the SearchRequest.
	s := e.Do("POST", "/Users/.search", map[string]any{"filter": filter, "cursor": "", "count": 5, "attributes": []string{"userName"}})
	if !slices.Equal(listNames(t, s), pages[0]) || s.Body["nextCursor"] == nil {
		t.Errorf(".search with cursor: %s", s.Raw)
	}
}

// Bad cursors are 400 invalidCursor (RFC 9865), never a 500: garbage, another
// list's cursor, a forged id; cursor with startIndex or sortBy is invalidValue.
func TestBadCursors(t *testing.T) {
	e := newEnv(t)
	addPeople(t, "cbad", 4)
	_, next, _, _ := cursorPage(t, e, `userName sw "cbad"`, "", 2)
	if next == "" {
		t.Fatal("no nextCursor")
	}
	for _, c := range []string{"x", "!!!", "eyJ2IjoxfQ", next + "A", "eyJ2IjoxLCJ0IjoiVXNlciIsImYiOiJ4IiwiYSI6IikoY249KikifQ"} {
		wantError(t, e.Do("GET", "/Users"+filterQ(`userName sw "cbad"`)+"&cursor="+url.QueryEscape(c), nil), 400, "invalidCursor")
	}
	wantError(t, e.Do("GET", "/Users"+filterQ(`userName sw "other"`)+"&cursor="+url.QueryEscape(next), nil), 400, "invalidCursor")
	wantError(t, e.Do("GET", "/Groups?cursor="+url.QueryEscape(next), nil), 400, "invalidCursor")
	wantError(t, e.Do("GET", "/Users?cursor=&startIndex=2", nil), 400, "invalidValue")
	wantError(t, e.Do("GET", "/Users?cursor=&sortBy=userName", nil), 400, "invalidValue")
	wantError(t, e.Do("POST", "/.search", map[string]any{"cursor": ""}), 400, "invalidValue")
	wantError(t, e.Do("POST", "/Users/.search", map[string]any{"cursor": 5}), 400, "invalidValue")

	spc := e.Do("GET", "/ServiceProviderConfig", nil)
	if get(spc.Body, "pagination", "cursor") != true || get(spc.Body, "pagination", "index") != true {
		t.Errorf("ServiceProviderConfig pagination: %v", spc.Body["pagination"])
	}
}

// With VLV, a page deep in a list costs the directory as many operations as
// one near its start (one VLV search on its own connection: bind + search),
// and the pages of a walk neither overlap nor skip.
func TestPageCostIndependentOfOffset(t *testing.T) {
	e := newEnv(t)
	addPeople(t, "pcost", 120)
	q := filterQ(`userName sw "pcost"`) + "&attributes=userName&count=10"
	ops := map[int]float64{}
	var all []string
	for start := 1; start <= 121; start += 10 {
		r := e.Do("GET", fmt.Sprintf("/Users%s&startIndex=%d", q, start), nil)
		if r.Body["totalResults"] != 120.0 {
			t.Fatalf("startIndex %d: %s", start, r.Raw)
		}
		all = append(all, listNames(t, r)...)
		ops[start] = e.lastLog()["ldap_ops"].(float64)
	}
	if len(all) != 120 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 120 {
		t.Errorf("the walk returned %d names, %d distinct; want 120", len(all), len(slices.Compact(slices.Sorted(slices.Values(all)))))
	}
	for start, n := range ops {
		if start > 1 && start <= 111 && n != 2 {
			t.Errorf("page at %d: %v LDAP operations, want 2 (VLV bind + search)", start, n)
		}
	}
	// Past the end: the VLV search fails (offset beyond the list), a second counts.
	if ops[121] != 4 {
		t.Errorf("page past the end: %v LDAP operations, want 4", ops[121])
	}
	// Page 1: a paged probe (released) and, since more matches exist, the VLV search.
	if ops[1] > 4 {
		t.Errorf("page 1: %v LDAP operations, want ≤ 4", ops[1])
	}
	// A list that fits one page is one search, with no sorting.
	e.Do("GET", "/Users"+filterQ(`userName eq "pcost00007"`), nil)
	if n := e.lastLog()["ldap_ops"].(float64); n != 1 {
		t.Errorf("filter userName eq: %v LDAP operations, want 1", n)
	}
}
