package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Reference upkeep: a DN is a name, and names are reused. A `member` or
// `manager` value that names no entry is a grant waiting for the next holder
// of the name, so the gateway keeps reference values true itself, on every
// directory, whether or not overlays such as slapd's refint (which runs after
// the operation, asynchronously, and cannot remove the last value of a MUST
// attribute) are configured:
//
//   - after a DELETE, the deleted entry's DN is removed from every writable
//     reference attribute of the mapping (the last member of a groupOfNames
//     becomes the mapping's placeholder);
//   - after a rename or move (modrdn, also when only the letter case changes),
//     every value naming the old DN is rewritten to the new DN exactly;
//   - before a create or rename takes a DN, values naming that DN while no
//     entry has it (left by deletes outside the gateway) are removed;
//   - after a membership or manager write, each written DN is checked to still
//     name the id it was resolved from (a concurrent rename can move the entry
//     between the lookup and the write) and repaired if not.
//
// Active Directory stores linked attributes (member, manager) by the target
// object's identity and keeps them true on rename and delete itself (MS-ADTS
// §3.1.1.6), so none of this runs there.

// referrer is an entry holding values that name one DN, per attribute, in the
// form the directory stores them.
type referrer struct {
	dn     string
	rt     *mapping.ResourceType
	values map[*mapping.AttrMap][]string
}

// maxUpkeepRounds bounds the search-and-fix rounds of one upkeep; each round
// fixes what it found, and another writer (refint, a concurrent request) can
// only make the next round find less.
const maxUpkeepRounds = 4

// keepsReferences reports whether the gateway must maintain reference values
// itself (every directory but Active Directory; see above).
func (s *Snapshot) keepsReferences() bool { return !s.m.Dialect.IsAD() }

