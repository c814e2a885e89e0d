package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const searchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// listParams is one list request, from a GET query (RFC 7644 §3.4.2) or a POST
// .search body (§3.4.3); both have the same semantics. StartIndex and Count are
// already defaulted and clamped (startIndex ≥ 1, 0 ≤ count ≤ MaxPageSize).
type listParams struct {
	Filter             string // SCIM filter, "" for none
	Attributes         []string
	ExcludedAttributes []string
	StartIndex, Count  int
	SortBy             string // "" for directory order
	Descending         bool   // sortOrder "descending" (any letter case)
	// Cursor is the RFC 9865 cursor; nil without the parameter (index paging),
	// "" for the first page of a cursor walk (paging.go).
	Cursor        *string
	StartIndexSet bool // startIndex was given (it cannot go with a cursor)
}

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
	return false, errorf(400, "invalidValue", "sortOrder must be \"ascending\" or \"descending\", not %q", v)
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
func (s *Server) bodyParams(w http.ResponseWriter, r *http.Request) (*listParams, *Error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	p := &listParams{StartIndex: 1, Count: s.cfg.MaxPageSize}
	seen := map[string]bool{}
	for _, k := range sortedKeysAny(body) {
		v := body[k]
		name, ok := searchMembers[strings.ToLower(k)]
		if !ok {
			return nil, errorf(400, "invalidSyntax", "unknown SearchRequest member %q; known: schemas, filter, attributes, excludedAttributes, startIndex, count, sortBy, sortOrder, cursor", k)
		}
		if seen[name] {
			return nil, errorf(400, "invalidSyntax", "SearchRequest member %s appears twice (names are case-insensitive)", name)
		}
		seen[name] = true
		if v == nil {
			continue
		}
		switch name {
		case "schemas":
			list, _ := v.([]any)
			if !slices.ContainsFunc(list, func(x any) bool { s, _ := x.(string); return strings.EqualFold(s, searchRequestSchema) }) {
				return nil, errorf(400, "invalidSyntax", "schemas must be [%q]", searchRequestSchema)
			}
		case "filter", "sortBy", "sortOrder", "cursor":
			str, ok := v.(string)
			if !ok {
				return nil, errorf(400, "invalidValue", "%s must be a string, not %s", name, jsonKind(v))
			}
			switch name {
			case "filter":
				p.Filter = str
			case "sortBy":
				p.SortBy = strings.TrimSpace(str)
			case "cursor":
				p.Cursor = &str
			default:
				if p.Descending, err = sortOrder(str); err != nil {
					return nil, err
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
				return nil, errorf(400, "invalidValue", "%s must be an integer, not %s", name, jsonText(v))
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
		return nil, errorf(400, "invalidValue", "%s must be an array of attribute names, not %s", name, jsonKind(v))
	}
	out := make([]string, 0, len(arr))
	for i, x := range arr {
		str, ok := x.(string)
		if !ok {
			return nil, errorf(400, "invalidValue", "%s[%d] must be a string, not %s", name, i, jsonKind(x))
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

func sortedKeysAny(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ListFilter is the LDAP filter the gateway sends for a list or search on rt
// (RFC 7644 §3.4.2.2): rt's own filter AND-ed with the translated SCIM filter
// "(&(objectClass=inetOrgPerson)(uid=bjensen))", or rt's filter alone when the
// SCIM filter is empty. lookup turns reference ids into DNs (see
// filterxlate.Translate). Errors are *filterxlate.Error (400 invalidFilter) for
// the client's mistakes; lookup's own errors come back wrapped.
func ListFilter(rt *mapping.ResourceType, scimFilter string, lookup filterxlate.DNLookup) (string, error) {
	if strings.TrimSpace(scimFilter) == "" {
		return rt.Filter, nil
	}
	expr, err := filterxlate.Parse(scimFilter)
	if err != nil {
		return "", err
	}
	return typeFilter(rt, expr, lookup)
}

func typeFilter(rt *mapping.ResourceType, expr filterxlate.Expr, lookup filterxlate.DNLookup) (string, error) {
	if expr == nil {
		return rt.Filter, nil
	}
	f, err := filterxlate.Translate(expr, rt, lookup)
	if err != nil {
		return "", err
	}
	return "(&" + rt.Filter + f + ")", nil
}

// sortSupported reports whether the directory offers server-side sorting (RFC
// 2891), which sortBy needs; /ServiceProviderConfig advertises it.
func (s *Server) sortSupported() bool {
	return s.cfg.Store != nil && s.cfg.Store.Supports(ldapstore.OIDServerSideSort)
}

// sortControl builds the sort control for sortBy on rt: the key mapping.SortKey
// derives, then the directory id (ascending), so that entries with equal keys
// come in the same order in every request and pages never overlap or skip.
func sortControl(rt *mapping.ResourceType, p *listParams) (*ldapstore.SortControl, error) {
	k, err := rt.SortKey(p.SortBy)
	if err != nil {
		return nil, err
	}
	keys := []ldapstore.SortKey{{Attr: k.LDAP, OrderingRule: k.OrderingRule, Reverse: p.Descending}}
	// AD sorts on one key only (MS-ADTS §3.1.1.3.4.1.9; IDOrdering ""): no tie-breaker there.
	if d := rt.Dialect(); d.IDOrdering != "" && !strings.EqualFold(k.LDAP, d.ID) {
		keys = append(keys, ldapstore.SortKey{Attr: d.ID, OrderingRule: d.IDOrdering})
	}
	return ldapstore.NewSortControl(keys...), nil
}

// typeSearch is what one resource type contributes to a list.
type typeSearch struct {
	h      *resourceHandler
	filter string
	sort   *ldapstore.SortControl
}

// runList serves a list over types (RFC 7644 §3.4.2, §3.4.3) and writes the
// ListResponse: totalResults counts every match of every type; the window
// [startIndex, startIndex+count) runs over the types' results in turn.
//
// With several types (root-level /.search), a type whose mapping cannot express
// the filter (an attribute it does not map) contributes nothing; only when no
// type can is that a 400 invalidFilter. sortBy then needs a single type: the
// directory sorts each type's search separately and the gateway does not merge
// them (400 invalidValue).
func (s *Server) runList(w http.ResponseWriter, r *http.Request, types []*mapping.ResourceType, p *listParams) {
	ctx := r.Context()
	if p.SortBy != "" && !s.sortSupported() {
		writeError(w, errorf(400, "invalidValue", "sortBy %q: this directory does not offer server-side sorting (LDAP control %s), so the gateway cannot sort (ServiceProviderConfig sort.supported is false)", p.SortBy, ldapstore.OIDServerSideSort))
		return
	}
	if p.SortBy != "" && len(types) > 1 {
		writeError(w, errorf(400, "invalidValue", "sortBy %q: sorting across several resource types is not supported; search one endpoint, e.g. POST %s/.search", p.SortBy, types[0].Endpoint))
		return
	}
	var expr filterxlate.Expr
	if strings.TrimSpace(p.Filter) != "" {
		e, err := filterxlate.Parse(p.Filter)
		if err != nil {
			writeError(w, asSCIMError(err, "the filter"))
			return
		}
		expr = e
	}
	var searches []typeSearch
	var firstErr error
	for _, rt := range types {
		f, err := typeFilter(rt, expr, filterxlate.DNLookup(s.idLookup(ctx)))
		var fe *filterxlate.Error
		if err != nil && len(types) > 1 && errors.As(err, &fe) {
			if firstErr == nil {
				firstErr = err
			}
			continue // the filter names what this type does not have: no match here
		}
		if err != nil {
			writeError(w, asSCIMError(err, rt.Name))
			return
		}
		ts := typeSearch{h: &resourceHandler{s: s, rt: rt}, filter: f}
		if p.SortBy != "" {
			if ts.sort, err = sortControl(rt, p); err != nil {
				writeError(w, asSCIMError(err, rt.Name))
				return
			}
		}
		searches = append(searches, ts)
	}
	if len(searches) == 0 && firstErr != nil {
		writeError(w, asSCIMError(firstErr, "the filter"))
		return
	}
	if p.Cursor != nil {
		s.serveCursor(w, r, searches, p) // paging.go
		return
	}
	if len(searches) == 1 && s.vlvSupported() {
		ts := searches[0]
		proj := ts.h.rt.Project(p.Attributes, p.ExcludedAttributes)
		entries, total, err := ts.vlvWindow(r, ts.h.rt.LDAPAttributes(proj), p.StartIndex, p.Count) // paging.go
		if err != nil {
			writeError(w, s.listError(err, ts, p))
			return
		}
		list, err := ts.h.render(ctx, r, entries, proj)
		if err != nil {
			writeError(w, asSCIMError(err, ts.h.rt.Name))
			return
		}
		writeList(w, list, total, p.StartIndex)
		return
	}
	var resources []any
	total := 0
	for _, ts := range searches {
		skip := max(p.StartIndex-1-total, 0)
		take := p.Count - len(resources)
		proj := ts.h.rt.Project(p.Attributes, p.ExcludedAttributes)
		entries, n, err := ts.walk(r, proj, skip, take)
		if err != nil {
			writeError(w, s.listError(err, ts, p))
			return
		}
		total += n
		list, err := ts.h.render(ctx, r, entries, proj)
		if err != nil {
			writeError(w, asSCIMError(err, ts.h.rt.Name))
			return
		}
		resources = append(resources, list...)
	}
	writeList(w, resources, total, p.StartIndex)
}

// walk pages through one type's matches, keeping entries skip+1 … skip+take,
// and returns them with the number of matches. When the window fills before
// the result ends, the sorted walk stops (releasing the server's sort state)
// and a second, attribute-less and unsorted walk counts the rest.
func (ts typeSearch) walk(r *http.Request, proj *mapping.Projection, skip, take int) ([]*ldap.Entry, int, error) {
	ctx := r.Context()
	rt, store := ts.h.rt, ts.h.store()
	attrs := rt.LDAPAttributes(proj)
	var controls []ldap.Control
	if take > 0 && ts.sort != nil {
		controls = append(controls, ts.sort)
	}
	if take <= 0 {
		attrs = []string{"1.1"} // only counting
	}
	req := ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false, ts.filter, attrs, controls)
	var window []*ldap.Entry
	seen, complete := 0, true
	err := store.SearchPages(ctx, req, pageSize, func(page []*ldap.Entry) bool {
		for _, e := range page {
			seen++
			if seen > skip && len(window) < take {
				window = append(window, e)
			}
		}
		if take > 0 && len(window) == take {
			complete = false
			return false
		}
		return true
	})
	if err == nil && !complete {
		seen = 0
		countReq := ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false, ts.filter, []string{"1.1"}, nil)
		err = store.SearchPages(ctx, countReq, pageSize, func(page []*ldap.Entry) bool {
			seen += len(page)
			return true
		})
	}
	return window, seen, err
}

// listError maps a failed list walk to a SCIM error. A directory that refuses
// the sort key (18 inappropriateMatching: no such ordering rule for the
// attribute's syntax; 12/53 refused sort) is a 400 naming sortBy and the
// mapping option that fixes it, not a 500.
func (s *Server) listError(err error, ts typeSearch, p *listParams) *Error {
	if ts.sort != nil && ldap.IsErrorAnyOf(err, ldap.LDAPResultInappropriateMatching, ldap.LDAPResultUnavailableCriticalExtension,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultNoSuchAttribute) {
		var le *ldap.Error
		errors.As(err, &le)
		return errorf(400, "invalidValue", "sortBy %q: the directory cannot sort %s by %s (LDAP %d %s); the mapping's ordering: option names the rule to use",
			p.SortBy, ts.h.rt.Name, ts.sort.Keys[0].String(), le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
	}
	if ts.sort != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
		return &Error{Status: 503, Detail: "the directory is busy with other sorted searches (LDAP 51); retry later", cause: err}
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode == ldap.LDAPResultAdminLimitExceeded {
		// e.g. slapd's size.pr limit below the page asked for ("illegal pagedResults page size").
		return errorf(400, "tooMany", "the directory's administrative limits refused the search (%s); ask for a smaller count or narrow the filter", le.Err)
	}
	return asSCIMError(err, ts.h.rt.Name)
}

// searchRoot serves POST /.search (RFC 7644 §3.4.3): a SearchRequest over every
// served resource type.
func (s *Server) searchRoot(w http.ResponseWriter, r *http.Request) {
	p, err := s.bodyParams(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.runList(w, r, s.served(), p)
}

// search serves POST /{endpoint}/.search (RFC 7644 §3.4.3), the same as GET
// /{endpoint} with the parameters in the body.
func (h *resourceHandler) search(w http.ResponseWriter, r *http.Request) {
	p, err := h.s.bodyParams(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	h.s.runList(w, r, []*mapping.ResourceType{h.rt}, p)
}
