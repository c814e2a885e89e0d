package gateway

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/gorilla/mux"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// memberPlan is what one request does to a membership list (a group's members),
// as DNs: either a whole new list, or values to add and to remove.
type memberPlan struct {
	replaced    bool
	replace     []string
	add, remove []string
}

func (p *memberPlan) addValues(dns []string) {
	if p.replaced {
		p.replace = union(p.replace, dns)
		return
	}
	p.add = union(p.add, dns)
	p.remove = minus(p.remove, dns)
}

func (p *memberPlan) removeValues(dns []string) {
	if p.replaced {
		p.replace = minus(p.replace, dns)
		return
	}
	p.remove = union(p.remove, dns)
	p.add = minus(p.add, dns)
}

func (p *memberPlan) replaceWith(dns []string) {
	p.replaced, p.replace, p.add, p.remove = true, union(nil, dns), nil, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		if !containsFold(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !containsFold(b, v) {
			out = append(out, v)
		}
	}
	return out
}

func containsFold(list []string, v string) bool {
	key := mapping.RefKey(v)
	for _, x := range list {
		if mapping.RefKey(x) == key {
			return true
		}
	}
	return false
}

// change is what one write does to an entry: the desired values of every
// attribute read for the update (replace semantics: an empty list clears), and
// the membership plans, which are applied value by value without reading the lists.
type change struct {
	vals     map[string][]string
	members  map[*mapping.AttrMap]*memberPlan
	parent   string  // where the entry belongs (the mapping's parent rule)
	password *string // a new password, set with the Password Modify operation
}

// mutator computes the change from the entry as read.
type mutator func(e *ldap.Entry) (*change, error)

