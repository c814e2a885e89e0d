package directory

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Resolving a page's references while it arrives. The directory sends a VLV
// window entry by entry, and a page of users in hundreds of groups takes
// milliseconds to arrive (100 users in 300 groups: about 6 ms from slapd
// 2.5). A page read alone (no resolution running and no other page being
// read: flights.go) notes each entry's references as it arrives and, from the
// first entry that names any, resolves them while the rest arrive; entries
// that arrive after that resolution ended and name only DNs it resolved are
// rendered as they come. The render resolves only the DNs that later entries
// added. A page read beside others leaves its resolution to the shared flight
// instead, which costs the directory less.
//
// Freshness: each DN is resolved after the directory sent the first entry
// that names it, as without prefetching; an entry of the same window that
// arrives later and names the same DN shares that resolution, which is then
// older than that entry by at most the window's transfer (milliseconds). A
// page is no snapshot either way: a group deleted, and its DN given to
// another group, while the page is read may show under either id.

// prefetch is one page's early noting and resolution (see above).
type prefetch struct {
	r    *Resources
	ctx  context.Context
	p    *mapping.Projection
	refs *mapping.Refs
	dns  []string // the distinct DNs noted, in order
	// early is how many of dns the early resolution has (0: none); once it
	// started, done closes when out and err are set.
	early int
	tried bool // whether the first entry with references was met
	// backlinked: the render resolves an entry of more than backlinkFrom
	// references through their back-link (refsByBacklink), so each leaves
	// such entries to it.
	backlinked bool
	seen       map[*ldap.Entry]bool // every entry each was given
	done       chan struct{}
	out        map[string]mapping.Ref
	err        error
	// rendered are the entries rendered as they arrived, once the early
	// resolution had ended and held all their DNs.
	rendered map[*ldap.Entry]map[string]any
}

// prefetch returns the early noting of a page rendered with p, or nil in plan
// mode (a plan's reads see its own state, resolved at render).
func (r *Resources) prefetch(ctx context.Context, p *mapping.Projection) *prefetch {
	if planning(ctx) {
		return nil
	}
	return &prefetch{r: r, ctx: ctx, p: p, refs: mapping.NewSharedRefs(), backlinked: len(r.s.backlinks(r.rt)) > 0, seen: map[*ldap.Entry]bool{}}
}

// each notes entry e as it arrives (on the goroutine reading the response;
// see ldapstore.Store.SearchVLVEach). Left to the render: an entry of more
// than backlinkFrom references when it resolves them through their back-link
// instead (a group's members; not a user's groups), and an entry whose values
// came in ranges (AD), completed only before the render.
func (f *prefetch) each(e *ldap.Entry) {
	f.seen[e] = true
	if f.ctx.Err() != nil {
		return // the search was abandoned at the request's end: nobody renders
	}
	if ldapstore.HasRanges(e) || f.backlinked && f.r.rt.ReferenceCount(e, f.p) > backlinkFrom {
		return
	}
	f.dns = f.refs.NoteEntry(f.r.rt, e, f.p, f.dns)
	if f.tried {
		f.render(e)
		return
	}
	if len(f.dns) == 0 {
		return
	}
	f.tried = true
	if f.r.s.alone(f.ctx) {
		f.early = len(f.dns)
		f.done = make(chan struct{})
		go f.resolve(f.dns[:f.early])
	}
}

// render renders e now when the early resolution has ended and resolved
// every DN e names (the slots of the first f.early DNs noted); the page's
// render uses it instead of rendering e again.
func (f *prefetch) render(e *ldap.Entry) {
	if f.done == nil {
		return
	}
	select {
	case <-f.done:
	default:
		return // still resolving
	}
	if f.err != nil || !f.refs.Within(e, f.early) {
		return
	}
	if f.rendered == nil {
		f.rendered = map[*ldap.Entry]map[string]any{}
		f.refs.Resolve(f.out)
	}
	f.rendered[e] = f.r.rt.FromLDAP(e, f.refs, f.r.s.base, f.p)
}

// resolve is the early resolution of dns. A panic becomes its error, for the
// render to answer, instead of ending the process.
func (f *prefetch) resolve(dns []string) {
	defer close(f.done)
	defer func() {
		if v := recover(); v != nil {
			f.out, f.err = nil, fmt.Errorf("resolving references: panic: %v", v)
			f.r.s.d.log.Error().Ctx(f.ctx).Err(f.err).Msg("early reference resolution failed")
		}
	}()
	f.out, f.err = f.r.s.refsOf(f.ctx, dns)
}

// covers reports whether each was given every entry of entries: a page
// whose entries came from another search than the VLV window (the window cut
// short by a size limit and read again: vlvWindow) is rendered without the
// prefetch, whose resolution may predate that search.
func (f *prefetch) covers(entries []*ldap.Entry) bool {
	for _, e := range entries {
		if !f.seen[e] {
			return false
		}
	}
	return true
}

// resolved waits for the early resolution (none: nil) and returns it, with
// the DNs noted after it started, which the render still resolves.
func (f *prefetch) resolved(ctx context.Context) (map[string]mapping.Ref, []string, error) {
	rest := slices.Clone(f.dns[f.early:]) // the render appends; the early goroutine reads dns[:early]
	if f.done == nil {
		return nil, rest, nil
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, nil, &ldapstore.UnavailableError{Err: fmt.Errorf("waiting for the page's reference resolution: %w", ctx.Err())}
	}
	return f.out, rest, f.err
}
