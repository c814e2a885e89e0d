package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// MemberChange is what a request does to one membership list (a group's
// members), in SCIM ids, step by step in the request's order: values added,
// values removed, or the whole list replaced. The ids are looked up once, in
// one batch, when the change is written (memberDNs).
type MemberChange struct {
	steps []memberStep
}

type memberStep struct {
	kind stepKind
	ids  []string
}

type stepKind int

const (
	addMembers stepKind = iota
	removeMembers
	replaceMembers
)

// Add adds the members with these ids (an id that names no resource of the
// attribute's referenced types is a 400 invalidValue).
func (c *MemberChange) Add(ids ...string) { c.steps = append(c.steps, memberStep{addMembers, ids}) }

// Remove removes the members with these ids (an unknown id is no member anyway).
func (c *MemberChange) Remove(ids ...string) {
	c.steps = append(c.steps, memberStep{removeMembers, ids})
}

// Replace makes the list exactly these ids (none: the list is emptied).
func (c *MemberChange) Replace(ids ...string) {
	c.steps = append(c.steps, memberStep{replaceMembers, ids})
}

// memberPlan is what one request does to a membership list (a group's members),
// as DNs: either a whole new list, or values to add and to remove.
type memberPlan struct {
	replaced    bool
	replace     []string
	add, remove []string
}

func (p *memberPlan) addValues(dns []string) { p.change(dns, true) }

func (p *memberPlan) removeValues(dns []string) { p.change(dns, false) }

// change adds (add) or removes dns: to or from the new list when the list is
// replaced, else as values to add (and no longer remove) or to remove (and no
// longer add).
func (p *memberPlan) change(dns []string, add bool) {
	switch {
	case p.replaced && add:
		p.replace = union(p.replace, dns)
	case p.replaced:
		p.replace = minus(p.replace, dns)
	case add:
		p.add, p.remove = union(p.add, dns), minus(p.remove, dns)
	default:
		p.remove, p.add = union(p.remove, dns), minus(p.add, dns)
	}
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

// memberDNs turns a MemberChange into a memberPlan with one batched lookup
// (recorded in rr). Unknown ids to add are a 400 naming them; unknown ids to
// remove are not members anyway.
func (r *Resources) memberDNs(ctx context.Context, rr *resolvedRefs, a *mapping.AttrMap, c *MemberChange) (*memberPlan, error) {
	var all []string
	for _, s := range c.steps {
		all = append(all, s.ids...)
	}
	dns := map[string]string{}
	if len(all) > 0 {
		var err error
		if dns, err = r.s.idLookup(ctx, rr)(a.RefTypes, all); err != nil {
			return nil, err
		}
	}
	plan := &memberPlan{}
	for _, s := range c.steps {
		var list []string
		for _, id := range s.ids {
			dn, ok := dns[id]
			if !ok && s.kind != removeMembers {
				return nil, invalid(scimerr.InvalidValue, "%s: no %s with id %q%s", a.Def.Name, strings.Join(a.RefTypes, " or "), id, plannedNote(id))
			}
			if ok {
				list = append(list, dn)
			}
		}
		switch s.kind {
		case addMembers:
			plan.addValues(list)
		case removeMembers:
			plan.removeValues(list)
		default:
			plan.replaceWith(list)
		}
	}
	return plan, nil
}

// checkNotOwnMember refuses a change that adds the entry dn to one of its own
// membership lists (a PUT or PATCH of a group naming the group's id in
// members): 400 invalidValue naming the attribute and what (the group, e.g.
// "Group <id>"). The ids were resolved to DNs, so any spelling of the id that
// names the group is caught (compared as mapping.RefKey). Removing such a
// value (written in the directory) is allowed, and so are nested groups; only
// the group itself is refused: a group containing itself says nothing, and
// readers that expand nested groups would meet a cycle on every lookup.
func checkNotOwnMember(dn, what string, members map[*mapping.AttrMap]*memberPlan) error {
	self := mapping.RefKey(dn)
	for a, p := range members {
		for _, v := range slices.Concat(p.add, p.replace) {
			if mapping.RefKey(v) == self {
				return invalid(scimerr.InvalidValue, "%s: a group cannot be a member of itself (%s)", a.Def.Name, what)
			}
		}
	}
	return nil
}

func placeholderOf(a *mapping.AttrMap) []string {
	if a.Placeholder == nil {
		return nil
	}
	return []string{*a.Placeholder}
}

// applyMembers writes a membership plan with one modify in the usual case:
// values are added with the permissive modify control (re-adding is a no-op)
// and deleted by value; only when the directory objects (16, or 53 on AD: a value to delete
// is absent; 20, or 68 on AD: a value to add exists and permissive modify is not honoured;
// 65: the list would become empty) is the modify redone, after per-value
// compares, or with the placeholder. The cost never depends on the list's size.
func (r *Resources) applyMembers(ctx context.Context, dn string, a *mapping.AttrMap, plan *memberPlan, hasPlaceholder bool, ctls []ldap.Control) error {
	attr := a.LDAP
	if plan.replaced {
		vals := plan.replace
		if len(vals) == 0 && a.Placeholder != nil {
			vals = []string{*a.Placeholder}
		}
		mod := ldap.NewModifyRequest(dn, ctls)
		mod.Replace(attr, vals)
		return r.store.Modify(ctx, mod)
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
		return r.store.Modify(ctx, mod)
	}
	keep := func(vals []string, present bool) ([]string, error) {
		var out []string
		for _, v := range vals {
			ok, err := r.store.Compare(ctx, dn, attr, v)
			// 16 noSuchAttribute: the entry has no value at all (389 DS answers
			// so for an empty group where others answer compareFalse).
			if err != nil && !isCode(err, ldap.LDAPResultInvalidAttributeSyntax, ldap.LDAPResultNoSuchAttribute) {
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
	if isCode(err, ldap.LDAPResultNoSuchAttribute) || (len(remove) > 0 && isCode(err, ldap.LDAPResultUnwillingToPerform)) {
		if remove, kerr = keep(remove, true); kerr != nil {
			return kerr
		}
		err = try(add, remove)
	}
	// AD answers 68 entryAlreadyExists (ERROR_MEMBER_IN_GROUP) where slapd answers 20.
	if isCode(err, ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultEntryAlreadyExists) {
		if add, kerr = keep(add, false); kerr != nil {
			return kerr
		}
		err = try(add, remove)
	}
	if isCode(err, ldap.LDAPResultObjectClassViolation) && a.Placeholder != nil && len(add) == 0 {
		err = try([]string{*a.Placeholder}, remove)
	}
	return err
}
