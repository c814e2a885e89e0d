package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Resource is a resource as read: its SCIM id, the DN of its entry, its
// version (the directory attribute mapping.Dialect.Version names: entryCSN,
// uSNChanged; "" when the entry has none) and its SCIM form (RFC 7643 JSON as
// map[string]any, holding what the projection asked for).
type Resource struct {
	ID, DN, Version string
	Attributes      map[string]any
}

// Get reads the resource with the given id, rendered with projection p (nil:
// every attribute returned by default). Errors: ErrNotFound, or as classify.
func (r *Resources) Get(ctx context.Context, id string, p *mapping.Projection) (*Resource, error) {
	e, err := r.findByID(ctx, id, r.rt.LDAPAttributes(p), nil)
	if err != nil {
		return nil, classify(err, r.what(id))
	}
	return r.resource(ctx, e, p)
}

// GetDN reads the resource whose entry is dn (after a write returned it).
func (r *Resources) GetDN(ctx context.Context, dn string, p *mapping.Projection) (*Resource, error) {
	e, err := r.readDN(ctx, dn, r.rt.LDAPAttributes(p))
	if err != nil {
		return nil, classify(err, r.rt.Name)
	}
	return r.resource(ctx, e, p)
}

// GetWritten reads the resource a write just made (w from Create or Update),
// rendered with projection p: at w.DN, or by its id when a concurrent rename
// moved the entry between the write and this read (the DN then names nothing,
// or another entry). Errors: ErrNotFound when the entry is gone (a concurrent
// delete), or as classify.
func (r *Resources) GetWritten(ctx context.Context, w Written, p *mapping.Projection) (*Resource, error) {
	res, err := r.GetDN(ctx, w.DN, p)
	if w.ID == "" || (err == nil && strings.EqualFold(res.ID, w.ID)) || (err != nil && !errors.Is(err, ErrNotFound)) {
		return res, err
	}
	return r.Get(ctx, w.ID, p)
}

// resource renders one entry.
func (r *Resources) resource(ctx context.Context, e *ldap.Entry, p *mapping.Projection) (*Resource, error) {
	list, err := r.render(ctx, []*ldap.Entry{e}, p)
	if err != nil {
		return nil, err
	}
	return &Resource{ID: r.rt.Dialect().EntryID(e), DN: e.DN, Version: e.GetEqualFoldAttributeValue(r.rt.Dialect().Version), Attributes: list[0]}, nil
}

// findByID reads the entry whose directory id is id (ErrNotFound when there is
// none). The id is searched for with the dialect's equality filter (on AD the
// GUID's escaped bytes); ranged attribute values are read completely. In plan
// mode the entry is the one the request's plan left (asPlanned).
func (r *Resources) findByID(ctx context.Context, id string, attrs []string, controls []ldap.Control) (*ldap.Entry, error) {
	idFilter, ok := r.rt.Dialect().IDFilter(id)
	if !ok {
		return nil, r.idNotFound(id)
	}
	filter := "(&" + r.rt.Filter + idFilter + ")"
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(r.rt.Base, r.rt.Scope, ldap.NeverDerefAliases, 2, 0, false, filter, attrs, controls))
	if err != nil {
		if isCode(err, ldap.LDAPResultInvalidAttributeSyntax, ldap.LDAPResultNoSuchObject) {
			return nil, r.idNotFound(id)
		}
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, r.idNotFound(id)
	}
	if planning(ctx) {
		if res, err = r.asPlanned(ctx, id, res, attrs, controls); err != nil {
			return nil, err
		}
	}
	if err := r.store.CompleteRanges(ctx, res.Entries[:1]); err != nil {
		return nil, err
	}
	return res.Entries[0], nil
}

// idNotFound is the answer for an id that names no entry: 404, saying so
// when the id is one a plan gave a create it did not make (isPlannedID), which
// an IdP that was pointed at a plan-mode gateway keeps asking for.
func (r *Resources) idNotFound(id string) *Error {
	if isPlannedID(id) {
		return refuse(NotFound, "", "%s not found: %s", r.what(id), plannedIDNote)
	}
	return notFound(r.what(id))
}

// readDN reads an entry by DN with a base-scope search.
func (r *Resources) readDN(ctx context.Context, dn string, attrs []string) (*ldap.Entry, error) {
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, notFound(r.rt.Name)
	}
	if err := r.store.CompleteRanges(ctx, res.Entries[:1]); err != nil {
		return nil, err
	}
	return res.Entries[0], nil
}

// exists reports whether an entry named dn exists (a base-scope search).
func (s *Snapshot) exists(ctx context.Context, dn string) (bool, error) {
	_, err := s.d.store.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if isCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, err
}

// render turns entries into SCIM resources, resolving every DN reference of the
// whole batch with one search per referenced resource type and batch of DNs; a
// long member list is resolved through its back-link instead (see refsByBacklink).
// meta is left out when p excludes it.
func (r *Resources) render(ctx context.Context, entries []*ldap.Entry, p *mapping.Projection) ([]map[string]any, error) {
	return r.renderFetched(ctx, entries, p, nil)
}

// renderFetched is render for entries of which pre (nil: none) noted some as
// they arrived and may have resolved the references of the first
// (prefetch.go).
func (r *Resources) renderFetched(ctx context.Context, entries []*ldap.Entry, p *mapping.Projection, pre *prefetch) ([]map[string]any, error) {
	if err := r.store.CompleteRanges(ctx, entries); err != nil { // AD: member;range=… (no-op when read already)
		return nil, classify(err, r.rt.Name)
	}
	// A page of users in the same groups names each group once per user: each
	// distinct DN is resolved, and its reference object rendered, once.
	shared := mapping.NewSharedRefs()
	var early map[string]mapping.Ref
	var dns []string
	if pre != nil && !pre.covers(entries) {
		pre = nil
	}
	if pre != nil {
		var err error
		if early, dns, err = pre.resolved(ctx); err != nil {
			return nil, classify(err, r.rt.Name)
		}
		shared = pre.refs
	}
	refs := map[string]mapping.Ref{}
	for _, e := range entries {
		if shared.Noted(e) {
			continue // as it arrived
		}
		if r.rt.ReferenceCount(e, p) > backlinkFrom {
			if done, err := r.s.refsByBacklink(ctx, r.rt, e.DN, r.rt.ReferenceDNs(e, p), refs); err != nil {
				return nil, classify(err, r.rt.Name)
			} else if done {
				continue
			}
		}
		dns = shared.NoteEntry(r.rt, e, p, dns)
	}
	more, err := r.s.sharedRefsOf(ctx, dns) // with the renders running beside it (flights.go)
	if err != nil {
		return nil, classify(err, r.rt.Name)
	}
	for _, m := range []map[string]mapping.Ref{early, more} {
		if len(refs) == 0 && m != nil {
			refs = m
			continue
		}
		for k, v := range m {
			refs[k] = v
		}
	}
	shared.Resolve(refs)
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		if pre != nil && pre.rendered[e] != nil {
			out[i] = pre.rendered[e] // as it arrived
			continue
		}
		out[i] = r.rt.FromLDAP(e, shared, r.s.base, p)
	}
	return out, nil
}
