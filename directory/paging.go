package directory

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Paging at directory scale. When the directory offers virtual
// list views (draft-ietf-ldapext-ldapv3-vlv) and server-side sorting (RFC 2891),
// a page of a list of one resource type costs one directory search whatever its
// position: the directory sorts the matches and returns only the window, with
// their number (totalResults). Without VLV the gateway walks the paged results
// to the window (list.go, walk), which costs more the further the window lies.
//
// Cursor pagination (RFC 9865) rides on the same searches: the list is ordered
// by the directory id (entryUUID with UUIDOrderingMatch), and a cursor names the
// id a page ends after (or the id the previous page ends before). The next page
// starts at the first entry whose id is greater, found by value, so a walk stays
// correct while entries are added or deleted: an entry present for the whole
// walk is returned exactly once, a deleted one never after its deletion.

// idSort orders rt's entries by their directory id, the order of unsorted VLV
// lists and of cursor walks, with the dialect's IDOrdering (UUIDOrderingMatch;
// none on 389 DS).
func idSort(rt *mapping.ResourceType) *ldapstore.SortControl {
	return ldapstore.NewSortControl(ldapstore.SortKey{Attr: rt.Dialect().ID, OrderingRule: rt.Dialect().IDOrdering})
}

// vlvWindow returns the entries startIndex … startIndex+count-1 of ts's matches
// (1-based, RFC 7644 §3.4.2.4) and the number of matches. A first page that
// holds every match is served by one size-limited search (firstPage; what an
// IdP's "userName eq" lookup needs, and no sort slot of the directory's unless
// sortBy asks for one); any other page is one VLV search, sorted by sortBy
// (then id) or by id, whose entries are given to each (nil: none) as they
// arrive.
func (ts typeSearch) vlvWindow(ctx context.Context, attrs []string, startIndex, count int, each func(*ldap.Entry)) ([]*ldap.Entry, int, error) {
	rt, store := ts.r.rt, ts.r.store
	req := ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false, ts.filter, attrs, nil)
	if startIndex == 1 && count > 0 {
		if first, all, err := ts.firstPage(ctx, req, min(count, firstPageProbe)); all || err != nil {
			return first, len(first), err
		}
	}
	sort := ts.sort
	if sort == nil {
		sort = idSort(rt)
	}
	vlv := &ldapstore.VLVControl{Offset: startIndex, After: max(count-1, 0)}
	if count == 0 {
		req.Attributes = []string{"1.1"} // only counting
	}
	res, err := store.SearchVLVEach(ctx, req, sort, vlv, each)
	if err != nil && isCode(err, ldap.LDAPResultSizeLimitExceeded) && count > 0 && res != nil && len(res.Entries) > 0 {
		// The directory's own size limit is below the window (a service account
		// limited to 500 entries per search): serve the entries that came, fewer
		// than count as RFC 7644 §3.4.2.4 allows (the client's next startIndex
		// follows them), and count the list with an empty window. A first page
		// may still be whole: paged results are often allowed more.
		if startIndex == 1 && count > firstPageProbe {
			if first, all, err := ts.firstPage(ctx, req, count); all || err != nil {
				return first, len(first), err
			}
		}
		n, cerr := ts.vlvCount(ctx, req, sort)
		return res.Entries[:min(len(res.Entries), count)], n, cerr
	}
	if err != nil && isCode(err, ldap.LDAPResultVirtualListViewErrorOrControlError) && startIndex > 1 {
		n, err := ts.vlvCount(ctx, req, sort) // past the end: an empty page, with the number of matches
		return nil, n, err
	}
	if err != nil {
		return nil, 0, err
	}
	if count == 0 || res.Target > res.ContentCount {
		return nil, res.ContentCount, nil
	}
	return res.Entries[:min(len(res.Entries), count)], res.ContentCount, nil
}

// firstPageProbe bounds the first page's probe: a result of at most this many
// entries (a lookup by userName or externalId, a small group) is served by the
// probe alone, without the VLV search's connection and sort; a larger one has
// cost the probe this many entries, read in full and dropped, before the VLV
// page (a probe of the whole page read a page of users in 300 groups twice).
const firstPageProbe = 10

