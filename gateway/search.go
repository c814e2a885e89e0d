package gateway

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

const searchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// listParams is one list request, from a GET query (RFC 7644 §3.4.2) or a POST
// .search body (§3.4.3); both have the same semantics. StartIndex and Count are
// already defaulted and clamped (startIndex ≥ 1, 0 ≤ count ≤ MaxPageSize).
type listParams = directory.Query

// queryParams reads GET /{endpoint}?filter=&attributes=&excludedAttributes=&
// startIndex=&count=&sortBy=&sortOrder= (RFC 7644 §3.4.2) and cursor= (RFC
// 9865 §2.1; present and empty: the first page). Errors: 400
// invalidValue for non-integer startIndex/count and an unknown sortOrder.
func (s *Server) queryParams(q url.Values) (*listParams, *Error) {
	p := &listParams{Filter: q.Get("filter"), Attributes: splitList(q.Get("attributes")),
		ExcludedAttributes: splitList(q.Get("excludedAttributes")), SortBy: strings.TrimSpace(q.Get("sortBy"))}
	var err *Error
	if p.StartIndex, err = intParam(q.Get("startIndex"), 1, "startIndex"); err != nil {
		return nil, err
	}
	p.StartIndexSet = q.Has("startIndex")
	if q.Has("cursor") {
		c := q.Get("cursor")
		p.Cursor = &c
	}
	if p.Count, err = intParam(q.Get("count"), s.cfg.MaxPageSize, "count"); err != nil {
		return nil, err
	}
	if p.Descending, err = sortOrder(q.Get("sortOrder")); err != nil {
		return nil, err
	}
	return s.clamp(p), nil
}

func (s *Server) clamp(p *listParams) *listParams {
	p.StartIndex = max(p.StartIndex, 1)               // RFC 7644 §3.4.2.4: less than 1 means 1
	p.Count = min(max(p.Count, 0), s.cfg.MaxPageSize) // negative means 0
	return p
}

// sortOrder parses sortOrder (RFC 7644 §3.4.2.3): ascending (the default) or
// descending, in any letter case.
func sortOrder(v string) (bool, *Error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, errorf(400, scimerr.InvalidValue, "sortOrder must be \"ascending\" or \"descending\", not %q", v)
}

// searchMembers are the members of a SearchRequest (RFC 7644 §3.4.3), by lower-cased name.
var searchMembers = map[string]string{
	"schemas": "schemas", "filter": "filter", "attributes": "attributes", "excludedattributes": "excludedAttributes",
	"startindex": "startIndex", "count": "count", "sortby": "sortBy", "sortorder": "sortOrder",
	"cursor": "cursor", // RFC 9865 §2.1
}

