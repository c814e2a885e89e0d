package gateway

// List requests without a directory: the query parameters of GET (RFC 7644
// §3.4.2) and the SearchRequest body of POST .search (§3.4.3) become the same
// listParams, with the RFC's examples where it has them.

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

// paramsServer is a Server with only what reading list parameters needs.
func paramsServer() *Server { return &Server{cfg: Config{MaxPageSize: 100}} }

func strptr(s string) *string { return &s }

func TestQueryParams(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  listParams
	}{
		{"", listParams{StartIndex: 1, Count: 100}},
		// RFC 7644 §3.4.2.2, §3.4.2.4, §3.4.2.5.
		{`filter=userName+Eq+"john"`, listParams{Filter: `userName Eq "john"`, StartIndex: 1, Count: 100}},
		{"startIndex=1&count=10", listParams{StartIndex: 1, Count: 10, StartIndexSet: true}},
		{"attributes=userName", listParams{Attributes: []string{"userName"}, StartIndex: 1, Count: 100}},
		{"attributes=userName,name.familyName&excludedAttributes=emails,groups",
			listParams{Attributes: []string{"userName", "name.familyName"}, ExcludedAttributes: []string{"emails", "groups"}, StartIndex: 1, Count: 100}},
		// §3.4.2.3: sortOrder in any letter case; sortBy trimmed.
		{"sortBy=+userName+&sortOrder=Descending", listParams{SortBy: "userName", Descending: true, StartIndex: 1, Count: 100}},
		{"sortBy=userName&sortOrder=ascending", listParams{SortBy: "userName", StartIndex: 1, Count: 100}},
		// §3.4.2.4: startIndex below 1 means 1, a negative count 0; the page is
		// at most MaxPageSize.
		{"startIndex=-4&count=-1", listParams{StartIndex: 1, Count: 0, StartIndexSet: true}},
		{"startIndex=0&count=5000", listParams{StartIndex: 1, Count: 100, StartIndexSet: true}},
		{"count=0", listParams{StartIndex: 1, Count: 0}},
		// RFC 9865 §2.1: cursor present and empty is the first page of a walk.
		{"cursor=", listParams{Cursor: strptr(""), StartIndex: 1, Count: 100}},
		{"cursor=abc&count=2", listParams{Cursor: strptr("abc"), StartIndex: 1, Count: 2}},
		{"attributes=&excludedAttributes=+", listParams{StartIndex: 1, Count: 100}},
	} {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, perr := paramsServer().queryParams(q)
		if perr != nil {
			t.Errorf("%s: %v", tt.query, perr)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.query, *got, tt.want)
		}
	}
	for _, query := range []string{"startIndex=abc", "count=1.5", "count=10x", "startIndex=1e3", "sortOrder=up", "sortOrder=desc"} {
		q, _ := url.ParseQuery(query)
		if _, perr := paramsServer().queryParams(q); perr == nil || perr.Status != 400 || perr.ScimType != scimerr.InvalidValue {
			t.Errorf("%s: %v, want 400 invalidValue", query, perr)
		}
	}
}

func TestSortOrder(t *testing.T) {
	for in, desc := range map[string]bool{"": false, "ascending": false, "ASCENDING": false, " descending ": true, "Descending": true} {
		if got, err := sortOrder(in); err != nil || got != desc {
			t.Errorf("sortOrder(%q) = %v, %v; want %v", in, got, err, desc)
		}
	}
	for _, in := range []string{"desc", "asc", "up", "descending,ascending"} {
		if _, err := sortOrder(in); err == nil || err.Status != 400 || err.ScimType != scimerr.InvalidValue || !strings.Contains(err.Detail, in) {
			t.Errorf("sortOrder(%q): %v, want 400 invalidValue quoting the value", in, err)
		}
	}
}

func TestBodyParams(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       listParams
	}{
		{"RFC 7644 §3.4.3's example", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
			"attributes":["displayName","userName"],"filter":"displayName sw \"smith\"","startIndex":1,"count":10}`,
			listParams{Filter: `displayName sw "smith"`, Attributes: []string{"displayName", "userName"}, StartIndex: 1, Count: 10, StartIndexSet: true}},
		{"empty: the defaults", `{}`, listParams{StartIndex: 1, Count: 100}},
		{"member names in any case, null as absent", `{"FILTER":"userName pr","SortBy":" userName ","sortorder":"DESCENDING","count":null,"excludedAttributes":null}`,
			listParams{Filter: "userName pr", SortBy: "userName", Descending: true, StartIndex: 1, Count: 100}},
		{"attributes as one comma-separated string", `{"attributes":"userName,emails","excludedAttributes":["groups"]}`,
			listParams{Attributes: []string{"userName", "emails"}, ExcludedAttributes: []string{"groups"}, StartIndex: 1, Count: 100}},
		{"clamped as a query is", `{"startIndex":-3,"count":1000}`, listParams{StartIndex: 1, Count: 100, StartIndexSet: true}},
		{"a cursor (RFC 9865 §2.1)", `{"cursor":"","count":5}`, listParams{Cursor: strptr(""), StartIndex: 1, Count: 5}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/scim/v2/Users/.search", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/scim+json")
			got, err := paramsServer().bodyParams(httptest.NewRecorder(), r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name, body, contentType string
		status                  int
		scimType                scimerr.Type
		mention                 string
	}{
		{"not JSON", `{`, "", 400, scimerr.InvalidSyntax, "JSON"},
		{"an array", `[]`, "", 400, scimerr.InvalidSyntax, "JSON"},
		{"empty", ``, "", 400, scimerr.InvalidSyntax, "empty"},
		{"not UTF-8", "{\"filter\":\"\xff\"}", "", 400, scimerr.InvalidSyntax, "UTF-8"},
		{"another media type", `{}`, "text/plain", 415, scimerr.InvalidSyntax, "Content-Type"},
		{"a misspelt member", `{"fliter":"userName pr"}`, "", 400, scimerr.InvalidSyntax, `"fliter"`},
		{"a member twice in two cases", `{"filter":"a pr","Filter":"b pr"}`, "", 400, scimerr.InvalidSyntax, "twice"},
		{"schemas without SearchRequest", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, "", 400, scimerr.InvalidSyntax, "SearchRequest"},
		{"filter not a string", `{"filter":5}`, "", 400, scimerr.InvalidValue, "filter"},
		{"count not an integer", `{"count":1.5}`, "", 400, scimerr.InvalidValue, "count"},
		{"count as a string", `{"count":"10"}`, "", 400, scimerr.InvalidValue, "count"},
		{"startIndex too large for an int", `{"startIndex":1e30}`, "", 400, scimerr.InvalidValue, "startIndex"},
		{"attributes of another type", `{"attributes":{"a":1}}`, "", 400, scimerr.InvalidValue, "attributes"},
		{"attributes holding a number", `{"attributes":["userName",5]}`, "", 400, scimerr.InvalidValue, "attributes[1]"},
		{"an unknown sortOrder", `{"sortOrder":"up"}`, "", 400, scimerr.InvalidValue, "sortOrder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/scim/v2/.search", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got, err := paramsServer().bodyParams(httptest.NewRecorder(), r)
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if perr := asSCIMError(err); perr.Status != tt.status || perr.ScimType != tt.scimType || !strings.Contains(perr.Detail, tt.mention) {
				t.Errorf("%d %s %q, want %d %s mentioning %q", perr.Status, perr.ScimType, perr.Detail, tt.status, tt.scimType, tt.mention)
			}
		})
	}
}