// update applies mutate to the entry with the given id and returns its (new) DN.
// Attribute changes go in one modify (after a modrdn when the naming attribute
// changes) guarded by the assertion control on the version read, so a
// concurrent writer is never silently overwritten. With If-Match (want) a
// version mismatch is 412 Precondition Failed (RFC 7232 §4.2), the only
// source of a 412: without If-Match the update is recomputed on the fresh
// entry after a conflict (122 assertionFailed, or 32 when a rename raced it),
// with backoff and jitter, until the request's deadline; past it the answer is
// 503 with Retry-After. Membership changes are value adds and deletes, which
// commute, so concurrent membership updates never conflict.
func (h *resourceHandler) update(ctx context.Context, id string, want []string, mutate mutator) (string, error) {
	if len(want) > 0 {
		return h.updateOnce(ctx, id, want, mutate)
	}
	for attempt := 0; ; attempt++ {
		dn, err := h.updateOnce(ctx, id, want, mutate)
		if !ldap.IsErrorAnyOf(err, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchObject) {
			return dn, err
		}
		if attempt == maxConflictRetries || !conflictBackoff(ctx, attempt) {
			return "", errorf(503, "", "%s kept changing while this request was applied; retry", h.what(id))
		}
	}
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
func (h *resourceHandler) readForUpdate(ctx context.Context, id string) (*ldap.Entry, error) {
	attrs := h.rt.WritableLDAPAttributes()
	var items []string
	for _, at := range attrs {
		items = append(items, "("+at+"=*)") // every value of the attributes read in full
	}
	placeholders := false
	for _, a := range h.rt.Attrs {
		if a.IsMembership() && a.Placeholder != nil {
			items = append(items, "("+a.LDAP+"="+ldap.EscapeFilter(*a.Placeholder)+")")
			attrs = append(attrs, a.LDAP)
			placeholders = true
		}
	}
	if !placeholders {
		return h.findByID(ctx, id, attrs, nil)
	}
	return h.findByID(ctx, id, attrs, []ldap.Control{&ldapstore.MatchedValuesControl{Items: items}})
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
func (h *resourceHandler) updateOnce(ctx context.Context, id string, want []string, mutate mutator) (string, error) {
	e, err := h.readForUpdate(ctx, id)
	if err != nil {
		return "", err
	}
	version := e.GetEqualFoldAttributeValue(h.rt.Dialect().Version)
	if len(want) > 0 && !slices.Contains(want, version) {
		return "", errorf(412, "", "%s has changed since version %s; read it again", h.what(id), mapping.ETag(want[0]))
	}
	ch, err := mutate(e)
	if err != nil {
		return "", err
	}
	h.rt.KeepOtherBits(ch.vals, e) // userAccountControl: only the mapped bit changes
	if err := h.checkImmutable(e, ch.vals); err != nil {
		return "", err
	}
	if err := h.checkUnique(ctx, ch.vals, id, e); err != nil {
		return "", err
	}
	if err := checkNotOwnMember(e.DN, h.what(id), ch); err != nil {
		return "", err
	}
	if ch.password != nil {
		if err := h.checkPasswordTransport(); err != nil { // before anything is written
			return "", err
		}
	}
	m := h.s.mapping()
	assert := h.s.guard(h.rt, version) // none on AD: there casChange guards by values
	mod := ldap.NewModifyRequest(e.DN, assert)
	oldRDN := e.GetEqualFoldAttributeValues(h.rt.RDN)
	newRDN := ""
	if v := ch.vals[h.rt.RDN]; len(v) == 1 && !slices.Contains(oldRDN, v[0]) {
		newRDN = v[0] // a case-only change too: the DN must spell the name as the attribute does
	}
	written := map[string]*mapping.AttrMap{} // reference DNs this write adds, and where (verified at the end)
	lock := h.lockAfter(e, ch)
	for _, attr := range sortedKeys(ch.vals) {
		if h.isMembershipAttr(attr) || (newRDN != "" && strings.EqualFold(attr, h.rt.RDN)) {
			continue // membership below; the naming attribute changes with modrdn
		}
		if ch.password != nil && lock != nil && strings.EqualFold(attr, lock.attr) {
			continue // written after the password (step 4)
		}
		cur, next := e.GetEqualFoldAttributeValues(attr), ch.vals[attr]
		if !sameValues(cur, next) {
			h.s.casChange(mod, attr, cur, next)
			if a := h.referenceAttr(attr); a != nil {
				for _, v := range minus(next, cur) {
					written[mapping.RefKey(v)] = a
				}
			}
		}
	}
	dn := e.DN
	var undo []func() // compensations of the steps done, run in reverse when a later one fails
	fail := func(err error) (string, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return "", err
	}
	guarded := false // whether a guarded write already went through
	oldParent := parentDN(e.DN)
	newParent := ""
	if ch.parent != "" && mapping.RefKey(ch.parent) != mapping.RefKey(oldParent) {
		newParent = ch.parent // the parent rule moves the entry (e.g. a new department)
	}
	renamed := newRDN != "" || newParent != ""
	if renamed {
		newDN, undoRename, err := h.rename(ctx, m, e, id, newRDN, newParent, assert)
		if err != nil {
			return "", err
		}
		dn, guarded = newDN, true
		mod.DN, mod.Controls = dn, nil
		undo = append(undo, undoRename)
		if err := h.s.moveReferences(ctx, m, e.DN, dn); err != nil {
			return fail(err)
		}
	}
	if len(mod.Changes) > 0 {
		if err := h.store().Modify(ctx, mod); err != nil {
			return fail(h.s.casConflict(err))
		}
		guarded = true
		undo = append(undo, func() {
			h.undoFailed(ctx, "modify", dn, h.store().Modify(ctx, h.inverse(dn, mod, e)))
		})
	}
	if ch.password != nil {
		if lock != nil && !lock.set {
			// The request keeps the lock as it is: as it is now, not as read at the
			// start, so that a deactivation that landed meanwhile is kept too.
			if cur, err := h.readDN(ctx, dn, []string{lock.attr}); err == nil {
				lock.values = cur.GetEqualFoldAttributeValues(lock.attr)
			}
		}
		if err := h.setPassword(ctx, dn, *ch.password); err != nil {
			return fail(err)
		}
		if err := h.relock(ctx, dn, lock); err != nil {
			return "", err // the request's other changes stand; a retry sets the password and the lock again
		}
	}
	for a, plan := range ch.members {
		var ctls []ldap.Control
		if len(want) > 0 && !guarded {
			ctls = assert
		}
		placeholder := a.Placeholder != nil && len(e.GetEqualFoldAttributeValues(a.LDAP)) > 0
		if err := h.applyMembers(ctx, dn, a, plan, placeholder, ctls); err != nil {
			return "", err
		}
		for _, v := range append(slices.Clone(plan.add), plan.replace...) {
			written[mapping.RefKey(v)] = a
		}
	}
	h.s.upkeepFailed(ctx, "update", dn, h.s.verifyWritten(ctx, m, resolvedOf(ctx), dn, written))
	var also []string // written outside the modify: the password, the lock after it
	if ch.password != nil {
		also = append(also, h.passwordAttr())
		if lock != nil {
			also = append(also, lock.attr)
		}
	}
	h.auditUpdate(ctx, id, e.DN, dn, mod, renamed, ch.members, also...)
	return dn, nil
}

// rename moves the entry e (read as id) to the RDN value newRDN and/or under
// newParent ("" for either keeps it) with one modrdn guarded by assert, and
// returns its new DN and the compensation that moves it back (references
// included). Grants left on the new name by deletes made outside the gateway
// are removed first (not for a change of letter case only: then the name is
// the entry's own). A parent that doesn't exist is the client's 400.
func (h *resourceHandler) rename(ctx context.Context, m *mapping.Mapping, e *ldap.Entry, id, newRDN, newParent string, assert []ldap.Control) (string, func(), error) {
	oldParent := parentDN(e.DN)
	rdn, parent := firstRDN(e.DN), oldParent
	if newRDN != "" {
		rdn = h.rt.RDN + "=" + ldap.EscapeDN(newRDN)
	}
	if newParent != "" {
		parent = newParent
	}
	target := rdn + "," + parent
	if mapping.RefKey(target) != mapping.RefKey(e.DN) {
		if err := h.s.dropDangling(ctx, m, target); err != nil {
			return "", nil, err
		}
	}
	if err := h.store().ModifyDN(ctx, ldap.NewModifyDNWithControlsRequest(e.DN, rdn, true, newParent, assert)); err != nil {
		if newParent != "" && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			if here, xerr := h.s.exists(ctx, e.DN); xerr == nil && here {
				// The entry is where it was: the parent the mapping computed is missing.
				return "", nil, errorf(400, "invalidValue", "%s would move under %s, which does not exist in the directory (the mapping's parent rule computed it); create it first", h.what(id), newParent)
			}
		}
		return "", nil, err
	}
	undo := func() {
		undoParent := ""
		if newParent != "" {
			undoParent = oldParent
		}
		err := h.store().ModifyDN(ctx, ldap.NewModifyDNRequest(target, firstRDN(e.DN), true, undoParent))
		if err == nil {
			err = h.s.moveReferences(ctx, m, target, e.DN)
		}
		h.undoFailed(ctx, "rename", e.DN, err)
	}
	return target, undo, nil
}

// accountLock is the lock state an entry must have after a write: attr (a
// lock attribute such as pwdAccountLockedTime, mapped with trueWhenAbsent) and
// its values (none: not locked); set says whether the request decides it (it
// sets active) or keeps the entry's.
type accountLock struct {
	attr   string
	values []string
	set    bool
}

// lockAfter returns the lock state e must have after ch: the values ch writes
// when the request sets active, else the lock e has (a password change must
// not lift a lock the request didn't mention, whatever its value); nil when
// the mapping stores active otherwise (AD's userAccountControl bit, which a
// password reset never touches) or not at all.
func (h *resourceHandler) lockAfter(e *ldap.Entry, ch *change) *accountLock {
	for _, a := range h.rt.Attrs {
		if !a.TrueWhenAbsent || !a.Writable() {
			continue
		}
		vals, set := ch.vals[a.LDAP]
		if !set && e != nil {
			vals = e.GetEqualFoldAttributeValues(a.LDAP)
		}
		return &accountLock{attr: a.LDAP, values: vals, set: set}
	}
	return nil
}

// relock writes the lock state after a password change (slapd's ppolicy
// deletes pwdAccountLockedTime whenever userPassword changes, unless the same
// modify writes it; other lock attributes such as nsAccountLock are unaffected
// but may be what the request changes). A replace with no values removes the
// attribute (RFC 4511 §4.6). It is retried while the directory is unreachable,
// within the request's deadline; a failure is logged at error level, because
// until a retry of the request succeeds a deactivated account can bind with
// the new password.
func (h *resourceHandler) relock(ctx context.Context, dn string, lock *accountLock) error {
	if lock == nil {
		return nil
	}
	for attempt := 0; ; attempt++ {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace(lock.attr, lock.values)
		err := h.store().Modify(ctx, mod)
		if err == nil {
			return nil
		}
		if !ldapstore.IsUnavailable(err) || !conflictBackoff(ctx, attempt+4) {
			h.undoFailed(ctx, "the account lock after the password change", dn, err)
			return err
		}
	}
}

// inverse is the modify that undoes mod on the entry e was read as: by values
// (delete what mod wrote, then add back what e had), so it fails rather than
// overwrite a change someone else made meanwhile.
func (h *resourceHandler) inverse(dn string, mod *ldap.ModifyRequest, e *ldap.Entry) *ldap.ModifyRequest {
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

// undoFailed logs a compensation or follow-up step that could not be done:
// the state it leaves is named, so an operator can repair it.
func (h *resourceHandler) undoFailed(ctx context.Context, step, dn string, err error) {
	if err == nil {
		return
	}
	id := ""
	if info := infoOf(ctx); info != nil {
		id = info.id
	}
	h.s.cfg.Log.Error().Err(err).Str("request_id", id).Str("dn", dn).Str("step", step).Msg("a step of a multi-operation write failed; the entry may be left between the request's states until the request is retried")
}

// writtenRefs are the reference DNs among a new entry's values (vals), by
// mapping.RefKey, with the attribute holding each, for verifyWritten.
func (h *resourceHandler) writtenRefs(vals map[string][]string) map[string]*mapping.AttrMap {
	out := map[string]*mapping.AttrMap{}
	for _, a := range h.rt.Attrs {
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
func (h *resourceHandler) passwordAttr() string {
	for _, a := range h.rt.Attrs {
		if a.Password {
			return a.LDAP
		}
	}
	return ""
}

// referenceAttr returns the writable reference attribute stored in ldapAttr
// (manager, member…), or nil.
func (h *resourceHandler) referenceAttr(ldapAttr string) *mapping.AttrMap {
	for _, a := range h.rt.Attrs {
		if a.IsReference() && a.Writable() && strings.EqualFold(a.LDAP, ldapAttr) {
			return a
		}
	}
	return nil
}

func (h *resourceHandler) isMembershipAttr(ldapAttr string) bool {
	return h.rt.MembershipLDAP(ldapAttr) != nil
}

// applyMembers writes a membership plan with one modify in the usual case:
// values are added with the permissive modify control (re-adding is a no-op)
// and deleted by value; only when the directory objects (16, or 53 on AD: a value to delete
// is absent; 20, or 68 on AD: a value to add exists and permissive modify is not honoured;
// 65: the list would become empty) is the modify redone, after per-value
// compares, or with the placeholder. The cost never depends on the list's size.
func (h *resourceHandler) applyMembers(ctx context.Context, dn string, a *mapping.AttrMap, plan *memberPlan, hasPlaceholder bool, ctls []ldap.Control) error {
	attr := a.LDAP
	if plan.replaced {
		vals := plan.replace
		if len(vals) == 0 && a.Placeholder != nil {
			vals = []string{*a.Placeholder}
		}
		mod := ldap.NewModifyRequest(dn, ctls)
		mod.Replace(attr, vals)
		return h.store().Modify(ctx, mod)
	}
	add, remove := plan.add, plan.remove
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	if len(add) > 0 && hasPlaceholder {
		remove = append(slices.Clone(remove), *a.Placeholder)
	}
	try := func(add, remove []string) error {
		if len(add) == 0 && len(remove) == 0 {
			return nil
		}
		mod := ldap.NewModifyRequest(dn, append([]ldap.Control{ldapstore.PermissiveModify()}, ctls...))
		if len(add) > 0 {
			mod.Add(attr, add)
		}
		if len(remove) > 0 {
			mod.Delete(attr, remove)
		}
		return h.store().Modify(ctx, mod)
	}
	keep := func(vals []string, present bool) ([]string, error) {
		var out []string
		for _, v := range vals {
			ok, err := h.store().Compare(ctx, dn, attr, v)
			if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidAttributeSyntax) {
				return nil, err
			}
			if ok == present {
				out = append(out, v)
			}
		}
		return out, nil
	}
	err := try(add, remove)
	var kerr error
	// AD answers 53 unwillingToPerform (ERROR_MEMBER_NOT_IN_GROUP) where slapd answers 16.
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) || (len(remove) > 0 && ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform)) {
		if remove, kerr = keep(remove, true); kerr != nil {
			return kerr
		}
		err = try(add, remove)
	}
	// AD answers 68 entryAlreadyExists (ERROR_MEMBER_IN_GROUP) where slapd answers 20.
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultEntryAlreadyExists) {
		if add, kerr = keep(add, false); kerr != nil {
			return kerr
		}
		err = try(add, remove)
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultObjectClassViolation) && a.Placeholder != nil && len(add) == 0 {
		err = try([]string{*a.Placeholder}, remove)
	}
	return err
}

