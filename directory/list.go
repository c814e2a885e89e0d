package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Query is one list or search request (RFC 7644 §3.4.2, §3.4.3), its paging
// already defaulted and clamped by the caller (StartIndex ≥ 1, Count ≥ 0).
type Query struct {
	Filter             string // SCIM filter, "" for none
	Attributes         []string
	ExcludedAttributes []string
	StartIndex, Count  int
	StartIndexSet      bool   // startIndex was sent (a cursor walk refuses it)
	SortBy             string // "" for directory order
	Descending         bool
	// Cursor is RFC 9865's cursor: nil for index paging, "" for a cursor
	// walk's first page.
	Cursor *string
}

// Page is one page of a list: the resources (SCIM JSON, projected as asked),
// the number of matches (totalResults), and for a cursor walk the cursors of
// the next and previous pages ("" when there is none; RFC 9865 §2.2).
type Page struct {
	Resources  []map[string]any
	Total      int
	Next, Prev string
	leases     []*Lease
}

// Release returns the page's share of the gateway's list memory (see
// listBudget) once the page is written; until then other large pages may wait.
func (p *Page) Release() {
	for _, l := range p.leases {
		l.Release()
	}
}

// readPage reads one page of count entries of ts with read and renders them,
// holding the page's share of the list memory (budget.go) from before the
// read; the lease is the caller's to release. read is given a function to
// call with each entry as it arrives (nil when the page shows no references),
// which notes its references early (prefetch.go).
func (ts typeSearch) readPage(ctx context.Context, count int, read func(attrs []string, each func(*ldap.Entry)) ([]*ldap.Entry, error)) ([]map[string]any, *Lease, error) {
	attrs := ts.r.rt.LDAPAttributes(ts.proj)
	lease, err := ts.r.s.d.budget.reserve(ctx, attrs, count)
	if err != nil {
		return nil, nil, err
	}
	var pre *prefetch
	var each func(*ldap.Entry)
	if ts.r.rt.ProjectsReferences(ts.proj) {
		var done func()
		ctx, done = ts.r.s.reading(ctx) // a resolution starting meanwhile waits for this page (flights.go)
		defer done()
		if pre = ts.r.prefetch(ctx, ts.proj); pre != nil {
			each = pre.each
		}
	}
	entries, err := read(attrs, each)
	if err == nil {
		err = lease.settle(ctx, entries)
	}
	var list []map[string]any
	if err == nil {
		list, err = ts.r.renderFetched(ctx, entries, ts.proj, pre)
	}
	if err != nil {
		lease.Release()
		return nil, nil, err
	}
	return list, lease, nil
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

// sortControl builds the sort control for sortBy on rt: the key mapping.SortKey
// derives, then the directory id (ascending), so that entries with equal keys
// come in the same order in every request and pages never overlap or skip.
func sortControl(rt *mapping.ResourceType, q *Query) (*ldapstore.SortControl, error) {
	k, err := rt.SortKey(q.SortBy)
	if err != nil {
		return nil, err
	}
	keys := []ldapstore.SortKey{{Attr: k.LDAP, OrderingRule: k.OrderingRule, Reverse: q.Descending}}
	// AD sorts on one key only (MS-ADTS §3.1.1.3.4.1.9; SingleSortKey): no tie-breaker there.
	if d := rt.Dialect(); !d.SingleSortKey && !strings.EqualFold(k.LDAP, d.ID) {
		keys = append(keys, ldapstore.SortKey{Attr: d.ID, OrderingRule: d.IDOrdering})
	}
	return ldapstore.NewSortControl(keys...), nil
}

// typeSearch is what one resource type contributes to a list.
type typeSearch struct {
	r      *Resources
	filter string
	sort   *ldapstore.SortControl
	proj   *mapping.Projection
}

// List serves a list over types (RFC 7644 §3.4.2, §3.4.3): the SCIM filter is
// translated into one LDAP filter per type, so the directory does the
// filtering; sortBy becomes a server-side sort control (RFC 2891). Total
// counts every match of every type; the window [StartIndex,
// StartIndex+Count) runs over the types' results in turn.
//
// With several types (root-level /.search), a type whose mapping cannot express
// the filter (an attribute it does not map) contributes nothing; only when no
// type can is that a 400 invalidFilter. sortBy then needs a single type: the
// directory sorts each type's search separately and the gateway does not merge
// them (400 invalidValue). Errors: *filterxlate.Error, Invalid (sortBy,
// cursor, limits), or as classify.
func (s *Snapshot) List(ctx context.Context, types []*mapping.ResourceType, q *Query) (*Page, error) {
	if q.SortBy != "" && !s.d.Sorts() {
		return nil, invalid(scimerr.InvalidValue, "sortBy %q: this directory does not offer server-side sorting (LDAP control %s), so the gateway cannot sort (ServiceProviderConfig sort.supported is false)", q.SortBy, ldapstore.OIDServerSideSort)
	}
	if q.SortBy != "" && len(types) > 1 {
		return nil, invalid(scimerr.InvalidValue, "sortBy %q: sorting across several resource types is not supported; search one endpoint, e.g. POST %s/.search", q.SortBy, types[0].Endpoint)
	}
	var expr filterxlate.Expr
	if strings.TrimSpace(q.Filter) != "" {
		e, err := filterxlate.Parse(q.Filter)
		if err != nil {
			return nil, err
		}
		expr = e
	}
	var searches []typeSearch
	var firstErr error
	for _, rt := range types {
		f, err := typeFilter(rt, expr, filterxlate.DNLookup(s.idLookup(ctx, nil)))
		var fe *filterxlate.Error
		if err != nil && len(types) > 1 && errors.As(err, &fe) {
			if firstErr == nil {
				firstErr = err
			}
			continue // the filter names what this type does not have: no match here
		}
		if err != nil {
			return nil, classify(err, rt.Name)
		}
		ts := typeSearch{r: s.Resources(rt), filter: f, proj: rt.Project(q.Attributes, q.ExcludedAttributes)}
		if q.SortBy != "" {
			if ts.sort, err = sortControl(rt, q); err != nil {
				return nil, classify(err, rt.Name)
			}
		}
		searches = append(searches, ts)
	}
	if len(searches) == 0 && firstErr != nil {
		return nil, firstErr
	}
	if q.Cursor != nil {
		return s.cursorList(ctx, searches, q) // paging.go
	}
	if len(searches) == 1 && s.d.VirtualListViews() {
		ts := searches[0]
		var total int
		list, lease, err := ts.readPage(ctx, q.Count, func(attrs []string, each func(*ldap.Entry)) (entries []*ldap.Entry, err error) {
			if entries, total, err = ts.vlvWindow(ctx, attrs, q.StartIndex, q.Count, each); err != nil { // paging.go
				err = ts.listError(err, q)
			}
			return entries, err
		})
		if err != nil {
			return nil, err
		}
		return &Page{Resources: list, Total: total, leases: []*Lease{lease}}, nil
	}
	page := &Page{}
	for _, ts := range searches {
		skip := max(q.StartIndex-1-page.Total, 0)
		take := q.Count - len(page.Resources)
		var n int
		list, lease, err := ts.readPage(ctx, max(take, 0), func(attrs []string, _ func(*ldap.Entry)) (entries []*ldap.Entry, err error) {
			if entries, n, err = ts.walk(ctx, attrs, skip, take); err != nil {
				err = ts.listError(err, q)
			}
			return entries, err
		})
		if err != nil {
			page.Release()
			return nil, err
		}
		page.Total += n
		page.Resources = append(page.Resources, list...)
		page.leases = append(page.leases, lease)
	}
	return page, nil
}

// walk pages through one type's matches, keeping entries skip+1 … skip+take,
// and returns them with the number of matches. When the window fills before
// the result ends, the sorted walk stops (releasing the server's sort state)
// and a second, attribute-less and unsorted walk counts the rest.
func (ts typeSearch) walk(ctx context.Context, attrs []string, skip, take int) ([]*ldap.Entry, int, error) {
	rt, store := ts.r.rt, ts.r.store
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

// listError explains a failed list walk. A directory that refuses the sort
// key (18 inappropriateMatching: no such ordering rule for the attribute's
// syntax; 12/53 refused sort) is a 400 naming sortBy and the mapping option
// that fixes it, not a 500.
func (ts typeSearch) listError(err error, q *Query) error {
	var le *ldap.Error
	if ts.sort != nil && isCode(err, ldap.LDAPResultInappropriateMatching, ldap.LDAPResultUnavailableCriticalExtension,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultNoSuchAttribute) && errors.As(err, &le) {
		return &Error{Kind: Invalid, ScimType: scimerr.InvalidValue, Err: err, Detail: fmt.Sprintf("sortBy %q: the directory cannot sort %s by %s (LDAP %d %s); the mapping's ordering: option names the rule to use",
			q.SortBy, ts.r.rt.Name, ts.sort.Keys[0].String(), le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])}
	}
	if ts.sort != nil && isCode(err, ldap.LDAPResultBusy) {
		return &Error{Kind: Unavailable, Detail: "the directory is busy with other sorted searches (LDAP 51); retry later", Err: err}
	}
	if errors.As(err, &le) && le.ResultCode == ldap.LDAPResultAdminLimitExceeded {
		// e.g. slapd's size.pr limit below the page asked for ("illegal pagedResults page size").
		return &Error{Kind: Invalid, ScimType: scimerr.TooMany, Err: err, Detail: fmt.Sprintf("the directory's administrative limits refused the search (%s); ask for a smaller count or narrow the filter", le.Err)}
	}
	return classify(err, ts.r.rt.Name)
}
