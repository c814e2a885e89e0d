package gateway_test

// Paging: startIndex and count (RFC 7644 §3.4.2.4), cursors (RFC 9865), VLV,
// and directory size limits.

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
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

// A first page that the directory's own size limit cuts short is asked again
// with the paged results control. The service account here has slapd limits
// like Active Directory's defaults: at most 500 entries per plain search (hard
// limit, whatever the client asks), paged searches unlimited (slapd.conf(5),
// "limits"). A list of 520 matches with count=1000 comes whole, not as an
// error or a partial page.
func TestFirstPageBeyondDirectorySizeLimit(t *testing.T) {
	run := fmt.Sprintf("lim%x", time.Now().UnixNano()%0xffffff)
	admin := newEnv(t)
	readerDN := "cn=" + run + "-reader,dc=example,dc=org"
	add := ldap.NewAddRequest(readerDN, nil)
	add.Attribute("objectClass", []string{"organizationalRole", "simpleSecurityObject"})
	add.Attribute("cn", []string{run + "-reader"})
	add.Attribute("userPassword", []string{"reader-secret"})
	if err := admin.ldap.Add(add); err != nil {
		t.Fatal(err)
	}
	cfg, err := ldap.DialURL("ldapi://" + url.PathEscape(filepath.Join(slapd.Dir, "ldapi")))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.ExternalBind(); err != nil {
		t.Fatal(err)
	}
	limits := fmt.Sprintf(`dn.exact="%s" size.soft=500 size.hard=500 size.pr=unlimited size.prtotal=unlimited`, readerDN)
	setLimits := func(op func(m *ldap.ModifyRequest)) {
		m := ldap.NewModifyRequest("olcDatabase={1}mdb,cn=config", nil)
		op(m)
		if err := cfg.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	setLimits(func(m *ldap.ModifyRequest) { m.Add("olcLimits", []string{limits}) })
	defer func() { setLimits(func(m *ldap.ModifyRequest) { m.Delete("olcLimits", []string{limits}) }) }()
	const n = 520
	addPeople(t, run+"-", n)
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: readerDN, BindPassword: "reader-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e := newEnvOn(t, exampleMapping(t), store)
	r := e.Do("GET", "/Users?count=1000&attributes=userName&filter="+url.QueryEscape(`userName sw "`+run+`-"`), nil)
	names := listNames(t, r)
	if r.Body["totalResults"] != float64(n) || len(names) != n {
		t.Fatalf("totalResults %v and %d resources, want %d of each", r.Body["totalResults"], len(names), n)
	}
	slices.Sort(names)
	if names[0] != run+"-00000" || names[n-1] != fmt.Sprintf("%s-%05d", run, n-1) || len(slices.Compact(names)) != n {
		t.Errorf("not each match once: first %s, last %s", names[0], names[n-1])
	}
	// The same list read with a count below the limit: the first page and the number.
	r = e.Do("GET", "/Users?count=10&attributes=userName&filter="+url.QueryEscape(`userName sw "`+run+`-"`), nil)
	if names := listNames(t, r); r.Body["totalResults"] != float64(n) || len(names) != 10 {
		t.Errorf("count=10: totalResults %v and %d resources", r.Body["totalResults"], len(names))
	}
	// A page larger than the account's limit but smaller than the list: the
	// entries the directory gives (500), fewer than count as RFC 7644 §3.4.2.4
	// allows, and the next page starts after them; every match once.
	var walked []string
	for start := 1; start <= n; {
		r := e.Do("GET", fmt.Sprintf("/Users?count=510&startIndex=%d&attributes=userName&filter=%s", start, url.QueryEscape(`userName sw "`+run+`-"`)), nil)
		names := listNames(t, r)
		if r.Body["totalResults"] != float64(n) || len(names) == 0 || len(names) > 510 || r.Body["itemsPerPage"] != float64(len(names)) {
			t.Fatalf("count=510 startIndex=%d: totalResults %v, itemsPerPage %v, %d resources", start, r.Body["totalResults"], r.Body["itemsPerPage"], len(names))
		}
		walked = append(walked, names...)
		start += len(names)
	}
	slices.Sort(walked)
	if len(walked) != n || len(slices.Compact(walked)) != n {
		t.Errorf("walk by pages of 510 beyond a limit of 500: %d entries, %d distinct", len(walked), len(slices.Compact(walked)))
	}
	// slapd's default shape for an account other than the rootdn: 500 per
	// search, paged or not (`size=500`).
	prev := limits
	limits = fmt.Sprintf(`dn.exact="%s" size=500`, readerDN)
	setLimits(func(m *ldap.ModifyRequest) {
		m.Delete("olcLimits", []string{prev})
		m.Add("olcLimits", []string{limits})
	})
	for _, count := range []int{1000, 510, 500, 10} {
		r := e.Do("GET", fmt.Sprintf("/Users?count=%d&attributes=userName&filter=%s", count, url.QueryEscape(`userName sw "`+run+`-"`)), nil)
		names := listNames(t, r)
		if r.Body["totalResults"] != float64(n) || len(names) == 0 || len(names) > min(count, 500) {
			t.Errorf("size=500, count=%d: totalResults %v, %d resources", count, r.Body["totalResults"], len(names))
		}
	}
	// Paged searches limited too (size.pr below the page asked for): slapd
	// answers 11 adminLimitExceeded, which is the client's to fix with a
	// smaller count: 400 tooMany, not 500.
	old := limits
	limits = fmt.Sprintf(`dn.exact="%s" size.soft=500 size.hard=500 size.pr=100`, readerDN)
	setLimits(func(m *ldap.ModifyRequest) {
		m.Delete("olcLimits", []string{old})
		m.Add("olcLimits", []string{limits})
	})
	wantError(t, e.Do("GET", "/Users?count=1000&attributes=userName&filter="+url.QueryEscape(`userName sw "`+run+`-"`), nil), 400, "tooMany")
}

// A first page holds at most count resources, also when exactly count+1 match
// (the size-limited probe then gets count+1 entries without an error), sorted
// or not, by GET or by POST .search; totalResults is the number of matches.
func TestFirstPageHoldsAtMostCount(t *testing.T) {
	e := newEnv(t)
	run := fmt.Sprintf("fp%x", time.Now().UnixNano()%0xffffff)
	const n = 6
	addPeople(t, run+"-", n)
	filter := url.QueryEscape(`userName sw "` + run + `-"`)
	for _, c := range []struct {
		query string
		want  int
	}{
		{"count=5", 5}, {"count=6", 6}, {"count=7", 6}, {"count=1", 1}, {"count=5&sortBy=userName", 5},
		{"count=5&sortBy=userName&sortOrder=descending", 5}, {"count=6&sortBy=userName", 6}, {"count=5&excludedAttributes=emails", 5},
	} {
		r := e.Do("GET", "/Users?attributes=userName&filter="+filter+"&"+c.query, nil)
		names := listNames(t, r)
		if len(names) != c.want || r.Body["totalResults"] != float64(n) || r.Body["itemsPerPage"] != float64(c.want) {
			t.Errorf("%s: %d resources, itemsPerPage %v, totalResults %v; want %d, %d, %d", c.query, len(names), r.Body["itemsPerPage"], r.Body["totalResults"], c.want, c.want, n)
		}
		if strings.Contains(c.query, "descending") && len(names) > 0 && names[0] != fmt.Sprintf("%s-%05d", run, n-1) {
			t.Errorf("%s: first %s", c.query, names[0])
		}
	}
	r := e.Do("POST", "/Users/.search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `userName sw "` + run + `-"`, "count": 5, "attributes": []string{"userName"}})
	if names := listNames(t, r); len(names) != 5 || r.Body["totalResults"] != float64(n) {
		t.Errorf("POST .search count 5: %d resources, totalResults %v", len(names), r.Body["totalResults"])
	}
	// The next page starts where the first ended: every match once over the two.
	first := listNames(t, e.Do("GET", "/Users?attributes=userName&count=5&filter="+filter, nil))
	second := listNames(t, e.Do("GET", "/Users?attributes=userName&count=5&startIndex=6&filter="+filter, nil))
	all := slices.Concat(first, second)
	slices.Sort(all)
	if len(all) != n || len(slices.Compact(all)) != n {
		t.Errorf("pages 1 and 2 of count 5: %v and %v", first, second)
	}
}

func TestStartIndexAndCountPaging(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 7; i++ {
		if r := e.Do("POST", "/Users", user(fmt.Sprintf("pager%d", i), map[string]any{"title": "Pager"})); r.Status != 201 {
			t.Fatal(r.Raw)
		}
	}
	q := filterQ(`title eq "Pager"`)
	var ids []string
	for start := 1; start <= 7; start += 3 {
		l := e.Do("GET", fmt.Sprintf("/Users%s&startIndex=%d&count=3", q, start), nil)
		if l.Body["totalResults"] != 7.0 || l.Body["startIndex"] != float64(start) {
			t.Fatalf("page %d: %s", start, l.Raw)
		}
		res := l.Body["Resources"].([]any)
		if l.Body["itemsPerPage"] != float64(len(res)) || len(res) != min(3, 8-start) {
			t.Errorf("page at %d has %d items: %s", start, len(res), l.Raw)
		}
		for _, r := range res {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(seen) != 7 {
		t.Errorf("pages returned %d distinct users, want 7", len(seen))
	}
	l := e.Do("GET", "/Users"+q+"&startIndex=50", nil)
	if res, ok := l.Body["Resources"].([]any); !ok || len(res) != 0 || l.Body["totalResults"] != 7.0 {
		t.Errorf("past the end: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+q+"&count=0", nil)
	if res, ok := l.Body["Resources"].([]any); !ok || len(res) != 0 || l.Body["totalResults"] != 7.0 {
		t.Errorf("count=0: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+q+"&startIndex=-4&count=-1", nil)
	if l.Status != 200 || l.Body["startIndex"] != 1.0 || l.Body["itemsPerPage"] != 0.0 {
		t.Errorf("negative values: %s", l.Raw)
	}
	l = e.Do("GET", "/Users"+filterQ(`userName eq "7d3bcbf1-nobody"`), nil)
	if res, ok := l.Body["Resources"].([]any); l.Status != 200 || !ok || len(res) != 0 || l.Body["totalResults"] != 0.0 {
		t.Errorf("no match must be 200 with Resources: [] (Entra's Test Connection): %s", l.Raw)
	}
}
