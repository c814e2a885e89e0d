package gateway_test

// Filters, sorting and .search end to end: a few hundred users written straight
// to a private slapd under their own OU, and for every filter the exact set of
// entries computed from the same data in Go, compared with what the gateway
// returns. No LDAP mocks.

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const fxBase = "ou=fx,dc=example,dc=org"

// fxUser is one fixture entry as the test models it.
type fxUser struct {
	i                                 int
	uid, given, family, display, mail string
	title, emp, dept, extID           string
	manager                           int    // index of the manager, -1 for none
	id, modified                      string // entryUUID, modifyTimestamp (read back)
}

var (
	fxOnce  sync.Once
	fxUsers []*fxUser
	fxErr   error
)

var (
	givens   = []string{"Ann", "bob", "Zoë", "Émile", "Carla", "Dörte"}
	families = []string{"Smith", "Jones", "Müller", "O'Brien", "García", "Ng", "adams"}
	titles   = []string{"Engineer", "Manager", "", "Senior Engineer"}
	specials = []string{`a*b`, `a(b)c`, `back\slash`, `say "hi"`, `Zoë Ünal`, `x*)(uid=*`}
)

const fxN = 300

// fxMapping is the example mapping with Users under ou=fx.
func fxMapping(t testing.TB, edits ...string) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "mappings.example.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "base: ou=people,dc=example,dc=org", "base: "+fxBase, 1)
	for i := 0; i+1 < len(edits); i += 2 {
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	m, err := mapping.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newFxEnv(t *testing.T) *env {
	t.Helper()
	fxOnce.Do(func() { fxErr = loadFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fxEnvWith(t, gateway.Config{Mapping: fxMapping(t), Store: openStore(t), Log: zerolog.Nop(), Tokens: []string{token}})
}

func fxEnvWith(t *testing.T, cfg gateway.Config) *env {
	t.Helper()
	srv := httptest.NewServer(gateway.New(cfg))
	t.Cleanup(srv.Close)
	return &env{Client: &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}, t: t, srv: srv, logBuf: &bytes.Buffer{}}
}

// loadFixture writes fxN users plus one per special display name, then, a
// second later, modifies every 7th so modifyTimestamp tells them apart.
func loadFixture() error {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Bind(slapd.BindDN, slapd.Password); err != nil {
		return err
	}
	ou := ldap.NewAddRequest(fxBase, nil)
	ou.Attribute("objectClass", []string{"organizationalUnit"})
	ou.Attribute("ou", []string{"fx"})
	if err := c.Add(ou); err != nil {
		return err
	}
	for i := 0; i < fxN+len(specials); i++ {
		u := &fxUser{i: i, uid: fmt.Sprintf("fx%03d@example.org", i), given: givens[i%len(givens)], family: families[i%len(families)],
			title: titles[i%len(titles)], emp: fmt.Sprint(i), dept: fmt.Sprintf("D%d", i%5), manager: -1}
		if i%3 != 0 {
			u.mail = fmt.Sprintf("user.%03d@%s", i, map[bool]string{true: "x.example", false: "y.example"}[i%2 == 0])
		}
		if i%10 == 0 {
			u.extID = fmt.Sprintf("Ext-%03d", i)
		}
		if i%50 != 0 && i < fxN {
			u.manager = i / 50 * 50
		}
		if i >= fxN {
			u.uid = fmt.Sprintf("fxs%d@example.org", i-fxN)
			u.display, u.family = specials[i-fxN], "Special"
		}
		add := ldap.NewAddRequest("uid="+ldap.EscapeDN(u.uid)+","+fxBase, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson", "extensibleObject"})
		for attr, v := range map[string]string{"uid": u.uid, "givenName": u.given, "sn": u.family, "cn": u.given + " " + u.family,
			"displayName": u.display, "mail": u.mail, "title": u.title, "employeeNumber": u.emp, "departmentNumber": u.dept, "uniqueIdentifier": u.extID} {
			if v != "" {
				add.Attribute(attr, []string{v})
			}
		}
		if u.manager >= 0 {
			add.Attribute("manager", []string{"uid=" + fxUsers[u.manager].uid + "," + fxBase})
		}
		if err := c.Add(add); err != nil {
			return fmt.Errorf("add %s: %w", u.uid, err)
		}
		fxUsers = append(fxUsers, u)
	}
	time.Sleep(1100 * time.Millisecond) // modifyTimestamp has 1 s resolution
	for _, u := range fxUsers {
		if u.i%7 == 0 {
			mod := ldap.NewModifyRequest("uid="+ldap.EscapeDN(u.uid)+","+fxBase, nil)
			mod.Replace("description", []string{"touched"})
			if err := c.Modify(mod); err != nil {
				return err
			}
		}
	}
	res, err := c.Search(ldap.NewSearchRequest(fxBase, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)",
		[]string{"uid", "entryUUID", "modifyTimestamp"}, nil))
	if err != nil {
		return err
	}
	byUID := map[string]*fxUser{}
	for _, u := range fxUsers {
		byUID[u.uid] = u
	}
	for _, e := range res.Entries {
		u := byUID[e.GetAttributeValue("uid")]
		u.id, u.modified = e.GetAttributeValue("entryUUID"), e.GetAttributeValue("modifyTimestamp")
	}
	return nil
}

// names returns the userNames of the ListResponse, failing unless it is a 200
// whose totalResults equals its number of resources.
func listNames(t *testing.T, r response) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	var out []string
	for _, res := range r.Body["Resources"].([]any) {
		out = append(out, res.(map[string]any)["userName"].(string))
	}
	return out
}

func expect(pred func(u *fxUser) bool) []string {
	var out []string
	for _, u := range fxUsers {
		if pred(u) {
			out = append(out, u.uid)
		}
	}
	return out
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func rfc3339(gt string) string {
	tm, err := time.Parse("20060102150405Z", gt)
	if err != nil {
		panic(err)
	}
	return tm.Format(time.RFC3339)
}

func TestFilterOperatorsReturnExactSets(t *testing.T) {
	e := newFxEnv(t)
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	byUID := func(uid string) *fxUser {
		for _, u := range fxUsers {
			if u.uid == uid {
				return u
			}
		}
		t.Fatalf("no %s", uid)
		return nil
	}
	t1 := byUID("fx001@example.org").modified // created, never modified
	boss := byUID("fx050@example.org")
	cases := []struct {
		filter string
		pred   func(u *fxUser) bool
	}{
		// eq/ne, case-insensitive names, operators and values (caseIgnoreMatch)
		{`userName eq "FX007@Example.ORG"`, func(u *fxUser) bool { return u.i == 7 }},
		{`USERNAME EQ "fx007@example.org"`, func(u *fxUser) bool { return u.i == 7 }},
		{`userName ne "fx007@example.org"`, func(u *fxUser) bool { return u.i != 7 }},
		{`title eq "engineer"`, func(u *fxUser) bool { return u.title == "Engineer" }},
		{`title ne "Engineer"`, func(u *fxUser) bool { return u.title != "Engineer" }}, // absent counts as "not equal"
		// substrings
		{`emails co ".01"`, func(u *fxUser) bool { return strings.Contains(u.mail, ".01") }},
		{`emails.value ew "@X.example"`, func(u *fxUser) bool { return strings.HasSuffix(u.mail, "@x.example") }},
		{`title sw "senior"`, func(u *fxUser) bool { return strings.HasPrefix(u.title, "Senior") }},
		{`name.familyName sw "MÜ"`, func(u *fxUser) bool { return u.family == "Müller" }},
		{`name.givenName eq "ZOË"`, func(u *fxUser) bool { return u.given == "Zoë" }},
		// ordering on strings (caseIgnoreOrderingMatch through extensible matches)
		{`userName lt "fx010"`, func(u *fxUser) bool { return u.uid < "fx010" }},
		{`userName le "fx005@example.org"`, func(u *fxUser) bool { return u.uid <= "fx005@example.org" }},
		{`userName gt "fx005@example.org"`, func(u *fxUser) bool { return u.uid > "fx005@example.org" }},
		{`userName ge "FX290"`, func(u *fxUser) bool { return u.uid >= "fx290" }},
		{`employeeNumber gt "250"`, func(u *fxUser) bool { return u.emp > "250" }},
		{`externalId gt "Ext-250"`, func(u *fxUser) bool { return u.extID > "Ext-250" }}, // caseExactOrderingMatch
		{`externalId lt "ext"`, func(u *fxUser) bool { return u.extID != "" && u.extID < "ext" }},
		// presence
		{`title pr`, func(u *fxUser) bool { return u.title != "" }},
		{`emails pr`, func(u *fxUser) bool { return u.mail != "" }},
		{`not (title pr)`, func(u *fxUser) bool { return u.title == "" }},
		// and / or / not, precedence and parentheses
		{`title eq "Manager" and (emails ew "@y.example" or not (` + ent + `:department eq "D3"))`, func(u *fxUser) bool {
			return u.title == "Manager" && (strings.HasSuffix(u.mail, "@y.example") || u.dept != "D3")
		}},
		{`title eq "Manager" or title eq "Engineer" and department eq "D1"`, func(u *fxUser) bool {
			return u.title == "Manager" || (u.title == "Engineer" && u.dept == "D1")
		}},
		{`not (userName sw "fx1" or userName sw "fx2") and not (emails pr)`, func(u *fxUser) bool {
			return !strings.HasPrefix(u.uid, "fx1") && !strings.HasPrefix(u.uid, "fx2") && u.mail == ""
		}},
		// value paths, the Entra form, URN-qualified names
		{`emails[type eq "work" and value co "@x"]`, func(u *fxUser) bool { return strings.Contains(u.mail, "@x") }},
		{`emails[type eq "home"]`, func(u *fxUser) bool { return false }},
		{`emails[type eq "work"].value eq "USER.004@x.example"`, func(u *fxUser) bool { return u.i == 4 }},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "bob"`, func(u *fxUser) bool { return u.given == "bob" }},
		{ent + `:department eq "D2" and ` + ent + `:employeeNumber sw "1"`, func(u *fxUser) bool {
			return u.dept == "D2" && strings.HasPrefix(u.emp, "1")
		}},
		// caseExact externalId
		{`externalId eq "Ext-010"`, func(u *fxUser) bool { return u.i == 10 }},
		{`externalId eq "EXT-010"`, func(u *fxUser) bool { return false }},
		// typed: dateTime, reference, id
		{`meta.lastModified gt "` + rfc3339(t1) + `"`, func(u *fxUser) bool { return u.modified > t1 }},
		{`meta.lastModified le "` + rfc3339(t1) + `"`, func(u *fxUser) bool { return u.modified <= t1 }},
		{`meta.created gt "2000-01-01T00:00:00Z"`, func(u *fxUser) bool { return true }},
		{`meta.created lt "2000-01-01T00:00:00+01:00"`, func(u *fxUser) bool { return false }},
		{ent + `:manager.value eq "` + boss.id + `"`, func(u *fxUser) bool { return u.manager == 50 }},
		{ent + `:manager eq "` + boss.id + `"`, func(u *fxUser) bool { return u.manager == 50 }},
		{`id eq "` + boss.id + `"`, func(u *fxUser) bool { return u.i == 50 }},
		// literal values: * ( ) \ quotes, non-ASCII, injection (NUL: TestBadFiltersAreInvalidFilter)
		{`displayName eq "a*b"`, func(u *fxUser) bool { return u.display == "a*b" }},
		{`displayName eq "a*"`, func(u *fxUser) bool { return false }},
		{`displayName co "*"`, func(u *fxUser) bool { return strings.Contains(u.display, "*") }},
		{`displayName eq "a(b)c"`, func(u *fxUser) bool { return u.display == "a(b)c" }},
		{`displayName eq "back\\slash"`, func(u *fxUser) bool { return u.display == `back\slash` }},
		{`displayName eq "say \"hi\""`, func(u *fxUser) bool { return u.display == `say "hi"` }},
		{`displayName eq "ZOË ünal"`, func(u *fxUser) bool { return u.display == "Zoë Ünal" }},
		{`displayName eq "x*)(uid=*"`, func(u *fxUser) bool { return u.display == "x*)(uid=*" }},
		{`displayName eq "*)(uid=*"`, func(u *fxUser) bool { return false }},
		{`userName eq "*)(uid=*"`, func(u *fxUser) bool { return false }},
		{`userName eq "x)(|(uid=*"`, func(u *fxUser) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			want := expect(c.pred)
			r := e.Do("GET", "/Users"+filterQ(c.filter)+"&count=1000", nil)
			got := listNames(t, r)
			if !sameSet(got, want) || r.Body["totalResults"] != float64(len(want)) {
				t.Errorf("got %d users (totalResults %v), want %d\n got  %v\n want %v", len(got), r.Body["totalResults"], len(want), got, want)
			}
		})
	}
	// The fixture makes the interesting cases non-trivial.
	if n := len(expect(func(u *fxUser) bool { return u.modified > t1 })); n == 0 || n == len(fxUsers) {
		t.Errorf("meta.lastModified gt splits nothing: %d of %d", n, len(fxUsers))
	}
}

func TestBadFiltersAreInvalidFilter(t *testing.T) {
	e := newFxEnv(t)
	for filter, detail := range map[string]string{
		`nickName eq "x"`:                     `nickName`,
		`emails[type eq "work" and foo eq 1]`: `emails.foo`,
		`userName xx "a"`:                     `expected an operator`,
		`userName eq "abc`:                    `unterminated string`,
		`userName eq "a" and`:                 `unexpected end of filter`,
		`userName eq`:                         `expected a value`,
		`(userName eq "a"`:                    `expected "and", "or" or ")"`,
		`meta.lastModified gt "yesterday"`:    `RFC 3339`,
		`userName`:                            `operator`,
		`displayName eq "a\u0000b"`:           `"displayName" contains U+0000`,
	} {
		t.Run(filter, func(t *testing.T) {
			for _, r := range []response{
				e.Do("GET", "/Users"+filterQ(filter), nil),
				e.Do("POST", "/Users/.search", map[string]any{"filter": filter}),
			} {
				wantError(t, r, 400, "invalidFilter")
				if d, _ := r.Body["detail"].(string); !strings.Contains(d, detail) {
					t.Errorf("detail %q should say %q", d, detail)
				}
			}
		})
	}
}

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

func TestSearchEndpoints(t *testing.T) {
	e := newFxEnv(t)
	const filter = `emails[type eq "work" and value co "@y"] and title pr`
	want := expectSorted(func(u *fxUser) bool { return strings.Contains(u.mail, "@y") && u.title != "" })
	get := e.Do("GET", "/Users?filter="+url.QueryEscape(filter)+"&sortBy=userName&startIndex=3&count=5&attributes=userName", nil)
	r := e.Do("POST", "/Users/.search", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":  filter, "sortBy": "userName", "sortOrder": "ascending", "startIndex": 3, "count": 5,
		"attributes": []string{"userName"},
	})
	names := listNames(t, r)
	if !slices.Equal(names, want[2:7]) || r.Body["totalResults"] != float64(len(want)) || r.Body["startIndex"] != 3.0 || r.Body["itemsPerPage"] != 5.0 {
		t.Errorf("/Users/.search: %v (total %v), want %v of %d", names, r.Body["totalResults"], want[2:7], len(want))
	}
	if r.Raw != get.Raw {
		t.Errorf("/Users/.search differs from the same GET:\n%s\n%s", r.Raw, get.Raw)
	}
	res := get.Body["Resources"].([]any)[0].(map[string]any)
	if res["name"] != nil || res["id"] == nil || res["userName"] == nil {
		t.Errorf("attributes=[userName]: %v", res)
	}
	// The root /.search covers Users and Groups; Groups map no emails, so they
	// contribute nothing to this filter. It cannot sort across types.
	rootBody := map[string]any{"filter": filter, "count": 1000, "attributes": []string{"userName"}}
	root := e.Do("POST", "/.search", rootBody)
	if rn := listNames(t, root); !slices.Equal(sortedCopy(rn), want) || root.Body["totalResults"] != float64(len(want)) {
		t.Errorf("/.search: %v, want %v", rn, want)
	}
	rootBody["sortBy"] = "userName"
	wantError(t, e.Do("POST", "/.search", rootBody), 400, "invalidValue")
	// excludedAttributes, case-insensitive member names, no filter: everything.
	r = e.Do("POST", "/Users/.search", map[string]any{"EXCLUDEDATTRIBUTES": []string{"emails", "name"}, "Count": 1000, "sortby": "id"})
	names = listNames(t, r)
	if len(names) != len(fxUsers) {
		t.Fatalf("no filter: %d users, want %d", len(names), len(fxUsers))
	}
	for _, x := range r.Body["Resources"].([]any) {
		if m := x.(map[string]any); m["emails"] != nil || m["name"] != nil {
			t.Fatalf("excludedAttributes ignored: %v", m)
		}
	}
	var ids []string
	for _, x := range r.Body["Resources"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("sortBy id: ids are not in order")
	}
	// count 0: only totalResults.
	if r := e.Do("POST", "/Users/.search", map[string]any{"filter": `title eq "Manager"`, "count": 0}); r.Body["totalResults"] != float64(len(expect(func(u *fxUser) bool { return u.title == "Manager" }))) || len(r.Body["Resources"].([]any)) != 0 {
		t.Errorf("count 0: %s", r.Raw)
	}
}

func TestSearchBadBodies(t *testing.T) {
	e := newFxEnv(t)
	cases := []struct {
		name     string
		body     any
		scimType string
		detail   string
	}{
		{"not JSON", `{"filter": `, "invalidSyntax", "JSON"},
		{"empty", ``, "invalidSyntax", "empty"},
		{"array", `[]`, "invalidSyntax", "JSON object"},
		{"misspelt member", map[string]any{"filtr": `userName eq "x"`}, "invalidSyntax", `"filtr"`},
		{"duplicate member", `{"filter":"title pr","FILTER":"title pr"}`, "invalidSyntax", "twice"},
		{"wrong schema", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}}, "invalidSyntax", "SearchRequest"},
		{"schemas not an array", map[string]any{"schemas": "x"}, "invalidSyntax", "SearchRequest"},
		{"filter not a string", map[string]any{"filter": 5}, "invalidValue", "filter must be a string"},
		{"attributes of numbers", map[string]any{"attributes": []any{1}}, "invalidValue", "attributes[0]"},
		{"attributes an object", map[string]any{"attributes": map[string]any{}}, "invalidValue", "array"},
		{"startIndex a string", map[string]any{"startIndex": "2"}, "invalidValue", "startIndex"},
		{"count a fraction", `{"count": 1.5}`, "invalidValue", "count must be an integer, not 1.5"},
		{"count huge", `{"count": 1e40}`, "invalidValue", "count"},
		{"sortOrder unknown", map[string]any{"sortBy": "userName", "sortOrder": "up"}, "invalidValue", "up"},
		{"sortBy unmapped", map[string]any{"sortBy": "nickName"}, "invalidValue", "nickName"},
		{"sortBy not a string", map[string]any{"sortBy": []string{"userName"}}, "invalidValue", "sortBy"},
		{"bad filter", map[string]any{"filter": `userName eq`}, "invalidFilter", "value"},
	}
	for _, c := range cases {
		for _, path := range []string{"/Users/.search", "/.search"} {
			t.Run(c.name+" "+path, func(t *testing.T) {
				r := e.Do("POST", path, c.body)
				wantError(t, r, 400, c.scimType)
				if d, _ := r.Body["detail"].(string); !strings.Contains(d, c.detail) {
					t.Errorf("detail %q should mention %s", d, c.detail)
				}
			})
		}
	}
	wantError(t, e.Do("POST", "/.search", `{}`, "Content-Type", "text/plain"), 415, "invalidSyntax")
	if r := e.Do("GET", "/.search", nil); r.Status != 404 && r.Status != 405 { // .search is POST only (RFC 7644 §3.4.3)
		t.Errorf("GET /.search: %d %s", r.Status, r.Raw)
	}
	// null members mean absent; attributes may be a comma-separated string.
	r := e.Do("POST", "/Users/.search", map[string]any{"filter": nil, "attributes": "userName,title", "count": 2, "sortBy": nil})
	if names := listNames(t, r); len(names) != 2 || r.Body["totalResults"] != float64(len(fxUsers)) {
		t.Errorf("nulls: %s", r.Raw)
	}
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
