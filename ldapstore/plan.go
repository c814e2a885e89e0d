package ldapstore

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldif"
)

// Plan mode: a request whose writes are computed exactly as they would be and
// then not sent. A *Plan carried in the context (WithPlan) makes every write
// method of the Store (Add, Modify, ModifyDN, Delete, SetPassword,
// SetUnicodePwd) record the request instead of sending it and answer success,
// so no caller has a second write path and no write can slip past the plan.
//
// Because the callers read back what they wrote (render a created entry, the
// lock after a password change, whether a deleted name is free), a base-scope
// Search of a DN the plan wrote is answered from the planned state: the entry
// as read from the directory (at the DN it had before the plan renamed it)
// with the planned changes applied, an added entry's own attributes, or 32
// noSuchObject for a DN the plan deleted or renamed away; a matched values
// control (RFC 3876) keeps of those the values it matches. Subtree searches
// see the directory as it is. Server-assigned values (entryCSN,
// modifyTimestamp…) stay those of the unchanged entry; an added entry has
// none but those Plan.Assigned gives it.
//
// The plan answers as the directory would where that costs one read: an add
// whose DN is taken is 68 entryAlreadyExists, an add or move under a parent
// that doesn't exist is 32 noSuchObject (RFC 4511 §4.7, §4.9), and a write
// whose assertion control (RFC 4528: the version an If-Match names) the entry
// doesn't satisfy is 122 assertionFailed; with Plan.Schema, a modify that
// removes a required attribute is 65 objectClassViolation. Other refusals a
// directory makes (other schema rules, access control, password quality) are
// not known to a plan.

// ErrPlanUnrecorded is the error of a write sent with a Plan in its context
// that no write method recorded in the plan: it is refused, not sent (a
// defect of the caller, answered as an internal error; see Store.doOp).
var ErrPlanUnrecorded = errors.New("plan mode: refused to send a write the plan did not record")

// PasswordMarker stands for a password's value in a plan: the value itself is
// never recorded.
const PasswordMarker = "[password]"

// Plan records the writes of one request (the operations of a Bulk request:
// see Fork). It is safe for concurrent use.
type Plan struct {
	// Assigned, when set, gives the attributes the directory would assign to
	// an entry added at dn (its id: entryUUID, objectGUID), so that the entry
	// read back renders with an id. It must not be changed once the plan is in use.
	Assigned func(dn string) []*ldap.EntryAttribute
	// Schema, when set, lets the plan refuse, as the directory does with 65
	// objectClassViolation (RFC 4512 §2.4.1), a modify that removes an
	// attribute the entry's object classes require (the last member of a
	// groupOfNames), so the caller's answer to that (a placeholder member) is
	// planned too. Nil: not checked. Adds are not checked: a directory fills
	// in required attributes of its own (AD: objectCategory, instanceType…).
	Schema *Schema

	mu      sync.Mutex
	records []planRecord // the changes, in the order sent, not yet drained

	once   sync.Once
	shared *planState // what the plan did to entries, shared with its forks (Fork)
}

// planState is what a plan (and its forks) did to the directory's entries.
type planState struct {
	mu     sync.Mutex
	states map[string]*plannedEntry // by dnKey of the DN the entry has in the plan
	moved  map[string]string        // dnKey of a directory entry's DN → the DN the plan renamed it to
}

// planned returns the plan's state of the entries.
func (p *Plan) planned() *planState {
	p.once.Do(func() {
		if p.shared == nil {
			p.shared = &planState{states: map[string]*plannedEntry{}, moved: map[string]string{}}
		}
	})
	return p.shared
}

// Fork returns a plan with p's Assigned and Schema that records its own
// changes (Drain returns only those) and shares p's planned state: what either
// wrote, the other reads. The operations of a Bulk request (RFC 7644 §3.7)
// each fork the request's plan, so each has its own LDIF and a later one sees
// what an earlier one planned, as it would see what an earlier one wrote.
func (p *Plan) Fork() *Plan {
	return &Plan{Assigned: p.Assigned, Schema: p.Schema, shared: p.planned()}
}

// planRecord is one change: an LDIF change record, or a modrdn (which
// go-ldap/ldif cannot marshal), with a comment line to precede it.
type planRecord struct {
	entry   *ldif.Entry
	rename  *ldap.ModifyDNRequest
	comment string
}

