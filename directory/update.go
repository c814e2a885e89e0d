package directory

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Written is what a write did, for the caller's audit log: the resource's id
// ("" when not known), the DN it has now and the DN it had before (OldDN, ""
// unless renamed or moved), and the names of the LDAP attributes written (a
// password attribute by name only, never its value).
type Written struct {
	ID, DN, OldDN string
	Attributes    []string
}

// Change is what an update makes of a resource: Resource is the resource as it
// must be afterwards (SCIM JSON; attributes absent are cleared, read-only ones
// ignored), Members what happens to its membership lists (by attribute;
// applied value by value, never by rewriting the list).
type Change struct {
	Resource map[string]any
	Members  map[*mapping.AttrMap]*MemberChange
}

// Mutator computes a change from the resource as read (every attribute, read
// for the update). It may run more than once: when a concurrent writer changed
// the entry first, the update is computed again on the fresh entry.
type Mutator func(cur *Resource) (*Change, error)

// change is what one write does to an entry: the desired values of every
// attribute read for the update (replace semantics: an empty list clears), and
// the membership plans, which are applied value by value without reading the lists.
type change struct {
	vals     map[string][]string
	members  map[*mapping.AttrMap]*memberPlan
	parent   string  // where the entry belongs (the mapping's parent rule)
	password *string // a new password, set with the Password Modify operation
	rr       *resolvedRefs
}

// entryMutator computes the change from the entry as read.
type entryMutator func(e *ldap.Entry) (*change, error)

// Update applies mutate to the resource with the given id (RFC 7644 §3.5.2
// PATCH semantics: the caller's mutator turns the operations into a Change).
// ifMatch are the versions an If-Match header names (RFC 7232 §3.1; none:
// unconditional). See update for the guarantees. Errors: ErrNotFound,
// ErrPrecondition (only with ifMatch), ErrUnavailable when the entry kept
// changing until the request's deadline, the client's value errors, or as
// classify.
func (r *Resources) Update(ctx context.Context, id string, ifMatch []string, mutate Mutator) (Written, error) {
	w, err := r.update(ctx, id, ifMatch, func(e *ldap.Entry) (*change, error) {
		refs, err := r.s.refsOf(ctx, r.rt.ReferenceDNs(e, nil))
		if err != nil {
			return nil, err
		}
		cur := &Resource{ID: r.rt.Dialect().EntryID(e), DN: e.DN, Version: e.GetEqualFoldAttributeValue(r.rt.Dialect().Version),
			Attributes: r.rt.FromLDAP(e, mapping.NewRefs(refs), r.s.base, nil)}
		c, err := mutate(cur)
		if err != nil {
			return nil, err
		}
		ch, err := r.newChange(ctx, c.Resource)
		if err != nil {
			return nil, err
		}
		for a, mc := range c.Members {
			if ch.members[a], err = r.memberDNs(ctx, ch.rr, a, mc); err != nil {
				return nil, err
			}
		}
		return ch, nil
	})
	return w, classify(err, r.what(id))
}

// Replace makes the resource with the given id what res says (RFC 7644 §3.5.1
// PUT): attributes absent from res are cleared, read-only ones ignored, and
// membership lists become exactly the lists res gives. ifMatch and errors as
// for Update.
func (r *Resources) Replace(ctx context.Context, id string, ifMatch []string, res map[string]any) (Written, error) {
	ch, err := r.newChange(ctx, res)
	if err != nil {
		return Written{}, classify(err, r.what(id))
	}
	for _, a := range r.rt.Attrs {
		if a.IsMembership() {
			p := &memberPlan{}
			p.replaceWith(minus(ch.vals[a.LDAP], placeholderOf(a)))
			ch.members[a] = p
		}
	}
	w, err := r.update(ctx, id, ifMatch, func(*ldap.Entry) (*change, error) { return ch, nil })
	return w, classify(err, r.what(id))
}