// replace serves PUT /{endpoint}/{id} (RFC 7644 §3.5.1): attributes absent from
// the body are cleared, read-only ones ignored; membership lists are set to
// exactly the list sent.
func (h *resourceHandler) replace(w http.ResponseWriter, r *http.Request) {
	ctx, _ := withResolved(r.Context())
	id := mux.Vars(r)["id"]
	body, perr := readBody(w, r)
	if perr != nil {
		writeError(w, perr)
		return
	}
	vals, err := h.values(ctx, body)
	if err != nil {
		writeError(w, asSCIMError(err, h.what(id)))
		return
	}
	ch, err := h.newChange(body, vals)
	if err != nil {
		writeError(w, asSCIMError(err, h.what(id)))
		return
	}
	for _, a := range h.rt.Attrs {
		if a.IsMembership() {
			p := &memberPlan{}
			p.replaceWith(minus(vals[a.LDAP], placeholderOf(a)))
			ch.members[a] = p
		}
	}
	dn, err := h.update(ctx, id, ifMatch(r), func(*ldap.Entry) (*change, error) { return ch, nil })
	if err != nil {
		writeError(w, asSCIMError(err, h.what(id)))
		return
	}
	h.respondAfterWrite(w, r, dn, 200)
}

// newChange starts a change from a resource's values, with the entry's parent
// and password as the mapping computes them from res.
func (h *resourceHandler) newChange(res map[string]any, vals map[string][]string) (*change, error) {
	ch := &change{vals: vals, members: map[*mapping.AttrMap]*memberPlan{}}
	var err error
	if ch.parent, err = h.rt.ParentDN(res); err != nil {
		return nil, err
	}
	if pw, ok, err := h.rt.Password(res); err != nil {
		return nil, err
	} else if ok {
		ch.password = &pw
	}
	return ch, nil
}