// plannedEntry is what the plan did to one entry.
type plannedEntry struct {
	origin  string                 // the DN it has in the directory ("" when the plan added it)
	added   []*ldap.EntryAttribute // an added entry's attributes
	changes []ldap.Change          // applied in order on the entry as read (or as added)
	gone    bool                   // deleted, or renamed away from this DN
	dn      string                 // the DN it has in the plan
}

type planKey struct{}

// WithPlan returns ctx in which every write to the Store is recorded in p
// instead of sent (nil p: writes are sent).
func WithPlan(ctx context.Context, p *Plan) context.Context {
	return context.WithValue(ctx, planKey{}, p)
}

// PlanOf returns the plan ctx carries, or nil when writes are sent.
func PlanOf(ctx context.Context) *Plan {
	p, _ := ctx.Value(planKey{}).(*Plan)
	return p
}

// dnKey is the key of a DN in a plan: its RFC 4514 form in lower case, so that
// spellings of one DN meet (attribute types and values compare
// case-insensitively, as distinguishedNameMatch does for the usual
// directory-string values).
func dnKey(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	return strings.ToLower(d.String())
}

// state returns the planned state of the entry now named dn, creating one
// that starts from the directory's entry of that name (nil with create false
// and nothing planned).
func (p *planState) state(dn string, create bool) *plannedEntry {
	st := p.states[dnKey(dn)]
	if st == nil && create {
		st = &plannedEntry{origin: dn, dn: dn}
		p.states[dnKey(dn)] = st
	}
	return st
}

func (p *Plan) record(r planRecord) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = append(p.records, r)
}

// planAdd records an add after checking what the directory would refuse at once:
// the DN taken (68) or its parent missing (32).
func (s *Store) planAdd(ctx context.Context, p *Plan, req *ldap.AddRequest) error {
	if err := s.planCheckTarget(ctx, req.DN, parentOf(req.DN)); err != nil {
		return err
	}
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	st := &plannedEntry{dn: req.DN}
	for _, a := range req.Attributes {
		st.added = append(st.added, ldap.NewEntryAttribute(a.Type, a.Vals))
	}
	if p.Assigned != nil {
		st.added = append(st.added, p.Assigned(req.DN)...)
	}
	ps.states[dnKey(req.DN)] = st
	p.record(planRecord{entry: &ldif.Entry{Add: req}})
	return nil
}

// planCheckTarget answers as the directory would for a new entry at dn under
// parent: 68 when the name is taken, 32 when the parent does not exist.
func (s *Store) planCheckTarget(ctx context.Context, dn, parent string) error {
	if found, err := s.planExists(ctx, dn); err != nil {
		return err
	} else if found {
		return ldap.NewError(ldap.LDAPResultEntryAlreadyExists, errPlanned("the entry already exists"))
	}
	if parent == "" {
		return nil
	}
	if found, err := s.planExists(ctx, parent); err != nil {
		return err
	} else if !found {
		return ldap.NewError(ldap.LDAPResultNoSuchObject, errPlanned("the parent entry does not exist"))
	}
	return nil
}

type errPlanned string

func (e errPlanned) Error() string { return string(e) + " (plan mode)" }

// planExists reports whether dn names an entry, the plan's changes included.
func (s *Store) planExists(ctx context.Context, dn string) (bool, error) {
	_, err := s.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, err
}