// newChange starts a change from a resource: its LDAP values (references
// resolved to DNs, the lookups recorded for verifyWritten), and the entry's
// parent and password as the mapping computes them from res.
func (r *Resources) newChange(ctx context.Context, res map[string]any) (*change, error) {
	ch := &change{members: map[*mapping.AttrMap]*memberPlan{}, rr: newResolved()}
	var err error
	if ch.vals, err = r.rt.WriteValues(res, r.s.idLookup(ctx, ch.rr)); err != nil {
		return nil, err
	}
	if ch.parent, err = r.rt.ParentDN(res); err != nil {
		return nil, err
	}
	if pw, ok, err := r.rt.Password(res); err != nil {
		return nil, err
	} else if ok {
		ch.password = &pw
	}
	return ch, nil
}

// update applies mutate to the entry with the given id.
// Attribute changes go in one modify (after a modrdn when the naming attribute
// changes) guarded by the assertion control on the version read, so a
// concurrent writer is never silently overwritten. With If-Match (want) a
// version mismatch is Precondition (412 Precondition Failed, RFC 7232 §4.2),
// the only source of one: without If-Match the update is recomputed on the
// fresh entry after a conflict (a guard that failed, or 32 noSuchObject when a
// rename raced it), with backoff and jitter, until the request's deadline;
// past it the answer is Unavailable. Membership changes are value adds and
// deletes, which commute, so concurrent membership updates never conflict.
func (r *Resources) update(ctx context.Context, id string, want []string, mutate entryMutator) (Written, error) {
	if len(want) > 0 {
		return r.updateOnce(ctx, id, want, mutate)
	}
	for attempt := 0; ; attempt++ {
		w, err := r.updateOnce(ctx, id, want, mutate)
		if !raced(err) {
			return w, err
		}
		if attempt == maxConflictRetries || !conflictBackoff(ctx, attempt) {
			return Written{}, refuse(Unavailable, "", "%s kept changing while this request was applied; retry", r.what(id))
		}
	}
}

// raced reports whether a write failed because the entry changed after it was
// read: its guard failed (122 assertionFailed, or the values guard's
// Precondition, see casConflict), or a rename moved it (32 noSuchObject).
func raced(err error) bool {
	return errors.Is(err, ErrPrecondition) || isCode(err, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchObject)
}

// maxConflictRetries bounds the recomputations of one write (about 4 s of
// backoff in all), so that a conflict that is not a race (a value the
// directory keeps refusing) ends before the request's deadline.
const maxConflictRetries = 24