func placeholderOf(a *mapping.AttrMap) []string {
	if a.Placeholder == nil {
		return nil
	}
	return []string{*a.Placeholder}
}

// respondAfterWrite reads the entry and sends it, or 204 when the client asked
// for no body with "Prefer: return=minimal" (RFC 7240 §4.2).
func (h *resourceHandler) respondAfterWrite(w http.ResponseWriter, r *http.Request, dn string, status int) {
	ctx := r.Context()
	if strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "return=minimal") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p := projection(h.rt, r)
	e, err := h.readDN(ctx, dn, h.rt.LDAPAttributes(p))
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	h.writeResource(ctx, w, r, status, e, p)
}

// sameRDN reports whether the entry's naming values already hold v
// (case-insensitively, as the naming attributes in use compare).
func sameRDN(cur []string, v string) bool {
	for _, c := range cur {
		if strings.EqualFold(c, v) {
			return true
		}
	}
	return false
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

// checkNotOwnMember refuses a change that adds the entry dn to one of its own
// membership lists (a PUT or PATCH of a group naming the group's id in
// members): 400 invalidValue naming the attribute and what (the group, e.g.
// "Group <id>"). The ids were resolved to
// DNs, so any spelling of the id that names the group is caught (compared as
// mapping.RefKey). Removing such a value (written in the directory) is
// allowed, and so are nested groups; only the group itself is refused: a
// group containing itself says nothing, and readers that expand nested groups
// would meet a cycle on every lookup.
func checkNotOwnMember(dn, what string, ch *change) error {
	self := mapping.RefKey(dn)
	for a, p := range ch.members {
		for _, v := range slices.Concat(p.add, p.replace) {
			if mapping.RefKey(v) == self {
				return errorf(400, "invalidValue", "%s: a group cannot be a member of itself (%s)", a.Def.Name, what)
			}
		}
	}
	return nil
}

// checkImmutable refuses a write that changes an immutable attribute
// (RFC 7643 §2.2: 400 mutability).
func (h *resourceHandler) checkImmutable(e *ldap.Entry, vals map[string][]string) error {
	for _, a := range h.rt.Attrs {
		if a.Mutability != "immutable" || a.IsMembership() {
			continue
		}
		cur := e.GetEqualFoldAttributeValues(a.LDAP)
		if len(cur) > 0 && !sameValues(cur, vals[a.LDAP]) {
			return errorf(400, "mutability", "%s is immutable and cannot be changed", a.Key)
		}
	}
	return nil
}