// planAssert answers 122 assertionFailed, as the directory would, when a
// write to dn carries an assertion control (RFC 4528) that the entry doesn't
// satisfy: a base search of the entry with the assertion as its filter, at
// the DN the entry has in the directory (the plan changes no version, so the
// entry as read is what the assertion is about). An entry the plan added has
// nothing to assert against: it passes.
func (s *Store) planAssert(ctx context.Context, p *Plan, dn string, controls []ldap.Control) error {
	for _, c := range controls {
		a, ok := c.(*AssertionControl)
		if !ok {
			continue
		}
		ps := p.planned()
		ps.mu.Lock()
		origin := dn
		if st := ps.state(dn, false); st != nil {
			origin = st.origin
		}
		ps.mu.Unlock()
		if origin == "" {
			continue
		}
		res, err := s.Search(WithPlan(ctx, nil), ldap.NewSearchRequest(origin, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, a.Filter, []string{"1.1"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return ldap.NewError(ldap.LDAPResultAssertionFailed, errPlanned("the assertion control's filter does not match the entry"))
		}
	}
	return nil
}

// planGone is 32 noSuchObject, as the directory answers a write to a DN that
// names no entry (RFC 4511 §4.6, §4.8, §4.9), when the plan deleted the entry
// at dn or renamed it away.
func (p *Plan) planGone(dn string) error {
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if st := ps.state(dn, false); st != nil && st.gone {
		return ldap.NewError(ldap.LDAPResultNoSuchObject, errPlanned("no such object"))
	}
	return nil
}

// Locate says where the entry that the directory holds at dn is in the plan:
// at now (dn itself, or the DN a planned modrdn gave it), written when the
// plan changed or renamed it (its attributes as read from the directory are
// then not those the plan left: read it again at now, as a base-scope Search
// answers from the planned state), and exists false when the plan deleted it
// (or added another entry in its place). A lookup by id finds entries in the
// directory as it is; Locate maps what it found into the plan, so that a
// later operation of a Bulk request finds what an earlier one planned.
func (p *Plan) Locate(dn string) (now string, written, exists bool) {
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	key := dnKey(dn)
	now = dn
	if to, ok := ps.moved[key]; ok {
		now = to
	}
	st := ps.states[dnKey(now)]
	if st == nil {
		return dn, false, true
	}
	if st.gone || st.origin == "" || dnKey(st.origin) != key {
		return "", true, false
	}
	return st.dn, true, true
}

// planModify records a modify whose assertion, if any, holds and which
// leaves the entry every attribute its object classes require (with Schema).
func (s *Store) planModify(ctx context.Context, p *Plan, req *ldap.ModifyRequest) error {
	if err := p.planGone(req.DN); err != nil {
		return err
	}
	if err := s.planAssert(ctx, p, req.DN, req.Controls); err != nil {
		return err
	}
	if p.Schema != nil {
		attrs := []string{"objectClass"}
		for _, c := range req.Changes {
			attrs = append(attrs, c.Modification.Type)
		}
		res, err := s.Search(ctx, ldap.NewSearchRequest(req.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 1 {
			e := res.Entries[0]
			for _, c := range req.Changes {
				applyChange(e, c)
			}
			if err := p.Schema.planMissingMust(e, req.Changes); err != nil {
				return err
			}
		}
	}
	p.modify(req, "")
	return nil
}

// planMissingMust is 65 objectClassViolation when e lacks an attribute one of
// its object classes requires among those changes touch (the entry's others
// are the directory's business).
func (sc *Schema) planMissingMust(e *ldap.Entry, changes []ldap.Change) error {
	for _, class := range e.GetEqualFoldAttributeValues("objectClass") {
		for _, must := range sc.Must(class) {
			if strings.EqualFold(must, "objectClass") || len(e.GetEqualFoldAttributeValues(must)) > 0 {
				continue
			}
			touched := false
			for _, c := range changes {
				touched = touched || strings.EqualFold(c.Modification.Type, must)
			}
			if touched {
				return ldap.NewError(ldap.LDAPResultObjectClassViolation, errPlanned("object class "+class+" requires attribute "+must))
			}
		}
	}
	return nil
}

// planDelete records a delete of an entry the plan has not deleted already
// (32 noSuchObject, as the directory answers the second of two deletes) whose
// assertion, if any, holds.
func (s *Store) planDelete(ctx context.Context, p *Plan, req *ldap.DelRequest) error {
	if err := p.planGone(req.DN); err != nil {
		return err
	}
	if err := s.planAssert(ctx, p, req.DN, req.Controls); err != nil {
		return err
	}
	p.delete(req)
	return nil
}

// modify records a modify; comment, when not empty, precedes it in the LDIF.
func (p *Plan) modify(req *ldap.ModifyRequest, comment string) {
	kept := *req // the caller may reuse its request
	kept.Changes = append([]ldap.Change(nil), req.Changes...)
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	st := ps.state(req.DN, true)
	st.changes = append(st.changes, kept.Changes...)
	p.record(planRecord{entry: &ldif.Entry{Modify: &kept}, comment: comment})
}

func (p *Plan) delete(req *ldap.DelRequest) {
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.state(req.DN, true).gone = true
	p.record(planRecord{entry: &ldif.Entry{Del: req}})
}

// planModifyDN records a modrdn: the entry's state moves to its new DN, its
// RDN values change as RFC 4511 §4.9 says, and the old DN names nothing.
func (s *Store) planModifyDN(ctx context.Context, p *Plan, req *ldap.ModifyDNRequest) error {
	if err := p.planGone(req.DN); err != nil {
		return err
	}
	if err := s.planAssert(ctx, p, req.DN, req.Controls); err != nil {
		return err
	}
	newDN := renamedDN(req)
	if dnKey(newDN) != dnKey(req.DN) { // a case-only rename keeps its own name
		if err := s.planCheckTarget(ctx, newDN, req.NewSuperior); err != nil { // "": the parent stays
			return err
		}
	}
	ps := p.planned()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	st := ps.state(req.DN, true)
	moved := *st
	moved.dn = newDN
	if old, err := ldap.ParseDN(req.DN); err == nil && len(old.RDNs) > 0 && req.DeleteOldRDN {
		for _, a := range old.RDNs[0].Attributes {
			moved.changes = append(moved.changes, ldap.Change{Operation: ldap.DeleteAttribute, Modification: ldap.PartialAttribute{Type: a.Type, Vals: []string{a.Value}}})
		}
	}
	if rdn, err := ldap.ParseDN(req.NewRDN); err == nil && len(rdn.RDNs) > 0 {
		for _, a := range rdn.RDNs[0].Attributes {
			moved.changes = append(moved.changes, ldap.Change{Operation: ldap.AddAttribute, Modification: ldap.PartialAttribute{Type: a.Type, Vals: []string{a.Value}}})
		}
	}
	*st = plannedEntry{gone: true, dn: req.DN}
	ps.states[dnKey(newDN)] = &moved
	if moved.origin != "" {
		ps.moved[dnKey(moved.origin)] = newDN
	}
	p.record(planRecord{rename: req})
	return nil
}

// search answers a base-scope search of a DN the plan wrote; ok is false when
// the plan has nothing for it (the directory answers).
func (s *Store) planSearch(ctx context.Context, p *Plan, req *ldap.SearchRequest) (res *ldap.SearchResult, ok bool, err error) {
	ps := p.planned()
	ps.mu.Lock()
	st := ps.state(req.BaseDN, false)
	var copied plannedEntry
	if st != nil {
		copied = *st
		copied.changes = append([]ldap.Change(nil), st.changes...)
	}
	ps.mu.Unlock()
	if st == nil {
		return nil, false, nil
	}
	if copied.gone {
		return nil, true, ldap.NewError(ldap.LDAPResultNoSuchObject, errPlanned("no such object"))
	}
	e := &ldap.Entry{DN: copied.dn}
	if copied.origin != "" {
		read := *req
		read.BaseDN = copied.origin
		real := WithPlan(ctx, nil)
		r, err := s.Search(real, &read)
		if err != nil {
			return r, true, err
		}
		if len(r.Entries) == 0 {
			return r, true, nil // the filter doesn't match the entry as it is
		}
		if err := s.CompleteRanges(real, r.Entries[:1]); err != nil {
			return nil, true, err
		}
		e.Attributes = r.Entries[0].Attributes
	} else {
		for _, a := range copied.added {
			e.Attributes = append(e.Attributes, ldap.NewEntryAttribute(a.Name, append([]string(nil), a.Values...)))
			if len(a.ByteValues) > 0 { // binary values (objectGUID) as given
				e.Attributes[len(e.Attributes)-1].ByteValues = a.ByteValues
			}
		}
	}
	for _, c := range copied.changes {
		applyChange(e, c)
	}
	e.Attributes = requested(e.Attributes, req.Attributes)
	if mv, ok := ldap.FindControl(req.Controls, OIDMatchedValues).(*MatchedValuesControl); ok {
		e.Attributes = matchedValues(e.Attributes, mv.Items)
	}
	return &ldap.SearchResult{Entries: []*ldap.Entry{e}}, true, nil
}

// matchedValues keeps of attrs the values that one of items matches, as the
// matched values control (RFC 3876 §2) has the directory return them: an
// attribute no item names is left out (slapd's way), a presence item keeps
// every value of its attribute, an equality item the values equal to its own
// (compared case-insensitively, as applyChange does). The entry as read from
// the directory was filtered already; this filters the values the plan added.
func matchedValues(attrs []*ldap.EntryAttribute, items []string) []*ldap.EntryAttribute {
	all := map[string]bool{}       // attribute (folded) → a presence item names it
	equal := map[string][]string{} // attribute (folded) → the values equality items name
	for _, item := range items {
		f, err := ldap.CompileFilter(item)
		if err != nil {
			continue // not encoded by MatchedValuesControl.Encode either
		}
		switch f.Tag {
		case ldap.FilterPresent:
			all[strings.ToLower(f.Data.String())] = true
		case ldap.FilterEqualityMatch:
			if len(f.Children) == 2 {
				name := strings.ToLower(f.Children[0].Data.String())
				equal[name] = append(equal[name], f.Children[1].Data.String())
			}
		}
	}
	var out []*ldap.EntryAttribute
	for _, a := range attrs {
		name, _, _ := strings.Cut(strings.ToLower(a.Name), ";")
		if all[name] {
			out = append(out, a)
			continue
		}
		var kept []string
		for _, v := range a.Values {
			if containsFold(equal[name], v) {
				kept = append(kept, v)
			}
		}
		if len(kept) > 0 {
			out = append(out, ldap.NewEntryAttribute(a.Name, kept))
		}
	}
	return out
}

// applyChange applies one modify change to e (RFC 4511 §4.6): add merges
// values, delete removes the values named (all when none), replace sets them
// (none: the attribute goes). Values compare case-insensitively, as the
// directory-string and DN matching rules of the attributes a gateway writes do.
func applyChange(e *ldap.Entry, c ldap.Change) {
	name, vals := c.Modification.Type, c.Modification.Vals
	idx := -1
	for i, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			idx = i
			break
		}
	}
	var cur []string
	if idx >= 0 {
		cur = e.Attributes[idx].Values
	}
	var next []string
	switch c.Operation {
	case ldap.AddAttribute:
		next = append([]string(nil), cur...)
		seen := foldSet(cur)
		for _, v := range vals {
			if k := foldKey(v); !seen[k] {
				seen[k] = true
				next = append(next, v)
			}
		}
	case ldap.DeleteAttribute:
		if len(vals) > 0 {
			drop := foldSet(vals)
			for _, v := range cur {
				if !drop[foldKey(v)] {
					next = append(next, v)
				}
			}
		}
	default: // replace
		next = append([]string(nil), vals...)
	}
	switch {
	case len(next) == 0 && idx >= 0:
		e.Attributes = append(e.Attributes[:idx], e.Attributes[idx+1:]...)
	case len(next) == 0:
	case idx >= 0:
		e.Attributes[idx] = ldap.NewEntryAttribute(e.Attributes[idx].Name, next)
	default:
		e.Attributes = append(e.Attributes, ldap.NewEntryAttribute(name, next))
	}
}

// foldKey is v in a form that two values equal under strings.EqualFold share
// (for the values a gateway writes), so that sets of values are maps: a
// change of n values to an attribute of m (a group's members) costs n+m, not
// n·m.
func foldKey(v string) string { return strings.ToLower(strings.ToUpper(v)) }

func foldSet(vals []string) map[string]bool {
	set := make(map[string]bool, len(vals))
	for _, v := range vals {
		set[foldKey(v)] = true
	}
	return set
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// requested keeps the attributes a search asked for (RFC 4511 §4.5.1.8: none
// or "*" is every user attribute; "1.1" none; "+" every operational one, which
// a planned entry has only as read or as assigned). Options are ignored
// ("memberOf;range=0-1499" asks for memberOf, which CompleteRanges names so).
func requested(attrs []*ldap.EntryAttribute, want []string) []*ldap.EntryAttribute {
	if len(want) == 0 || containsFold(want, "*") || containsFold(want, "+") {
		return attrs
	}
	var names []string
	for _, w := range want {
		name, _, _ := strings.Cut(w, ";")
		names = append(names, name)
	}
	var out []*ldap.EntryAttribute
	for _, a := range attrs {
		if containsFold(names, a.Name) {
			out = append(out, a)
		}
	}
	return out
}

func parentOf(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	return (&ldap.DN{RDNs: d.RDNs[1:]}).String()
}

// Len is the number of changes recorded and not yet drained.
func (p *Plan) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.records)
}

// Drain returns the changes recorded since the last Drain as LDIF change
// records (RFC 2849), in the order the gateway would have sent them, and
// forgets them (the planned state stays: later reads still see it). Password
// values are PasswordMarker. Controls (assertion, permissive modify) are not
// shown. A Password Modify extended operation (RFC 3062), which LDIF has no
// record for, is shown as the replace of userPassword it makes, after a
// comment saying so.
func (p *Plan) Drain() (string, error) {
	p.mu.Lock()
	records := p.records
	p.records = nil
	p.mu.Unlock()
	var b strings.Builder
	for _, rec := range records {
		if rec.comment != "" {
			b.WriteString("# " + rec.comment + "\n")
		}
		if rec.rename != nil {
			b.WriteString(modRDN(rec.rename))
			continue
		}
		out, err := ldif.Marshal(&ldif.LDIF{Entries: []*ldif.Entry{emptyReplaces(withoutPasswords(rec.entry))}, FoldWidth: -1})
		if err != nil {
			return "", err
		}
		b.WriteString(withoutSentinels(out))
	}
	return b.String(), nil
}

// passwordAttributes hold passwords: userPassword (RFC 4519 §2.41),
// authPassword (RFC 3112 §2.3), Active Directory's unicodePwd and dBCSPwd
// (MS-ADTS §3.1.1.3.1.5.1), Samba's sambaNTPassword and sambaLMPassword.
var passwordAttributes = []string{"userPassword", "authPassword", "unicodePwd", "dBCSPwd", "sambaNTPassword", "sambaLMPassword"}

// isPasswordAttribute reports whether the attribute description attr (options
// and all: "userPassword;binary") names one of passwordAttributes.
func isPasswordAttribute(attr string) bool {
	name, _, _ := strings.Cut(attr, ";")
	return containsFold(passwordAttributes, name)
}

// withoutPasswords is rec with every value of a password attribute replaced by
// PasswordMarker, whatever wrote it (SetPassword and SetUnicodePwd record the
// marker already; a mapping may map another SCIM attribute to one): the LDIF
// never holds a password.
func withoutPasswords(rec *ldif.Entry) *ldif.Entry {
	mask := func(vals []string) []string {
		out := make([]string, len(vals))
		for i := range out {
			out[i] = PasswordMarker
		}
		return out
	}
	switch {
	case rec.Add != nil:
		a := *rec.Add
		a.Attributes = append([]ldap.Attribute(nil), rec.Add.Attributes...)
		for i, at := range a.Attributes {
			if isPasswordAttribute(at.Type) {
				a.Attributes[i].Vals = mask(at.Vals)
			}
		}
		return &ldif.Entry{Add: &a}
	case rec.Modify != nil:
		m := *rec.Modify
		m.Changes = append([]ldap.Change(nil), rec.Modify.Changes...)
		for i, c := range m.Changes {
			if isPasswordAttribute(c.Modification.Type) {
				m.Changes[i].Modification.Vals = mask(c.Modification.Vals)
			}
		}
		return &ldif.Entry{Modify: &m}
	}
	return rec
}

// emptySentinel stands for "no values" in a replace: go-ldap/ldif refuses a
// replace without values, which RFC 2849 allows (it removes the attribute,
// RFC 4511 §4.6). The line it marshals to is removed again (withoutSentinels).
// NUL never occurs in a value the gateway writes (it refuses NUL).
const emptySentinel = "\x00"

func emptyReplaces(rec *ldif.Entry) *ldif.Entry {
	if rec.Modify == nil {
		return rec
	}
	m := *rec.Modify
	m.Controls = nil
	m.Changes = append([]ldap.Change(nil), rec.Modify.Changes...)
	for i, c := range m.Changes {
		if c.Operation == ldap.ReplaceAttribute && len(c.Modification.Vals) == 0 {
			m.Changes[i].Modification.Vals = []string{emptySentinel}
		}
	}
	return &ldif.Entry{Modify: &m}
}

func withoutSentinels(s string) string {
	if !strings.Contains(s, ":: AA==\n") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if !strings.HasSuffix(l, ":: AA==\n") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// modRDN writes a modrdn change record (RFC 2849), which go-ldap/ldif's
// Marshal does not offer; values that are not SAFE-STRINGs are base64.
func modRDN(req *ldap.ModifyDNRequest) string {
	var b strings.Builder
	line := func(attr, v string) {
		if safeString(v) {
			b.WriteString(attr + ": " + v + "\n")
		} else {
			b.WriteString(attr + ":: " + base64.StdEncoding.EncodeToString([]byte(v)) + "\n")
		}
	}
	line("dn", req.DN)
	b.WriteString("changetype: modrdn\n")
	line("newrdn", req.NewRDN)
	if req.DeleteOldRDN {
		b.WriteString("deleteoldrdn: 1\n")
	} else {
		b.WriteString("deleteoldrdn: 0\n")
	}
	if req.NewSuperior != "" {
		line("newsuperior", req.NewSuperior)
	}
	b.WriteString("\n")
	return b.String()
}

// safeString reports whether v is an RFC 2849 SAFE-STRING: ASCII without NUL,
// LF or CR, not starting with a space, ':' or '<', and not ending with a space.
func safeString(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}
