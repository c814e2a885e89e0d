package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"

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
// concurrent writer is never silently overwritten: without If-Match (want empty)
// the update is recomputed on the fresh entry, up to 3 times; with If-Match a
// version mismatch is a 412. Membership changes are value adds and deletes,
// which commute, so concurrent membership updates never conflict.
func (h *resourceHandler) update(ctx context.Context, id string, want []string, mutate mutator) (string, error) {
	for attempt := 0; ; attempt++ {
		dn, err := h.updateOnce(ctx, id, want, mutate)
		// 122: someone wrote the entry since it was read; 32: someone renamed it
		// (the DN read is gone, the id stays). Both: read again and redo.
		raced := ldap.IsErrorAnyOf(err, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchObject)
		if err == nil || len(want) > 0 || attempt == 4 || !raced {
			return dn, err
		}
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
	assert := h.s.guard(h.rt, version) // none on AD: there casChange guards by values
	mod := ldap.NewModifyRequest(e.DN, assert)
	oldRDN := e.GetEqualFoldAttributeValues(h.rt.RDN)
	newRDN := ""
	if v := ch.vals[h.rt.RDN]; len(v) == 1 && !sameRDN(oldRDN, v[0]) {
		newRDN = v[0]
	}
	for _, attr := range sortedKeys(ch.vals) {
		if h.isMembershipAttr(attr) || (newRDN != "" && strings.EqualFold(attr, h.rt.RDN)) {
			continue // membership below; the naming attribute changes with modrdn
		}
		cur, next := e.GetEqualFoldAttributeValues(attr), ch.vals[attr]
		if !sameValues(cur, next) {
			h.s.casChange(mod, attr, cur, next)
		}
	}
	dn := e.DN
	if ch.password != nil {
		// First, so a password the directory refuses (quality, length) changes nothing.
		if err := h.setPassword(ctx, e.DN, *ch.password); err != nil {
			return "", err
		}
	}
	guarded := false // whether a guarded write already went through
	oldParent := parentDN(e.DN)
	newParent := ""
	if ch.parent != "" && mapping.RefKey(ch.parent) != mapping.RefKey(oldParent) {
		newParent = ch.parent // the parent rule moves the entry (e.g. a new department)
	}
	if newRDN != "" || newParent != "" {
		rdn := firstRDN(e.DN)
		if newRDN != "" {
			rdn = h.rt.RDN + "=" + ldap.EscapeDN(newRDN)
		}
		if err := h.store().ModifyDN(ctx, ldap.NewModifyDNWithControlsRequest(e.DN, rdn, true, newParent, assert)); err != nil {
			return "", err
		}
		parent := oldParent
		if newParent != "" {
			parent = newParent
		}
		dn, guarded = rdn+","+parent, true
		mod.DN, mod.Controls = dn, nil
	}
	if len(mod.Changes) > 0 {
		if err := h.store().Modify(ctx, mod); err != nil {
			err = h.s.casConflict(err)
			if guarded { // undo the rename or move, so a retry starts from the state the client knew
				undoParent := ""
				if newParent != "" {
					undoParent = oldParent
				}
				_ = h.store().ModifyDN(ctx, ldap.NewModifyDNRequest(dn, firstRDN(e.DN), true, undoParent))
			}
			return "", err
		}
		guarded = true
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
	}
	h.auditUpdate(ctx, id, e.DN, dn, mod, newRDN != "" || newParent != "", ch.members)
	return dn, nil
}

func (h *resourceHandler) isMembershipAttr(ldapAttr string) bool {
	for _, a := range h.rt.Attrs {
		if a.IsMembership() && strings.EqualFold(a.LDAP, ldapAttr) {
			return true
		}
	}
	return false
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
	ctx := r.Context()
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
