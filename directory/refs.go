package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// refBatch bounds the number of values in one OR filter. The directory tests
// each candidate entry against the whole OR, so a batch's cost grows with its
// square, on top of loading each entry found: resolving the 300 DNs of groups
// of 1,000 members, 8 at a time, cost slapd 2.5.13 7.4 ms of CPU in batches of
// 150, 6.2 ms in batches of 100, 4.5 ms in batches of 50 and 5.0–5.3 ms in
// smaller ones, where each search's own cost takes over (docs/performance.md,
// "Third pass").
const refBatch = 50

// backlinkFrom is the number of references of one entry from which they are
// resolved through their back-link (refsByBacklink), one indexed search,
// rather than by DN in batches.
const backlinkFrom = 200

// refParallel is how many batches of one resolution are searched at once.
const refParallel = 6

// pageSize is the LDAP paged-results page size (RFC 2696) for walks over many
// entries; it bounds the memory of one request.
const pageSize = 500

// idLookup returns a function that maps SCIM ids of the given resource types to
// DNs with one search per type and batch (never one lookup per id). When rr is
// not nil, every id found is recorded in it (see verifyWritten).
func (s *Snapshot) idLookup(ctx context.Context, rr *resolvedRefs) mapping.IDLookup {
	return func(refTypes []string, ids []string) (map[string]string, error) {
		out := map[string]string{}
		byLower := map[string][]string{}
		for _, id := range ids {
			byLower[strings.ToLower(id)] = append(byLower[strings.ToLower(id)], id)
		}
		for _, name := range refTypes {
			rt := s.m.ResourceType(name)
			if rt == nil || len(out) == len(ids) {
				continue // unknown type, or every id found already
			}
			d := rt.Dialect()
			err := s.searchBatches(ctx, rt, d.IDFilter, ids, []string{d.ID}, func(e *ldap.Entry) {
				for _, id := range byLower[strings.ToLower(d.EntryID(e))] {
					out[id] = e.DN
				}
			})
			if err != nil {
				return nil, err
			}
		}
		if rr != nil {
			rr.record(refTypes, out)
		}
		return out, nil
	}
}

