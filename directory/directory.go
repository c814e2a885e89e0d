// Package directory is scim2ldap's resource layer: SCIM resources read from and
// written to an LDAP directory through a mapping. It sits between the SCIM
// protocol (package gateway, which knows HTTP and PatchOp but no LDAP) and the
// connection pool (package ldapstore, which knows LDAP but no SCIM).
//
// Every operation works on a Snapshot: the mapping and the public base URL a
// request started with, so a mapping reloaded meanwhile never changes a running
// request halfway. Its Resources (one resource type) get, create, replace,
// update with a mutator, and delete resources; Snapshot.List serves list and
// search pages. Writes keep the rules of an identity store: each is guarded by
// the version read (RFC 4528 assertion control, or compare-and-swap by values
// where the directory has none), ordered so that a failure never leaves access
// that should have ended, and undone when a later step is refused; references
// (member, manager) are kept naming the entries they named (references.go).
//
// Errors are *Error values of a Kind (ErrNotFound, ErrConflict, ErrUniqueness,
// ErrUnavailable…, matched with errors.Is) wrapping the LDAP error, or the
// client's value errors from the layers below (*mapping.ValueError,
// *filterxlate.Error), returned as they are.
package directory

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Events hears of changes the directory layer makes to entries other than the
// one a request names (the caller's audit log). Calls come from the request's
// goroutine, after the directory accepted the change.
type Events interface {
	// ReferenceChanged reports a reference rewrite (see references.go).
	ReferenceChanged(ctx context.Context, c ReferenceChange)
}

// ReferenceChange is one reference rewrite: in the entry DN (of ResourceType,
// "" when the entry is of none), the values of Attributes that named OldValue
// now name NewValue ("" when they were removed).
type ReferenceChange struct {
	DN, ResourceType   string
	Attributes         []string
	OldValue, NewValue string
}

// Directory is the resource layer over one connection pool. It is safe for
// concurrent use and keeps no state of its own but the locks of case-only
// renames in flight (caseRenames) and the reference resolutions in flight
// (flights).
type Directory struct {
	store  *ldapstore.Store
	log    zerolog.Logger
	events Events
	budget *listBudget // nil: list pages unbounded
	// caseRenames is held, per entry name (mapping.RefKey), by a case-only
	// rename's two steps on 389 DS and by finishCaseRename (policy.go).
	caseRenames keyedMutex
	flights     refFlights // flights.go
}

// New returns the resource layer over store. log receives what a request can't
// report to its client (a compensation that failed, reference upkeep left
// unfinished); each event carries the request's context (zerolog.Event.Ctx),
// so a hook of log can add the request's fields (its id). events may be nil.
func New(store *ldapstore.Store, log zerolog.Logger, events Events, opts ...Option) *Directory {
	d := &Directory{store: store, log: log, events: events}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Option configures a Directory.
type Option func(*Directory)

// ListMemory bounds the memory the list pages being served hold at once to
// about bytes (see listBudget; 0 or less: unbounded). A page that cannot have
// its share within 10 s fails with ErrUnavailable; Page.Release returns it.
func ListMemory(bytes int64) Option {
	return func(d *Directory) { d.budget = newListBudget(bytes) }
}

// Snapshot is the directory as one request sees it: through mapping m, with
// base (e.g. "https://scim.example.org/scim/v2") the absolute SCIM base URL
// for meta.location and $ref.
func (d *Directory) Snapshot(m *mapping.Mapping, base string) *Snapshot {
	return &Snapshot{d: d, m: m, base: base}
}

// Snapshot is a request's view of the directory (see Directory.Snapshot).
type Snapshot struct {
	d    *Directory
	m    *mapping.Mapping
	base string
}

// Resources returns the operations on rt's resources (rt must belong to the
// snapshot's mapping).
func (s *Snapshot) Resources(rt *mapping.ResourceType) *Resources {
	return &Resources{s: s, rt: rt, store: s.d.store}
}

// Resources are the operations on one resource type's resources.
type Resources struct {
	s     *Snapshot
	rt    *mapping.ResourceType
	store *ldapstore.Store
}

// what names a resource for error details: "User 2819c223…", or "User".
func (r *Resources) what(id string) string {
	if id == "" {
		return r.rt.Name
	}
	return r.rt.Name + " " + id
}

// Capabilities of the directory that change what the SCIM side can offer
// (read from the root DSE's supportedControl; /ServiceProviderConfig
// advertises them).

// Assertions reports whether the directory honours the assertion control (RFC
// 4528), as slapd does. AD and Samba do not (a critical one is refused with 12
// unavailableCriticalExtension), so writes there are guarded by values instead.
func (d *Directory) Assertions() bool {
	return d.store != nil && d.store.Supports(ldapstore.OIDAssertion)
}

// Sorts reports whether the directory offers server-side sorting (RFC 2891),
// which sortBy needs.
func (d *Directory) Sorts() bool {
	return d.store != nil && d.store.Supports(ldapstore.OIDServerSideSort)
}

// VirtualListViews reports whether lists may use virtual list views
// (draft-ietf-ldapext-ldapv3-vlv): the directory lists both the VLV and the
// sort control. Cursor paging (RFC 9865) needs them.
func (d *Directory) VirtualListViews() bool {
	return d.Sorts() && d.store.Supports(ldapstore.OIDVLVRequest)
}

// stepFailed logs a compensation or follow-up step that could not be done:
// the state it leaves is named, so an operator can repair it.
func (d *Directory) stepFailed(ctx context.Context, step, dn string, err error) {
	if err == nil {
		return
	}
	d.log.Error().Ctx(ctx).Err(err).Str("dn", dn).Str("step", step).Msg("a step of a multi-operation write failed; the entry may be left between the request's states until the request is retried")
}