// vlvCount is the number of req's matches: a VLV search for the first entry,
// without attributes, read from the response's contentCount.
func (ts typeSearch) vlvCount(ctx context.Context, req *ldap.SearchRequest, sort *ldapstore.SortControl) (int, error) {
	r := *req
	r.Attributes = []string{"1.1"}
	res, err := ts.r.store.SearchVLV(ctx, &r, sort, &ldapstore.VLVControl{Offset: 1})
	if err != nil {
		return 0, err
	}
	return res.ContentCount, nil
}

// firstPage returns every match of req when there are at most count, with
// all true; all is false when there are more. Unsorted, it asks for count+1
// entries with a size limit (RFC 4511 §4.5.1.4), which costs the directory and
// go-ldap less than the paged results control (ldapstore
// BenchmarkFirstPageProbe). Sorted, or when the directory's own size limit cuts
// that answer short, it walks paged results (RFC 2696; the directory's limits
// for paged searches may be higher, and SearchPages waits out a busy sort
// slot) until count+1 entries came or the matches ended.
func (ts typeSearch) firstPage(ctx context.Context, req *ldap.SearchRequest, count int) (entries []*ldap.Entry, all bool, err error) {
	store := ts.r.store
	if ts.sort == nil {
		probe := *req
		probe.SizeLimit = count + 1
		res, err := store.Search(ctx, &probe)
		if err == nil {
			return res.Entries, len(res.Entries) <= count, nil
		}
		if !isCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return nil, false, err
		}
	}
	probe := *req
	if ts.sort != nil {
		probe.Controls = []ldap.Control{ts.sort}
	}
	err = store.SearchPages(ctx, &probe, uint32(count+1), func(page []*ldap.Entry) bool {
		entries = append(entries, page...)
		return len(entries) <= count
	})
	if isCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, false, nil // the limit bounds paged searches too: more matches than it allows, for the VLV page
	}
	if err != nil {
		return nil, false, err
	}
	return entries, len(entries) <= count, nil
}

// cursorState is what a cursor carries (RFC 9865 §2: opaque to clients). It is
// base64url JSON: the resource type and a digest of the filter it was issued
// for (a cursor of another list is invalidCursor), and either the id the next
// page starts after (A) or the id the previous page ends before (B); neither:
// the first page.
type cursorState struct {
	V int    `json:"v"`
	T string `json:"t"`
	F string `json:"f"`
	A string `json:"a,omitempty"`
	B string `json:"b,omitempty"`
}

