package gateway_test

// The fixture of the filter and sort tests (filter_test.go, sort_test.go): a
// few hundred users written straight to a private slapd under their own OU,
// from which every expected result is computed in Go, and compared with what
// the gateway returns. No LDAP mocks. Here too: POST .search end to end (RFC
// 7644 §3.4.3).

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
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
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