// bodyParams reads a SearchRequest body (RFC 7644 §3.4.3):
//
//	{"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
//	 "filter": "…", "attributes": ["…"], "excludedAttributes": ["…"],
//	 "startIndex": 1, "count": 10, "sortBy": "…", "sortOrder": "ascending",
//	 "cursor": "…"}
//
// (cursor: RFC 9865 §2.1, "" for the first page.)
// Member names are case-insensitive; null means absent; attributes lists may
// also be one comma-separated string. Errors: 400 invalidSyntax for a body that
// is no JSON object, "schemas" without the SearchRequest URN, or an unknown
// member (a misspelt "filter" must not turn into an unfiltered list); 400
// invalidValue for a member of the wrong type.
func (s *Server) bodyParams(w http.ResponseWriter, r *http.Request) (*listParams, error) {
	body, rerr := readBody(w, r)
	if rerr != nil {
		return nil, rerr
	}
	p := &listParams{StartIndex: 1, Count: s.cfg.MaxPageSize}
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		v := body[k]
		name, ok := searchMembers[strings.ToLower(k)]
		if !ok {
			return nil, errorf(400, scimerr.InvalidSyntax, "unknown SearchRequest member %q; known: schemas, filter, attributes, excludedAttributes, startIndex, count, sortBy, sortOrder, cursor", k)
		}
		if seen[name] {
			return nil, errorf(400, scimerr.InvalidSyntax, "SearchRequest member %s appears twice (names are case-insensitive)", name)
		}
		seen[name] = true
		if v == nil {
			continue
		}
		switch name {
		case "schemas":
			list, _ := v.([]any)
			if !slices.ContainsFunc(list, func(x any) bool { s, _ := x.(string); return strings.EqualFold(s, searchRequestSchema) }) {
				return nil, errorf(400, scimerr.InvalidSyntax, "schemas must be [%q]", searchRequestSchema)
			}
		case "filter", "sortBy", "sortOrder", "cursor":
			str, ok := v.(string)
			if !ok {
				return nil, errorf(400, scimerr.InvalidValue, "%s must be a string, not %s", name, jsonKind(v))
			}
			switch name {
			case "filter":
				p.Filter = str
			case "sortBy":
				p.SortBy = strings.TrimSpace(str)
			case "cursor":
				p.Cursor = &str
			default:
				var serr *Error
				if p.Descending, serr = sortOrder(str); serr != nil {
					return nil, serr
				}
			}
		case "attributes", "excludedAttributes":
			list, lerr := stringList(v, name)
			if lerr != nil {
				return nil, lerr
			}
			if name == "attributes" {
				p.Attributes = list
			} else {
				p.ExcludedAttributes = list
			}
		case "startIndex", "count":
			n, ok := v.(json.Number)
			i, ierr := n.Int64()
			if !ok || ierr != nil || i != int64(int(i)) {
				return nil, errorf(400, scimerr.InvalidValue, "%s must be an integer, not %s", name, jsonText(v))
			}
			if name == "startIndex" {
				p.StartIndex, p.StartIndexSet = int(i), true
			} else {
				p.Count = int(i)
			}
		}
	}
	return s.clamp(p), nil
}

func stringList(v any, name string) ([]string, *Error) {
	if str, ok := v.(string); ok {
		return splitList(str), nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errorf(400, scimerr.InvalidValue, "%s must be an array of attribute names, not %s", name, jsonKind(v))
	}
	out := make([]string, 0, len(arr))
	for i, x := range arr {
		str, ok := x.(string)
		if !ok {
			return nil, errorf(400, scimerr.InvalidValue, "%s[%d] must be a string, not %s", name, i, jsonKind(x))
		}
		out = append(out, str)
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonKind(v)
	}
	return string(b)
}

// runList serves a list over types (RFC 7644 §3.4.2, §3.4.3; see
// directory.Snapshot.List) with the mapping m the request started with, and
// writes the ListResponse, or a cursor walk's (RFC 9865 §2.2).
func (s *Server) runList(w http.ResponseWriter, r *http.Request, m *mapping.Mapping, types []*mapping.ResourceType, p *listParams) error {
	page, err := s.dir.Snapshot(m, s.baseURL(r)).List(r.Context(), types, p)
	if err != nil {
		return err
	}
	defer page.Release() // after the page is written
	resources := make([]any, len(page.Resources))
	for i, res := range page.Resources {
		resources[i] = res
	}
	if p.Cursor != nil {
		writeCursorList(w, resources, page.Total, page.Next, page.Prev)
		return nil
	}
	writeList(w, resources, page.Total, p.StartIndex)
	return nil
}

// searchRoot serves POST /.search (RFC 7644 §3.4.3): a SearchRequest over every
// served resource type.
func (s *Server) searchRoot(w http.ResponseWriter, r *http.Request) error {
	p, err := s.bodyParams(w, r)
	if err != nil {
		return err
	}
	m := s.mapping()
	return s.runList(w, r, m, servedOf(m), p)
}

// search serves POST /{endpoint}/.search (RFC 7644 §3.4.3), the same as GET
// /{endpoint} with the parameters in the body.
func (h *resourceHandler) search(w http.ResponseWriter, r *http.Request) error {
	p, err := h.s.bodyParams(w, r)
	if err != nil {
		return err
	}
	return h.s.runList(w, r, h.m, []*mapping.ResourceType{h.rt}, p)
}