// conflictBackoff sleeps before the next attempt of a write that lost a race:
// full jitter over 2 ms doubling to 256 ms, so that writers racing for one
// entry spread out instead of colliding again. It reports false, without
// sleeping, when the request's deadline would pass first.
func conflictBackoff(ctx context.Context, attempt int) bool {
	ceiling := 2 * time.Millisecond << min(attempt, 7)
	d := time.Duration(rand.Int64N(int64(ceiling)) + 1)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d+50*time.Millisecond {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// readForUpdate reads the entry's writable attributes, but of membership lists
// only their placeholder value, if any (matched values control, RFC 3876): a
// 10,000-member group costs the same to update as an empty one.
func (r *Resources) readForUpdate(ctx context.Context, id string) (*ldap.Entry, error) {
	attrs := r.rt.WritableLDAPAttributes()
	var items []string
	for _, at := range attrs {
		items = append(items, "("+at+"=*)") // every value of the attributes read in full
	}
	placeholders := false
	for _, a := range r.rt.Attrs {
		if a.IsMembership() && a.Placeholder != nil {
			items = append(items, "("+a.LDAP+"="+ldap.EscapeFilter(*a.Placeholder)+")")
			attrs = append(attrs, a.LDAP)
			placeholders = true
		}
	}
	if !placeholders {
		return r.findByID(ctx, id, attrs, nil)
	}
	return r.findByID(ctx, id, attrs, []ldap.Control{&ldapstore.MatchedValuesControl{Items: items}})
}

// updateOnce reads the entry, computes the change and writes it in the order
// that keeps a failure in between repairable by a retry of the same request,
// and never leaves access that should have ended:
//
//  1. modrdn (guarded by the version read) when the naming attribute or the
//     parent changes, letter case included; references follow (references.go);
//  2. one modify of every attribute that changes (guarded, unless 1 ran);
//  3. the password (RFC 3062, or AD's unicodePwd), after the modify, so that
//     its own version change never fails the guard of step 2;
//  4. with a password, the account lock last (a lock attribute such as
//     pwdAccountLockedTime is left out of step 2): slapd's ppolicy removes the
//     lock on every password change, so it is written again, and a request that
//     also lifts it lifts it only once its password was accepted;
//  5. membership values, then a check that every DN written still names the
//     id it was resolved from.
//
// When the directory refuses step 2 or 3, steps 1 and 2 are undone, so the
// request is refused whole.
func (r *Resources) updateOnce(ctx context.Context, id string, want []string, mutate entryMutator) (Written, error) {
	e, err := r.readForUpdate(ctx, id)
	if err != nil {
		return Written{}, err
	}
	if e.DN, err = r.finishCaseRename(ctx, id, e); err != nil {
		return Written{}, err
	}
	version := e.GetEqualFoldAttributeValue(r.rt.Dialect().Version)
	if len(want) > 0 && !slices.Contains(want, version) {
		return Written{}, refuse(Precondition, "", "%s has changed since version %s; read it again", r.what(id), mapping.ETag(want[0]))
	}
	ch, err := mutate(e)
	if err != nil {
		return Written{}, err
	}
	if err := r.check(ctx, e, id, ch); err != nil {
		return Written{}, err
	}
	assert := r.s.d.guard(r.rt, version) // none on AD: there casChange guards by values
	mod := ldap.NewModifyRequest(e.DN, assert)
	oldRDN := e.GetEqualFoldAttributeValues(r.rt.RDN)
	newRDN := ""
	if v := ch.vals[r.rt.RDN]; len(v) == 1 && !slices.Contains(oldRDN, v[0]) {
		newRDN = v[0] // a case-only change too: the DN must spell the name as the attribute does
	}
	written := map[string]*mapping.AttrMap{} // reference DNs this write adds, and where (verified at the end)
	lock := r.lockAfter(e, ch)
	for _, attr := range slices.Sorted(maps.Keys(ch.vals)) {
		if r.rt.MembershipLDAP(attr) != nil || (newRDN != "" && strings.EqualFold(attr, r.rt.RDN)) {
			continue // membership below; the naming attribute changes with modrdn
		}
		if ch.password != nil && lock != nil && strings.EqualFold(attr, lock.a.LDAP) {
			continue // written after the password (step 4)
		}
		cur, next := e.GetEqualFoldAttributeValues(attr), ch.vals[attr]
		if !sameValues(cur, next) {
			r.s.d.casChange(mod, attr, cur, next)
			if a := r.referenceAttr(attr); a != nil {
				for _, v := range minus(next, cur) {
					written[mapping.RefKey(v)] = a
				}
			}
		}
	}
	dn := e.DN
	var undo []func() // compensations of the steps done, run in reverse when a later one fails
	fail := func(err error) (Written, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return Written{}, err
	}
	guarded := false // whether a guarded write already went through
	oldParent := parentDN(e.DN)
	newParent := ""
	if ch.parent != "" && mapping.RefKey(ch.parent) != mapping.RefKey(oldParent) {
		newParent = ch.parent // the parent rule moves the entry (e.g. a new department)
	}
	renamed := newRDN != "" || newParent != ""
	if renamed {
		newDN, undoRename, err := r.rename(ctx, e, id, newRDN, newParent, assert)
		if err != nil {
			return Written{}, err
		}
		dn, guarded = newDN, true
		mod.DN, mod.Controls = dn, nil
		undo = append(undo, undoRename)
		if err := r.s.moveReferences(ctx, e.DN, dn); err != nil {
			return fail(err)
		}
	}
	if len(mod.Changes) > 0 {
		if err := r.store.Modify(ctx, mod); err != nil {
			return fail(r.s.d.casConflict(err, r.what(id)))
		}
		guarded = true
		undo = append(undo, func() {
			r.s.d.stepFailed(ctx, "modify", dn, r.store.Modify(ctx, inverse(dn, mod, e)))
		})
	}
	if ch.password != nil {
		if lock != nil && !lock.set {
			// The request keeps the lock as it is: as it is now, not as read at the
			// start, so that a deactivation that landed meanwhile is kept too.
			if cur, err := r.readDN(ctx, dn, []string{lock.a.LDAP}); err == nil {
				lock.values = cur.GetEqualFoldAttributeValues(lock.a.LDAP)
			}
		}
		if err := r.setPassword(ctx, dn, *ch.password); err != nil {
			return fail(err)
		}
		if err := r.relock(ctx, dn, lock); err != nil {
			return Written{}, err // the request's other changes stand; a retry sets the password and the lock again
		}
	}
	for a, plan := range ch.members {
		var ctls []ldap.Control
		if len(want) > 0 && !guarded {
			ctls = assert
		}
		placeholder := a.Placeholder != nil && len(e.GetEqualFoldAttributeValues(a.LDAP)) > 0
		if err := r.applyMembers(ctx, dn, a, plan, placeholder, ctls); err != nil {
			return Written{}, err
		}
		for _, v := range append(slices.Clone(plan.add), plan.replace...) {
			written[mapping.RefKey(v)] = a
		}
	}
	r.s.upkeepFailed(ctx, "update", dn, r.s.verifyWritten(ctx, ch.rr, dn, written))
	w := Written{ID: id, DN: dn, Attributes: changedAttrs(mod)}
	if renamed {
		w.OldDN = e.DN
		w.Attributes = append(w.Attributes, r.rt.RDN)
	}
	if ch.password != nil { // written outside the modify: the password, the lock after it
		w.Attributes = append(w.Attributes, r.passwordAttr())
		if lock != nil {
			w.Attributes = append(w.Attributes, lock.a.LDAP)
		}
	}
	for a, p := range ch.members {
		if p.replaced || len(p.add) > 0 || len(p.remove) > 0 {
			w.Attributes = append(w.Attributes, a.LDAP)
		}
	}
	return w, nil
}

// check refuses, before anything is written, a change the mapping or the
// directory's rules forbid: an immutable attribute changed, a value taken
// (uniqueness), a group made its own member, a password over a connection that
// would carry it unencrypted. AD's userAccountControl keeps the bits the
// mapping doesn't own, and a lock attribute the lock values it doesn't own (a
// ppolicy lockout after failed binds).
func (r *Resources) check(ctx context.Context, e *ldap.Entry, id string, ch *change) error {
	r.rt.KeepOtherBits(ch.vals, e)    // userAccountControl: only the mapped bit changes
	r.rt.KeepUnownedLocks(ch.vals, e) // active true removes only the gateway's own lock
	if err := r.checkImmutable(e, ch.vals); err != nil {
		return err
	}
	if err := r.checkUnique(ctx, ch.vals, id, e); err != nil {
		return err
	}
	if err := checkNotOwnMember(e.DN, r.what(id), ch.members); err != nil {
		return err
	}
	if ch.password != nil {
		return r.checkPasswordTransport()
	}
	return nil
}

// changedAttrs are the attribute names a modify changes.
func changedAttrs(mod *ldap.ModifyRequest) []string {
	var out []string
	for _, c := range mod.Changes {
		out = append(out, c.Modification.Type)
	}
	return out
}

// rename moves the entry e (read as id) to the RDN value newRDN and/or under
// newParent ("" for either keeps it) with one modrdn guarded by assert, and
// returns its new DN and the compensation that moves it back (references
// included). Grants left on the new name by deletes made outside the gateway
// are removed first (not for a change of letter case only: then the name is
// the entry's own). A parent that doesn't exist is the client's 400.
func (r *Resources) rename(ctx context.Context, e *ldap.Entry, id, newRDN, newParent string, assert []ldap.Control) (string, func(), error) {
	oldParent := parentDN(e.DN)
	rdn, parent := firstRDN(e.DN), oldParent
	if newRDN != "" {
		rdn = r.rt.RDN + "=" + ldap.EscapeDN(newRDN)
	}
	if newParent != "" {
		parent = newParent
	}
	target := rdn + "," + parent
	if mapping.RefKey(target) != mapping.RefKey(e.DN) {
		if err := r.s.dropDangling(ctx, target); err != nil {
			return "", nil, err
		}
	}
	if err := r.modifyDN(ctx, e.DN, rdn, newParent, assert); err != nil {
		if newParent != "" && isCode(err, ldap.LDAPResultNoSuchObject) {
			if here, xerr := r.s.exists(ctx, e.DN); xerr == nil && here {
				// The entry is where it was: the parent the mapping computed is missing.
				return "", nil, invalid(scimerr.InvalidValue, "%s would move under %s, which does not exist in the directory (the mapping's parent rule computed it); create it first", r.what(id), newParent)
			}
		}
		return "", nil, err
	}
	undo := func() {
		undoParent := ""
		if newParent != "" {
			undoParent = oldParent
		}
		err := r.modifyDN(ctx, target, firstRDN(e.DN), undoParent, nil)
		if err == nil {
			err = r.s.moveReferences(ctx, target, e.DN)
		}
		r.s.d.stepFailed(ctx, "rename", e.DN, err)
	}
	return target, undo, nil
}

// accountLock is the lock state an entry must have after a write: a (the
// mapping of a lock attribute such as pwdAccountLockedTime, with
// trueWhenAbsent) and its values (none: not locked); set says whether the request decides it (it
// sets active) or keeps the entry's.
type accountLock struct {
	a      *mapping.AttrMap
	values []string
	set    bool
}

// lockAfter returns the lock state e must have after ch: the values ch writes
// when the request sets active, else the lock e has (a password change must
// not lift a lock the request didn't mention, whatever its value); nil when
// the mapping stores active otherwise (AD's userAccountControl bit, which a
// password reset never touches) or not at all.
func (r *Resources) lockAfter(e *ldap.Entry, ch *change) *accountLock {
	for _, a := range r.rt.Attrs {
		if !a.TrueWhenAbsent || !a.Writable() {
			continue
		}
		vals, set := ch.vals[a.LDAP]
		if !set && e != nil {
			vals = e.GetEqualFoldAttributeValues(a.LDAP)
		}
		return &accountLock{a: a, values: vals, set: set}
	}
	return nil
}

// relock writes the lock state after a password change (slapd's ppolicy
// deletes pwdAccountLockedTime whenever userPassword changes, unless the same
// modify writes it; other lock attributes such as nsAccountLock are unaffected
// but may be what the request changes). Only the gateway's own lock
// (mapping.AttrMap.IsFalseValue) is written again; a lockout after failed binds
// (a time) is not: ppolicy deleting it on a password reset is the policy's own
// rule, an administrator's reset being how a locked-out user gets back in, and
// the gateway re-imposes only the deactivation it owns. A replace with no
// values removes the attribute (RFC 4511 §4.6). It is retried while the directory is unreachable,
// within the request's deadline; a failure is logged at error level, because
// until a retry of the request succeeds a deactivated account can bind with
// the new password.
func (r *Resources) relock(ctx context.Context, dn string, lock *accountLock) error {
	if lock == nil {
		return nil
	}
	own := slices.DeleteFunc(slices.Clone(lock.values), func(v string) bool { return !lock.a.IsFalseValue(v) })
	for attempt := 0; ; attempt++ {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace(lock.a.LDAP, own)
		err := r.store.Modify(ctx, mod)
		if err == nil {
			return nil
		}
		if !ldapstore.IsUnavailable(err) || !conflictBackoff(ctx, attempt+4) {
			r.s.d.stepFailed(ctx, "the account lock after the password change", dn, err)
			return err
		}
	}
}

// inverse is the modify that undoes mod on the entry e was read as: by values
// (delete what mod wrote, then add back what e had), so it fails rather than
// overwrite a change someone else made meanwhile.
func inverse(dn string, mod *ldap.ModifyRequest, e *ldap.Entry) *ldap.ModifyRequest {
	var attrs []string
	wrote := map[string][]string{}
	for _, c := range mod.Changes {
		attr := c.Modification.Type
		if !slices.Contains(attrs, attr) {
			attrs = append(attrs, attr)
		}
		if c.Operation != ldap.DeleteAttribute {
			wrote[attr] = append(wrote[attr], c.Modification.Vals...)
		}
	}
	inv := ldap.NewModifyRequest(dn, nil)
	for _, attr := range attrs {
		if len(wrote[attr]) > 0 {
			inv.Delete(attr, wrote[attr])
		}
		if cur := e.GetEqualFoldAttributeValues(attr); len(cur) > 0 {
			inv.Add(attr, cur)
		}
	}
	return inv
}

// writtenRefs are the reference DNs among a new entry's values (vals), by
// mapping.RefKey, with the attribute holding each, for verifyWritten.
func (r *Resources) writtenRefs(vals map[string][]string) map[string]*mapping.AttrMap {
	out := map[string]*mapping.AttrMap{}
	for _, a := range r.rt.Attrs {
		if a.IsReference() && a.Writable() {
			for _, v := range minus(vals[a.LDAP], placeholderOf(a)) {
				out[mapping.RefKey(v)] = a
			}
		}
	}
	return out
}

// passwordAttr is the LDAP attribute the mapping stores the password in
// (userPassword, unicodePwd), for the audit event: its name, never its value.
func (r *Resources) passwordAttr() string {
	for _, a := range r.rt.Attrs {
		if a.Password {
			return a.LDAP
		}
	}
	return ""
}

// referenceAttr returns the writable reference attribute stored in ldapAttr
// (manager, member…), or nil.
func (r *Resources) referenceAttr(ldapAttr string) *mapping.AttrMap {
	for _, a := range r.rt.Attrs {
		if a.IsReference() && a.Writable() && strings.EqualFold(a.LDAP, ldapAttr) {
			return a
		}
	}
	return nil
}

// firstRDN returns the entry's own RDN, e.g. "uid=alice" of "uid=alice,ou=people,…".
func firstRDN(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return dn
	}
	return (&ldap.DN{RDNs: d.RDNs[:1]}).String()
}

func parentDN(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	parent := &ldap.DN{RDNs: d.RDNs[1:]}
	return parent.String()
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// checkImmutable refuses a write that changes an immutable attribute
// (RFC 7643 §2.2: 400 mutability).
func (r *Resources) checkImmutable(e *ldap.Entry, vals map[string][]string) error {
	for _, a := range r.rt.Attrs {
		if a.Mutability != mapping.MutabilityImmutable || a.IsMembership() {
			continue
		}
		cur := e.GetEqualFoldAttributeValues(a.LDAP)
		if len(cur) > 0 && !sameValues(cur, vals[a.LDAP]) {
			return invalid(scimerr.Mutability, "%s is immutable and cannot be changed", a.Key)
		}
	}
	return nil
}