// refsOf maps DNs to the SCIM resources they are (id and resource type): each
// resource type whose base holds a DN is asked in turn (types may share a base,
// e.g. users and groups in one AD OU) with one (|(entryDN=…)…) search
// ((|(distinguishedName=…)…) on AD) per type and batch, for the DNs not found yet.
func (s *Snapshot) refsOf(ctx context.Context, dns []string) (map[string]mapping.Ref, error) {
	out := map[string]mapping.Ref{}
	if len(dns) == 0 {
		return out, nil
	}
	// Each DN is looked up in the resource types whose bases hold it, the most
	// specific first; a type whose base holds entries of other types too (users
	// and groups in one OU) only costs a second search for what the first missed.
	pending := map[string]string{}
	for _, dn := range dns {
		pending[mapping.RefKey(dn)] = dn
	}
	for _, rt := range s.m.TypesBySpecificity() {
		var list []string
		for key, dn := range pending {
			if rt.Holds(key) {
				list = append(list, dn)
			}
		}
		if len(list) == 0 {
			continue
		}
		d := rt.Dialect()
		dnFilter := func(dn string) (string, bool) { return d.DNFilter(dn), true }
		err := s.searchBatches(ctx, rt, dnFilter, list, []string{d.ID}, func(e *ldap.Entry) {
			key := mapping.RefKey(e.DN)
			out[key] = mapping.Ref{ID: d.EntryID(e), Type: rt.Name, Endpoint: rt.Endpoint}
			delete(pending, key)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refsByBacklink resolves the members of the entry ownerDN (of type owner) that
// live under a resource type mapping a read-only back-link to owner (User's
// groups from memberOf): one paged, indexed (memberOf=<ownerDN>) search per such
// type instead of OR filters of thousands of DNs. Members of other types are
// resolved by DN. It reports false when no type has a back-link.
func (s *Snapshot) refsByBacklink(ctx context.Context, owner *mapping.ResourceType, ownerDN string, dns []string, out map[string]mapping.Ref) (bool, error) {
	var rest []string
	used := false
	byType := s.backlinks(owner)
	if len(byType) == 0 {
		return false, nil
	}
	for rt, bl := range byType {
		d := rt.Dialect()
		req := ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false,
			"(&"+rt.Filter+"("+bl+"="+ldap.EscapeFilter(ownerDN)+"))", []string{d.ID}, nil)
		err := s.d.store.SearchPages(ctx, req, pageSize, func(page []*ldap.Entry) bool {
			for _, e := range page {
				out[mapping.RefKey(e.DN)] = mapping.Ref{ID: d.EntryID(e), Type: rt.Name, Endpoint: rt.Endpoint}
			}
			return true
		})
		if err != nil {
			return false, err
		}
		used = true
	}
	for _, dn := range dns {
		if _, ok := out[mapping.RefKey(dn)]; !ok {
			rest = append(rest, dn)
		}
	}
	more, err := s.refsOf(ctx, rest)
	for k, v := range more {
		out[k] = v
	}
	return used, err
}

// backlinks returns the resource types that map a read-only back-link to
// owner, each with its back-link attribute (Group → memberOf for a group's
// members of type User).
func (s *Snapshot) backlinks(owner *mapping.ResourceType) map[*mapping.ResourceType]string {
	byType := map[*mapping.ResourceType]string{}
	for _, rt := range s.m.Types {
		if bl := rt.Backlink(owner); bl != "" {
			byType[rt] = bl
		}
	}
	return byType
}

// searchBatches searches rt's entries that match the equality filter clause
// builds for one of values (ok false: the value matches nothing), refBatch
// values per search, calling fn for each entry found, batch after batch in
// order. Each value matches at most one entry, so a batch stays far below AD's
// 1,000-entry page limit. Up to refParallel batches are searched at once (a
// page of users in 300 groups: 6 searches at the same time instead of one
// after the other); fn runs on the calling goroutine. A failing batch fails
// the whole with its error once the batches searched beside it have ended;
// later batches are not searched.
func (s *Snapshot) searchBatches(ctx context.Context, rt *mapping.ResourceType, clause func(string) (string, bool), values, attrs []string, fn func(*ldap.Entry)) error {
	var filters []string
	batches := (len(values) + refBatch - 1) / refBatch
	size := (len(values) + batches - 1) / max(batches, 1) // even batches: 120 values are 3 of 40, not 50, 50 and 20
	for start := 0; start < len(values); start += size {
		var b strings.Builder
		n := 0
		b.WriteString("(&" + rt.Filter + "(|")
		for _, v := range values[start:min(start+size, len(values))] {
			if f, ok := clause(v); ok {
				b.WriteString(f)
				n++
			}
		}
		b.WriteString("))")
		if n > 0 {
			filters = append(filters, b.String())
		}
	}
	search := func(ctx context.Context, filter string) ([]*ldap.Entry, error) {
		res, err := s.d.store.Search(ctx, ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
		if err != nil {
			if isCode(err, ldap.LDAPResultInvalidAttributeSyntax) {
				return nil, nil // an id that is no UUID matches nothing
			}
			return nil, err
		}
		return res.Entries, nil
	}
	// A window of batches at a time, so that memory holds at most refParallel
	// batches' entries.
	for start := 0; start < len(filters); start += refParallel {
		window := filters[start:min(start+refParallel, len(filters))]
		found := make([][]*ldap.Entry, len(window))
		if len(window) == 1 {
			var err error
			if found[0], err = search(ctx, window[0]); err != nil {
				return err
			}
		} else {
			// A failing batch does not cancel the others, which end on their
			// own (a search cut short costs its connection and counts as a
			// "deadline" in the metrics).
			if err := eachAtOnce(len(window), func(i int) (err error) {
				found[i], err = search(ctx, window[i])
				return err
			}); err != nil {
				return err
			}
		}
		for _, entries := range found {
			for _, e := range entries {
				fn(e)
			}
		}
	}
	return nil
}

// eachAtOnce runs f(0) … f(n-1) at once and returns the first error; a failing
// call does not cancel the others. A panic in one is raised again on the
// caller's goroutine once all have returned, where the request's recovery
// handles it as any other; on f's own goroutine it would end the process.
func eachAtOnce(n int, f func(i int) error) error {
	var g errgroup.Group
	panics := make([]any, n)
	for i := range n {
		g.Go(func() (err error) {
			defer func() {
				if v := recover(); v != nil {
					panics[i], err = v, fmt.Errorf("panic: %v", v)
				}
			}()
			return f(i)
		})
	}
	err := g.Wait()
	for _, v := range panics {
		if v != nil {
			panic(v)
		}
	}
	return err
}