// referrers finds the entries of the mapping's resource types whose writable
// reference attributes hold dn. It is one search: under the common ancestor of
// the bases of every type with such attributes, for
// (|(&<type filter>(|(member=<dn>)…))…), with the matched values control (RFC
// 3876) so that only the matching values come back, never a whole
// 10,000-member list; entries outside every type's base are left alone.
// Equality follows the attributes' matching rule (distinguishedNameMatch:
// case-insensitive). Bases without a common ancestor get a search each.
func (s *Snapshot) referrers(ctx context.Context, dn string) ([]referrer, error) {
	type holder struct {
		rt    *mapping.ResourceType
		attrs []*mapping.AttrMap
	}
	var holders []holder
	for _, rt := range s.m.TypesBySpecificity() {
		h := holder{rt: rt}
		for _, a := range rt.Attrs {
			if a.IsReference() && a.Writable() {
				h.attrs = append(h.attrs, a)
			}
		}
		if len(h.attrs) > 0 {
			holders = append(holders, h)
		}
	}
	var out []referrer
	search := func(base string, scope int, group []holder) error {
		var filter, names, items []string
		for _, h := range group {
			var clauses []string
			for _, a := range h.attrs {
				clause := "(" + a.LDAP + "=" + ldap.EscapeFilter(dn) + ")"
				clauses = append(clauses, clause)
				if !slices.Contains(items, clause) {
					items = append(items, clause)
					names = append(names, a.LDAP)
				}
			}
			filter = append(filter, "(&"+h.rt.Filter+"(|"+strings.Join(clauses, "")+"))")
		}
		f := filter[0]
		if len(filter) > 1 {
			f = "(|" + strings.Join(filter, "") + ")"
		}
		res, err := s.d.store.Search(ctx, ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, f, names, s.d.matchedValues(items)))
		if isCode(err, ldap.LDAPResultNoSuchObject) {
			return nil // the base is gone: nothing there refers to anything
		}
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			key := mapping.RefKey(e.DN)
			for _, h := range group {
				if !h.rt.Holds(key) {
					continue
				}
				r := referrer{dn: e.DN, rt: h.rt, values: map[*mapping.AttrMap][]string{}}
				for _, a := range h.attrs {
					// Every value returned matched (a.LDAP=dn) by the directory's own
					// equality rule (RFC 3876 §2), which also equates spellings that
					// differ in more than case (insignificant spaces, Unicode
					// compatibility forms: RFC 4518): trust it, don't compare again.
					if vals := s.d.valuesNaming(e.GetEqualFoldAttributeValues(a.LDAP), dn); len(vals) > 0 {
						r.values[a] = vals
					}
				}
				if len(r.values) > 0 {
					out = append(out, r)
				}
				break // the most specific type that holds the entry owns it
			}
		}
		return nil
	}
	if len(holders) == 0 {
		return nil, nil
	}
	var bases []string
	for _, h := range holders {
		bases = append(bases, h.rt.Base)
	}
	if len(holders) == 1 {
		err := search(holders[0].rt.Base, holders[0].rt.Scope, holders)
		return out, err
	}
	if anc, ok := commonAncestor(bases); ok {
		err := search(anc, ldap.ScopeWholeSubtree, holders)
		return out, err
	}
	for _, h := range holders {
		if err := search(h.rt.Base, h.rt.Scope, []holder{h}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// commonAncestor returns the deepest DN that is or contains every one of dns
// (RFC 4514 forms, compared case-insensitively); ok is false when they share
// no RDN (different naming contexts).
func commonAncestor(dns []string) (string, bool) {
	var common []*ldap.RelativeDN
	for i, s := range dns {
		d, err := ldap.ParseDN(s)
		if err != nil {
			return "", false
		}
		if i == 0 {
			common = d.RDNs
			continue
		}
		n := 0
		for n < len(common) && n < len(d.RDNs) && common[len(common)-1-n].EqualFold(d.RDNs[len(d.RDNs)-1-n]) {
			n++
		}
		common = common[len(common)-n:]
	}
	if len(common) == 0 {
		return "", false
	}
	return (&ldap.DN{RDNs: common}).String(), true
}

// dropDangling removes every reference value naming dn, provided no entry is
// named dn: after a DELETE, and before a create or rename takes the name.
// When an entry holds the name (a create that is about to fail with 68, or a
// delete raced by a re-create), nothing is touched.
func (s *Snapshot) dropDangling(ctx context.Context, dn string) error {
	if !s.keepsReferences() {
		return nil
	}
	for round := 0; round < maxUpkeepRounds; round++ {
		refs, err := s.referrers(ctx, dn)
		if err != nil || len(refs) == 0 {
			return err
		}
		if round == 0 { // only when something refers to dn: the usual case costs no extra search
			if held, err := s.exists(ctx, dn); err != nil || held {
				return err
			}
		}
		if err := s.rewrite(ctx, refs, ""); err != nil || planning(ctx) {
			return err // a plan sees the same referrers again: one round (plan.go)
		}
	}
	return nil
}

// moveReferences rewrites every reference value naming oldDN to newDN, after a
// rename or move. A case-only rename is a rename too: values in the old
// letter case are rewritten (distinguishedNameMatch finds them, and a value
// already written exactly as newDN is left alone).
func (s *Snapshot) moveReferences(ctx context.Context, oldDN, newDN string) error {
	if !s.keepsReferences() || oldDN == newDN {
		return nil
	}
	for round := 0; round < maxUpkeepRounds; round++ {
		refs, err := s.referrers(ctx, oldDN)
		if err != nil {
			return err
		}
		var stale []referrer
		for _, r := range refs {
			for a, vals := range r.values {
				var old []string
				for _, v := range vals {
					if v != newDN {
						old = append(old, v)
					}
				}
				if len(old) == 0 {
					delete(r.values, a)
				} else {
					r.values[a] = old
				}
			}
			if len(r.values) > 0 {
				stale = append(stale, r)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		if err := s.rewrite(ctx, stale, newDN); err != nil || planning(ctx) {
			return err // a plan sees the same referrers again: one round (plan.go)
		}
	}
	return nil
}

// rewrite replaces, in each referrer, the values found by newDN ("" removes
// them). Values are deleted before newDN is added in the same modify, so a
// case-only rename replaces the value instead of keeping the old spelling
// (the add of an equal value would be a no-op under permissive modify). A
// list that would become empty gets the mapping's placeholder (65
// objectClassViolation: groupOfNames MUST have a member). A value another
// writer removed or added meanwhile (16, 20) only means the next round of the
// caller finds less; it is not an error.
func (s *Snapshot) rewrite(ctx context.Context, refs []referrer, newDN string) error {
	for _, r := range refs {
		mod := ldap.NewModifyRequest(r.dn, []ldap.Control{ldapstore.PermissiveModify()})
		var placeholders []*mapping.AttrMap
		for a, vals := range r.values {
			mod.Delete(a.LDAP, vals)
			if newDN != "" {
				mod.Add(a.LDAP, []string{newDN})
			} else if a.Placeholder != nil {
				placeholders = append(placeholders, a)
			}
		}
		err := s.d.store.Modify(ctx, mod)
		if isCode(err, ldap.LDAPResultObjectClassViolation) && len(placeholders) > 0 {
			for _, a := range placeholders {
				mod.Add(a.LDAP, []string{*a.Placeholder})
			}
			err = s.d.store.Modify(ctx, mod)
		}
		if isCode(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultNoSuchObject) {
			continue // someone else got there first; the next round looks again
		}
		if err != nil {
			return err
		}
		s.reported(ctx, r, newDN)
	}
	return nil
}

// reported tells the Directory's Events of a reference rewrite: another entry
// (a group, a report) changed because of this request: r.dn is the entry
// changed, its attributes the ones changed, the DN its values named before and
// newDN the one they name now ("" when removed).
func (s *Snapshot) reported(ctx context.Context, r referrer, newDN string) {
	if s.d.events == nil {
		return
	}
	var attrs []string
	old := ""
	for a, vals := range r.values {
		attrs = append(attrs, a.LDAP)
		old = vals[0]
	}
	slices.Sort(attrs)
	c := ReferenceChange{DN: r.dn, Attributes: attrs, OldValue: old, NewValue: newDN}
	if r.rt != nil {
		c.ResourceType = r.rt.Name
	}
	s.d.events.ReferenceChanged(ctx, c)
}

// resolvedRefs records, during one write, which DN each referenced id was
// resolved to (idLookup records into the write's recorder), so that the write can be verified afterwards (verifyWritten).
type resolvedRefs struct {
	mu     sync.Mutex
	byType map[string][]string // ref types (comma-joined) → ids, as looked up
	dns    map[string]string   // id → the DN it was resolved to
}

// newResolved returns an empty recorder.
func newResolved() *resolvedRefs {
	return &resolvedRefs{byType: map[string][]string{}, dns: map[string]string{}}
}

func (rr *resolvedRefs) record(refTypes []string, found map[string]string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	key := strings.Join(refTypes, ",")
	for id, dn := range found {
		if _, seen := rr.dns[id]; !seen {
			rr.byType[key] = append(rr.byType[key], id)
		}
		rr.dns[id] = dn
	}
}

// verifyWritten checks, after a write stored reference values in the entry
// holder (written: the values, by mapping.RefKey, and the attribute holding
// each), that every id resolved for them (rr) still has the DN written, and
// rewrites the values whose entry moved meanwhile (renamed: the new DN) or
// vanished (deleted: removed). Only holder's values are touched: the name may
// already belong to someone else. It costs one search per referenced type and
// batch of ids.
func (s *Snapshot) verifyWritten(ctx context.Context, rr *resolvedRefs, holder string, written map[string]*mapping.AttrMap) error {
	if rr == nil || len(written) == 0 || !s.keepsReferences() {
		return nil
	}
	lookup := s.idLookup(ctx, nil) // not recorded again
	for key, ids := range rr.byType {
		var check []string
		for _, id := range ids {
			if written[mapping.RefKey(rr.dns[id])] != nil {
				check = append(check, id)
			}
		}
		if len(check) == 0 {
			continue
		}
		now, err := lookup(strings.Split(key, ","), check)
		if err != nil {
			return err
		}
		for _, id := range check {
			was := rr.dns[id]
			is, ok := now[id]
			if ok && is == was {
				continue
			}
			fix := referrer{dn: holder, values: map[*mapping.AttrMap][]string{written[mapping.RefKey(was)]: {was}}}
			if err := s.rewrite(ctx, []referrer{fix}, is); err != nil { // is is "" when the entry is gone
				return err
			}
		}
	}
	return nil
}

// upkeepFailed logs a reference upkeep that could not finish after the
// directory accepted the write itself; the write's answer stands, and the
// next create or rename onto the name removes what is left (dropDangling).
func (s *Snapshot) upkeepFailed(ctx context.Context, what, dn string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	s.d.log.Error().Ctx(ctx).Err(err).Str("dn", dn).Msg("reference upkeep after " + what + " did not finish; values naming this DN may remain until the name is taken again")
}