// listDigest identifies a list: resource type and SCIM filter.
func listDigest(rt *mapping.ResourceType, filter string) string {
	sum := sha256.Sum256([]byte(rt.Name + "\x00" + strings.TrimSpace(filter)))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

func encodeCursor(c cursorState) string {
	c.V = 1
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor from a client. Errors: 400 invalidCursor for
// anything this gateway did not issue for this list (RFC 9865 §2.1). Cursors
// never expire (they name an id, not server state), so expiredCursor is never
// the answer.
func decodeCursor(s string, rt *mapping.ResourceType, filter string) (*cursorState, error) {
	bad := invalid(scimerr.InvalidCursor, "cursor %q is not a cursor this service issued for this list; start again with cursor= (empty)", truncate(s, 80))
	if s == "" {
		return &cursorState{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 512 {
		return nil, bad
	}
	var c cursorState
	if json.Unmarshal(raw, &c) != nil || c.V != 1 || c.T != rt.Name || c.F != listDigest(rt, filter) || (c.A != "" && c.B != "") {
		return nil, bad
	}
	for _, id := range []string{c.A, c.B} {
		if !plausibleID(id) {
			return nil, bad
		}
	}
	return &c, nil
}

// plausibleID accepts "" and directory ids (UUID/GUID text: hex digits and
// hyphens, at most 64 characters), which the directory can normalise as a VLV
// target value.
func plausibleID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// cursorPage serves one page of a cursor walk over ts (RFC 9865): count entries
// after the cursor's id (or before it, for a previousCursor), the number of
// matches, and the cursors of the neighbouring pages ("" when there is none).
// One VLV search by value, sorted by id.
func (ts typeSearch) cursorPage(ctx context.Context, attrs []string, cur *cursorState, count int) (page []*ldap.Entry, total int, next, prev string, err error) {
	rt, store := ts.r.rt, ts.r.store
	idAttr := rt.Dialect().ID
	req := ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false, ts.filter, attrs, nil)
	if count == 0 {
		req.Attributes = []string{"1.1"}
	}
	vlv := &ldapstore.VLVControl{Offset: 1, After: max(count-1, 0)}
	switch {
	case cur.A != "":
		vlv = &ldapstore.VLVControl{Value: &cur.A, After: count}
	case cur.B != "":
		vlv = &ldapstore.VLVControl{Value: &cur.B, Before: count}
	}
	res, err := store.SearchVLV(ctx, req, idSort(rt), vlv)
	if err != nil {
		return nil, 0, "", "", err
	}
	total = res.ContentCount
	if count == 0 || total == 0 {
		return nil, total, "", "", nil
	}
	es := res.Entries
	id := func(e *ldap.Entry) string { return e.GetEqualFoldAttributeValue(idAttr) }
	first := 0 // the 1-based position of es[0]
	switch {
	case cur.B != "":
		last := total // the window ends at the target, or at the end when the value is past it
		if res.Target <= total && len(es) > 0 {
			es, last = es[:len(es)-1], res.Target-1 // the target is ≥ B: not before it
		}
		first = last - len(es) + 1
	case res.Target > total:
		es = nil // nothing at or after A
	default:
		first = res.Target
		if len(es) > 0 && strings.EqualFold(id(es[0]), cur.A) {
			es, first = es[1:], first+1 // the entry the previous page ended with
		}
		es = es[:min(len(es), count)]
	}
	if len(es) == 0 {
		return nil, total, "", "", nil
	}
	if first+len(es)-1 < total {
		next = encodeCursor(cursorState{T: cur.T, F: cur.F, A: id(es[len(es)-1])})
	}
	if first > 1 {
		prev = encodeCursor(cursorState{T: cur.T, F: cur.F, B: id(es[0])})
	}
	return es, total, next, prev, nil
}

// cursorList serves a list request with a cursor (RFC 9865): one resource
// type, ordered by id (sortBy is a 400: a cursor walk has one order), on a
// directory with VLV.
func (s *Snapshot) cursorList(ctx context.Context, searches []typeSearch, q *Query) (*Page, error) {
	switch {
	case !s.d.VirtualListViews():
		return nil, invalid(scimerr.InvalidValue, "cursor: this directory offers no virtual list views (LDAP control %s), so the gateway cannot page by cursor (ServiceProviderConfig pagination.cursor is false); use startIndex", ldapstore.OIDVLVRequest)
	case len(searches) != 1:
		return nil, invalid(scimerr.InvalidValue, "cursor: a cursor walks one resource type; search one endpoint, e.g. POST /Users/.search")
	case q.SortBy != "":
		return nil, invalid(scimerr.InvalidValue, "cursor: a cursor walk is ordered by id; sortBy needs startIndex paging")
	case q.StartIndexSet:
		return nil, invalid(scimerr.InvalidValue, "cursor and startIndex cannot be used together (RFC 9865)")
	}
	ts := searches[0]
	rt := ts.r.rt
	cur, err := decodeCursor(*q.Cursor, rt, q.Filter)
	if err != nil {
		return nil, err
	}
	cur.T, cur.F = rt.Name, listDigest(rt, q.Filter)
	var total int
	var next, prev string
	list, lease, err := ts.readPage(ctx, q.Count, func(attrs []string, _ func(*ldap.Entry)) (entries []*ldap.Entry, err error) {
		if entries, total, next, prev, err = ts.cursorPage(ctx, attrs, cur, q.Count); err != nil {
			err = ts.listError(err, q)
		}
		return entries, err
	})
	if err != nil {
		return nil, err
	}
	return &Page{Resources: list, Total: total, Next: next, Prev: prev, leases: []*Lease{lease}}, nil
}
