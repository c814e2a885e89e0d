// Package reconcile reports what a directory holds that the gateway's
// identity providers do not manage or that SCIM cannot show (`scim2ldap
// reconcile`): it walks every entry of every resource type of a mapping, page
// by page, through the gateway's own code (package directory's paged walk and
// reference resolution, package mapping's rendering), and finds
//
//   - unmanaged entries: no sign that an identity provider manages them: no
//     externalId (RFC 7643 §3.1: set by the provisioning client) and, where
//     the directory records who wrote an entry (OpenLDAP's creatorsName and
//     modifiersName, RFC 4512 §3.4), neither created nor last modified by the
//     gateway's bind identity;
//   - dangling references: member and manager values naming no entry, a grant
//     waiting for the next entry created with that name;
//   - unmapped references: values naming an entry of no resource type, which
//     SCIM clients never see and so no IdP can remove;
//   - unrenderable entries: a required attribute without a value, a value not
//     in its SCIM type's syntax, extra values of a single-valued attribute
//     (mapping.ResourceType.RenderChecked);
//   - duplicates: values of attributes the mapping declares `uniqueness:
//     server` held by several entries of a type, as the directory's equality
//     rule compares them;
//   - lock mismatches: accounts whose lock state in the directory (ppolicy's
//     pwdAccountLockedTime; Active Directory's ACCOUNTDISABLE, lockout and
//     accountExpires) disagrees with the active attribute SCIM shows;
//   - missing object classes: entries without an object class the mapping
//     gives new entries (e.g. extensibleObject), on which the gateway's writes
//     of the attributes only that class allows are refused.
//
// It reads only, unless Options.FixDangling: then each dangling DN is removed
// from every value naming it with the gateway's own reference upkeep
// (directory.Snapshot.DropDangling), each removal audited. It imports
// directory, mapping and ldapstore, never gateway.
package reconcile

import (
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Kind is the kind of a Finding; the names are the report's and --skip's.
type Kind string

// The kinds of findings.
const (
	Unmanaged         Kind = "unmanaged"            // no IdP manages the entry
	Dangling          Kind = "dangling"             // a reference value naming no entry
	UnmappedReference Kind = "unmapped-reference"   // a reference value naming an entry of no resource type
	Unrenderable      Kind = "unrenderable"         // something of the entry SCIM cannot show
	Duplicate         Kind = "duplicate"            // a uniqueness: server value held by several entries
	LockMismatch      Kind = "lock-mismatch"        // the lock state disagrees with active
	MissingClass      Kind = "missing-object-class" // an object class of the mapping's the entry lacks
)

// Kinds are every Kind, in report order.
var Kinds = []Kind{Unmanaged, Dangling, UnmappedReference, Unrenderable, Duplicate, LockMismatch, MissingClass}

// Finding is one problem of one entry. Attribute is the mapped attribute's
// key in the mapping file ("userName", "members"), LDAP its LDAP attribute,
// Value the value concerned (a DN for references; "" when none). The
// Detail of a dangling value that FixDangling removed ends with "; removed
// (--fix-dangling)".
type Finding struct {
	Kind         Kind   `json:"kind"`
	ResourceType string `json:"resourceType"`
	DN           string `json:"dn"`
	ID           string `json:"id,omitempty"`
	Attribute    string `json:"attribute,omitempty"`
	LDAP         string `json:"ldapAttribute,omitempty"`
	Value        string `json:"value,omitempty"`
	Detail       string `json:"detail"`
}

// Removal is one removal FixDangling made: in the entry DN (of ResourceType),
// the values of Attributes that named Value.
type Removal struct {
	DN           string   `json:"dn"`
	ResourceType string   `json:"resourceType,omitempty"`
	Attributes   []string `json:"attributes"`
	Value        string   `json:"value"`
}

// Summary is what a run found and did besides its findings: entries scanned
// per resource type, findings per kind, checks not made (and why), the
// removals of FixDangling and the dangling DNs it could not clear (with the
// error). Clean reports whether nothing is left to fix: no finding, or only
// dangling values FixDangling removed.
type Summary struct {
	Scanned    map[string]int  `json:"scanned"`
	Counts     map[Kind]int    `json:"counts"`
	NotChecked []string        `json:"notChecked,omitempty"`
	Removed    []Removal       `json:"removed,omitempty"`
	FixErrors  []string        `json:"fixErrors,omitempty"`
	Clean      bool            `json:"clean"`
	remaining  int             // findings not fixed
	fixed      map[string]bool // RefKey of dangling DNs cleared
}

// Options configure a run.
type Options struct {
	Mapping *mapping.Mapping
	Store   *ldapstore.Store
	// GatewayDN is the DN the gateway binds as: entries neither created nor
	// last modified by it are unmanaged, where the directory records
	// creatorsName/modifiersName (OpenLDAP). "" skips that test.
	GatewayDN string
	// Skip names checks not to make: the Kinds, and "external-id" and
	// "writer", the two tests of Unmanaged.
	Skip []string
	// PageSize is the paged results page size (≤ 0: directory.DefaultScanPage).
	PageSize int
	// FixDangling removes dangling reference values after the walk.
	FixDangling bool
	// Audit receives one event per removal (as the gateway's "scim.reference").
	Audit zerolog.Logger
	// Log receives what the run can't report otherwise (nil: nothing).
	Log zerolog.Logger
	// Now is the time accountExpires is compared with (zero: time.Now()).
	Now time.Time
	// OnFinding receives each finding as it is found (required); an error
	// stops the run and is returned.
	OnFinding func(Finding) error
}

// ppolicyAdminLock is the pwdAccountLockedTime of an account locked until an
// administrator unlocks it (slapo-ppolicy(5), "pwdAccountLockedTime"); any
// other value is the time of a lockout after failed binds, which ends after
// the policy's pwdLockoutDuration unless that is 0.
const ppolicyAdminLock = "000001010000Z"

// Active Directory's account state (MS-ADA3 §2.342 User-Account-Control,
// MS-ADTS §3.1.1.4.5.17 msDS-User-Account-Control-Computed, MS-ADA1 §2.80
// Account-Expires).
const (
	adAccountDisable = 0x2  // ACCOUNTDISABLE of userAccountControl
	adLockout        = 0x10 // UF_LOCKOUT of msDS-User-Account-Control-Computed
	adComputedUAC    = "msDS-User-Account-Control-Computed"
)

// run is one reconcile run's state.
type run struct {
	opts     Options
	snap     *directory.Snapshot
	sum      *Summary
	skip     map[string]bool
	schema   *ldapstore.Schema
	hasLock  bool            // OpenLDAP: the schema defines pwdAccountLockedTime
	exists   map[string]bool // RefKey → whether an entry has that name (bounded cache)
	dangling []string        // DNs found dangling, in order found
	seenDang map[string]bool
	seed     maphash.Seed
	fold     cases.Caser
	// hiddenWriters counts, per resource type, the entries the writer test
	// could not check: no creatorsName nor modifiersName visible to the bind.
	hiddenWriters map[string]int
}

// existsCacheMax bounds the cache of DN lookups.
const existsCacheMax = 10000

// Run walks the directory through opts.Mapping and hands every finding to
// opts.OnFinding; then, with FixDangling, removes the dangling values. It
// returns the summary, or an error when the directory could not be read
// (classified by package directory) or OnFinding failed. Fix failures are
// not errors: they are in Summary.FixErrors.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &run{opts: opts, sum: &Summary{Scanned: map[string]int{}, Counts: map[Kind]int{}, fixed: map[string]bool{}},
		skip: map[string]bool{}, exists: map[string]bool{}, seenDang: map[string]bool{}, seed: maphash.MakeSeed(), fold: cases.Fold(),
		hiddenWriters: map[string]int{}}
	for _, s := range opts.Skip {
		r.skip[strings.ToLower(strings.TrimSpace(s))] = true
	}
	events := &removals{r: r}
	r.snap = directory.New(opts.Store, opts.Log, events).Snapshot(opts.Mapping, "")
	m := opts.Mapping
	schema, err := opts.Store.ReadSchema(ctx)
	if err != nil {
		return nil, err
	}
	r.schema = schema
	r.hasLock = !m.Dialect.IsAD() && schema.HasAttribute("pwdAccountLockedTime")
	r.notes()
	var pending []Finding // findings of dangling values, held back until fixed or not
	for _, rt := range m.Types {
		t := r.newTypeRun(rt)
		r.sum.Scanned[rt.Name] = 0 // a type without entries is named too
		err := r.snap.Resources(rt).Scan(ctx, opts.PageSize, t.extra(), func(p directory.ScanPage) error {
			for _, e := range p.Entries {
				r.sum.Scanned[rt.Name]++
				for _, f := range t.check(ctx, e, p.Refs) {
					if f.Kind == Dangling && opts.FixDangling {
						pending = append(pending, f)
						continue
					}
					if err := r.emit(f); err != nil {
						return err
					}
				}
				if t.err != nil {
					return t.err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if opts.FixDangling {
		for _, dn := range r.dangling {
			if err := r.snap.DropDangling(ctx, dn); err != nil {
				r.sum.FixErrors = append(r.sum.FixErrors, fmt.Sprintf("%s: %v", dn, err))
				continue
			}
			r.sum.fixed[mapping.RefKey(dn)] = true
		}
		for _, f := range pending {
			fixed := r.sum.fixed[mapping.RefKey(f.Value)]
			if fixed {
				f.Detail += "; removed (--fix-dangling)"
			}
			r.sum.Counts[f.Kind]++
			if !fixed {
				r.sum.remaining++
			}
			if err := opts.OnFinding(f); err != nil {
				return nil, err
			}
		}
	}
	for _, rt := range m.Types {
		if n := r.hiddenWriters[rt.Name]; n > 0 {
			noun, pron := "entry", "it"
			if n > 1 {
				noun, pron = "entries", "them"
			}
			r.sum.NotChecked = append(r.sum.NotChecked, fmt.Sprintf("writer: %d %s %s showed the bind account no creatorsName or modifiersName (an access control may hide them): whether the gateway wrote %s is not known", n, rt.Name, noun, pron))
		}
	}
	r.sum.Clean = r.sum.remaining == 0
	return r.sum, nil
}

func (r *run) emit(f Finding) error {
	r.sum.Counts[f.Kind]++
	r.sum.remaining++
	return r.opts.OnFinding(f)
}

// skipped reports whether check is to be left out.
func (r *run) skipped(check string) bool { return r.skip[check] }

// notes records the checks this directory or mapping leaves out, and why.
func (r *run) notes() {
	m := r.opts.Mapping
	add := func(s string) { r.sum.NotChecked = append(r.sum.NotChecked, s) }
	for _, s := range slices.Sorted(maps.Keys(r.skip)) {
		add(s + ": skipped (--skip)")
	}
	if !r.skipped(string(Unmanaged)) && !r.skipped("writer") {
		switch {
		case m.Dialect.IsAD():
			add("writer: Active Directory records no creatorsName or modifiersName; the owner in an object's nTSecurityDescriptor is set once, at creation, to the creator's account unless that is a member of the built-in Administrators group (then the group owns it), and msDS-ReplAttributeMetaData names the originating domain controller, not the account; so who wrote an entry is not checked there, only its externalId")
		case r.opts.GatewayDN == "":
			add("writer: no gateway bind DN (--gateway-dn or SCIM2LDAP_LDAP_BIND_DN) to compare creatorsName and modifiersName with")
		}
	}
	if !r.skipped(string(Dangling)) && !r.snap.KeepsReferences() {
		add("dangling: none can exist on Active Directory, whose domain controller removes member and manager values of deleted objects itself (linked attributes, MS-ADTS §3.1.1.6); values naming entries outside the mapping are still reported (unmapped-reference)")
	}
	if !r.skipped(string(LockMismatch)) && !m.Dialect.IsAD() && !r.hasLock {
		add("lock-mismatch: the directory's schema has no pwdAccountLockedTime (slapd's ppolicy overlay): no other lock state to compare active with")
	}
	for _, rt := range m.Types {
		if !r.skipped(string(Unmanaged)) && !r.skipped("external-id") && attrNamed(rt, "externalId") == nil {
			add(fmt.Sprintf("external-id: %s maps no externalId", rt.Name))
		}
	}
}

// attrNamed returns the mapping of the core schema's top-level attribute
// name of rt (the first, for a complex one), or nil.
func attrNamed(rt *mapping.ResourceType, name string) *mapping.AttrMap {
	for _, a := range rt.Attrs {
		if a.SchemaURN == rt.Schema.ID && strings.EqualFold(a.Def.Name, name) {
			return a
		}
	}
	return nil
}

// typeRun is the state of one resource type's walk.
type typeRun struct {
	r          *run
	rt         *mapping.ResourceType
	res        *directory.Resources
	externalID *mapping.AttrMap
	active     *mapping.AttrMap
	refs       []*mapping.AttrMap // writable references (member, manager)
	unique     []*mapping.AttrMap // uniqueness: server
	seen       map[*mapping.AttrMap]map[uint64]bool
	reported   map[*mapping.AttrMap]map[uint64]bool
	err        error // a directory error met in check
}

func (r *run) newTypeRun(rt *mapping.ResourceType) *typeRun {
	t := &typeRun{r: r, rt: rt, res: r.snap.Resources(rt), externalID: attrNamed(rt, "externalId"), active: attrNamed(rt, "active"),
		seen: map[*mapping.AttrMap]map[uint64]bool{}, reported: map[*mapping.AttrMap]map[uint64]bool{}}
	for _, a := range rt.Attrs {
		if a.IsReference() && a.Writable() {
			t.refs = append(t.refs, a)
		}
		if a.Uniqueness == mapping.UniquenessServer && a.Writable() {
			t.unique = append(t.unique, a)
			t.seen[a], t.reported[a] = map[uint64]bool{}, map[uint64]bool{}
		}
	}
	return t
}

// extra is what the walk reads besides the mapped attributes.
func (t *typeRun) extra() []string {
	out := []string{"objectClass"}
	if !t.rt.Dialect().IsAD() {
		out = append(out, "creatorsName", "modifiersName")
		if t.r.hasLock {
			out = append(out, "pwdAccountLockedTime")
		}
	} else if t.active != nil {
		out = append(out, "userAccountControl", adComputedUAC, "accountExpires")
	}
	return out
}

// check returns the findings of one entry.
func (t *typeRun) check(ctx context.Context, e *ldap.Entry, refs map[string]mapping.Ref) []Finding {
	res, problems := t.rt.RenderChecked(e, refs, "")
	id, _ := res["id"].(string)
	var out []Finding
	add := func(k Kind, a *mapping.AttrMap, value, detail string) {
		f := Finding{Kind: k, ResourceType: t.rt.Name, DN: e.DN, ID: id, Value: value, Detail: detail}
		if a != nil {
			f.Attribute, f.LDAP = a.Key, a.LDAP
		}
		out = append(out, f)
	}
	if !t.r.skipped(string(Unrenderable)) {
		for _, p := range problems {
			out = append(out, Finding{Kind: Unrenderable, ResourceType: t.rt.Name, DN: e.DN, ID: id, Attribute: p.Attr, LDAP: p.LDAP, Value: p.Value, Detail: p.Reason})
		}
	}
	if !t.r.skipped(string(Unmanaged)) {
		if reasons := t.unmanaged(e, res); len(reasons) > 0 {
			add(Unmanaged, nil, "", strings.Join(reasons, "; "))
		}
	}
	t.references(ctx, e, refs, add)
	if !t.r.skipped(string(Duplicate)) {
		out = append(out, t.duplicates(ctx, e)...)
	}
	if !t.r.skipped(string(MissingClass)) {
		for _, c := range t.missingClasses(e) {
			add(MissingClass, nil, c, fmt.Sprintf("the mapping gives new %s entries the object class %s, and this entry lacks it: the directory refuses the gateway's writes of attributes only %s allows (objectClassViolation) until it is added", t.rt.Name, c, c))
		}
	}
	if !t.r.skipped(string(LockMismatch)) && t.active != nil {
		if detail := t.lockMismatch(e, res); detail != "" {
			add(LockMismatch, t.active, e.GetEqualFoldAttributeValue("pwdAccountLockedTime"), detail)
		}
	}
	return out
}

// missingClasses returns the object classes of the mapping's list for new
// entries that e has neither itself nor through a subclass ("top" aside).
func (t *typeRun) missingClasses(e *ldap.Entry) []string {
	have := map[string]bool{}
	for _, c := range e.GetEqualFoldAttributeValues("objectClass") {
		for _, s := range t.r.schema.Superclasses(c) {
			have[s] = true
		}
	}
	var out []string
	for _, c := range t.rt.ObjectClasses {
		if !have[strings.ToLower(c)] && !strings.EqualFold(c, "top") {
			out = append(out, c)
		}
	}
	return out
}

// unmanaged returns why no IdP seems to manage the entry; none when any
// sign of an IdP is there (an externalId, or the gateway's bind DN as
// creatorsName or modifiersName), or when the entry offers no sign to look at
// (the entries whose writers the bind account can't read are counted in
// hiddenWriters, and the summary says so).
// Any one sign is enough: slapd's memberof overlay rewrites a user's memberOf
// as its own identity (olcMemberOfDN, by default the rootDN) when the gateway
// changes a group, so modifiersName alone moves away from the gateway in
// normal operation.
func (t *typeRun) unmanaged(e *ldap.Entry, res map[string]any) []string {
	var reasons []string
	if t.externalID != nil && !t.r.skipped("external-id") {
		if v, _ := res["externalId"].(string); v != "" {
			return nil
		}
		reasons = append(reasons, "no externalId ("+t.externalID.LDAP+"): no identity provider has claimed it")
	}
	gw := t.r.opts.GatewayDN
	if gw != "" && !t.rt.Dialect().IsAD() && !t.r.skipped("writer") {
		creator, modifier := e.GetEqualFoldAttributeValue("creatorsName"), e.GetEqualFoldAttributeValue("modifiersName")
		if sameDN(creator, gw) || sameDN(modifier, gw) {
			return nil
		}
		if creator == "" && modifier == "" {
			t.r.hiddenWriters[t.rt.Name]++
		}
		if creator != "" {
			reasons = append(reasons, fmt.Sprintf("neither created nor last modified by the gateway's %s (creatorsName %s, modifiersName %s)", gw, creator, modifier))
		}
	}
	return reasons
}

// sameDN compares two DNs by RFC 4514 form, case-insensitively.
func sameDN(a, b string) bool {
	return a != "" && mapping.RefKey(a) == mapping.RefKey(b)
}

// references finds the reference values of e that name no resource: no entry
// at all (dangling) or an entry of no resource type (unmapped).
func (t *typeRun) references(ctx context.Context, e *ldap.Entry, refs map[string]mapping.Ref, add func(Kind, *mapping.AttrMap, string, string)) {
	for _, a := range t.refs {
		for _, v := range e.GetEqualFoldAttributeValues(a.LDAP) {
			if v == "" || (a.Placeholder != nil && v == *a.Placeholder) {
				continue
			}
			key := mapping.RefKey(v)
			if _, ok := refs[key]; ok {
				continue
			}
			held, ok := t.r.exists[key]
			if !ok {
				var err error
				if held, err = t.r.snap.Exists(ctx, v); err != nil {
					t.err = err
					return
				}
				if len(t.r.exists) >= existsCacheMax {
					clear(t.r.exists)
				}
				t.r.exists[key] = held
			}
			switch {
			case !held && !t.r.skipped(string(Dangling)) && !t.r.inBases(key):
				// Outside the mapping's bases the bind account may not be allowed
				// to read entries, and slapd answers a base search for an entry
				// hidden by an access control as for none (noSuchObject): report
				// it, never remove it.
				add(Dangling, a, v, "no entry the bind account can read has this name; it lies outside the mapping's bases, where an access control may hide an entry as if it did not exist: check it as an administrator (--fix-dangling leaves it)")
			case !held && !t.r.skipped(string(Dangling)):
				add(Dangling, a, v, "no entry has this name: the next entry created with it inherits this "+a.LDAP+" value")
				if t.r.opts.FixDangling && !t.r.seenDang[key] {
					t.r.seenDang[key] = true
					t.r.dangling = append(t.r.dangling, v)
				}
			case held && !t.r.skipped(string(UnmappedReference)):
				add(UnmappedReference, a, v, "names an entry that is no "+strings.Join(a.RefTypes, " or ")+" of the mapping: SCIM clients never see this value, so no identity provider can remove it")
			}
		}
	}
}

// inBases reports whether the DN (as mapping.RefKey gives it) lies under a
// base of one of the mapping's resource types: where the gateway's account
// reads every entry, so that a name no search finds is a name no entry has.
func (r *run) inBases(key string) bool {
	return slices.ContainsFunc(r.opts.Mapping.Types, func(rt *mapping.ResourceType) bool { return rt.Holds(key) })
}

// duplicateHolders bounds the holders a duplicate finding names.
const duplicateHolders = 100

// duplicates finds the values of e's uniqueness: server attributes that other
// entries of the type hold too: one finding per holder, the first time the
// value is met again. A value is looked up only when an earlier entry of the
// walk had a value of the same folded form (a hash of it is all that is kept,
// so memory stays small); the directory's equality search then decides, as
// for the gateway's writes (directory.Resources.Holders).
func (t *typeRun) duplicates(ctx context.Context, e *ldap.Entry) []Finding {
	var out []Finding
	for _, a := range t.unique {
		for _, v := range e.GetEqualFoldAttributeValues(a.LDAP) {
			h := maphash.String(t.r.seed, t.key(v))
			if t.reported[a][h] {
				continue
			}
			if !t.seen[a][h] {
				t.seen[a][h] = true
				continue
			}
			holders, err := t.res.Holders(ctx, a.LDAP, v, duplicateHolders)
			if err != nil {
				t.err = err
				return out
			}
			if len(holders) < 2 {
				continue // another value with the same hash, or one the directory tells apart
			}
			t.reported[a][h] = true
			for _, hd := range holders {
				var others []string
				for _, o := range holders {
					if o.DN != hd.DN {
						others = append(others, o.DN)
					}
				}
				detail := fmt.Sprintf("%d %s entries hold this %s (uniqueness: server); the others: %s", len(holders), t.rt.Name, a.Key, strings.Join(others, "; "))
				if len(holders) >= duplicateHolders {
					detail = fmt.Sprintf("%d or more %s entries hold this %s (uniqueness: server)", len(holders), t.rt.Name, a.Key)
				}
				out = append(out, Finding{Kind: Duplicate, ResourceType: t.rt.Name, DN: hd.DN, ID: hd.ID, Attribute: a.Key, LDAP: a.LDAP, Value: t.own(hd.Values, v), Detail: detail})
			}
		}
	}
	return out
}

// own returns the value of vals that is v in folded form (the holder's own
// spelling of a duplicate), or v.
func (t *typeRun) own(vals []string, v string) string {
	k := t.key(v)
	for _, x := range vals {
		if t.key(x) == k {
			return x
		}
	}
	return v
}

// key is the form of v whose hash finds candidate duplicates: Unicode NFKC,
// case-folded, spaces trimmed and collapsed; never finer than the directory's
// equality rules for strings (RFC 4518 prepares values the same way).
func (t *typeRun) key(v string) string {
	return strings.Join(strings.Fields(t.r.fold.String(norm.NFKC.String(v))), " ")
}

// lockMismatch returns how the directory's lock state of e disagrees with the
// active SCIM shows (res), or "".
func (t *typeRun) lockMismatch(e *ldap.Entry, res map[string]any) string {
	active, known := res["active"].(bool)
	if !known {
		return ""
	}
	if t.rt.Dialect().IsAD() {
		return t.adLock(e, active)
	}
	if !t.r.hasLock {
		return ""
	}
	lock := e.GetEqualFoldAttributeValue("pwdAccountLockedTime")
	isLockAttr := t.active.TrueWhenAbsent && strings.EqualFold(t.active.LDAP, "pwdAccountLockedTime")
	switch {
	case isLockAttr && lock != "" && lock != ppolicyAdminLock && lock != t.active.FalseValue:
		return fmt.Sprintf("locked by ppolicy after failed binds (pwdAccountLockedTime %s), not deactivated: SCIM shows active true and the IdP's active true leaves the lock, but the account cannot bind until the policy's pwdLockoutDuration passes (never, when it is 0) or an administrator resets the password or removes the lock", lock)
	case isLockAttr:
		return ""
	case active && lock != "":
		return fmt.Sprintf("active is true but ppolicy has locked the account (pwdAccountLockedTime %s): it cannot bind", lock)
	case !active && lock == "":
		return fmt.Sprintf("active is false (%s) but the account has no ppolicy lock (pwdAccountLockedTime): it can still bind", t.active.LDAP)
	}
	return ""
}

// adLock is lockMismatch on Active Directory.
func (t *typeRun) adLock(e *ldap.Entry, active bool) string {
	uac, err := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
	if err != nil {
		return "" // not an account
	}
	disabled := uint32(uac)&adAccountDisable != 0
	computed, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue(adComputedUAC), 10, 64)
	lockedOut := uint32(computed)&adLockout != 0
	expires, _ := strconv.ParseInt(e.GetEqualFoldAttributeValue("accountExpires"), 10, 64)
	// accountExpires: 100 ns intervals since 1601-01-01 UTC; 0 and 2^63-1 mean never.
	var expired bool
	var expiry time.Time
	if expires > 0 && expires != 1<<63-1 {
		expiry = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(expires/10_000_000) * time.Second)
		expired = expiry.Before(t.r.opts.Now)
	}
	isUAC := t.active.FalseBits != 0 && strings.EqualFold(t.active.LDAP, "userAccountControl")
	var why []string
	if active {
		if disabled && !isUAC {
			why = append(why, "userAccountControl has ACCOUNTDISABLE")
		}
		if lockedOut {
			why = append(why, "the account is locked out after failed logons ("+adComputedUAC+" has UF_LOCKOUT)")
		}
		if expired {
			why = append(why, "the account expired on "+expiry.Format(time.DateOnly)+" (accountExpires)")
		}
		if len(why) > 0 {
			return "active is true but " + strings.Join(why, ", and ") + ": it cannot log on"
		}
		return ""
	}
	if !disabled && !expired && !isUAC {
		return fmt.Sprintf("active is false (%s) but userAccountControl lacks ACCOUNTDISABLE: the account can still log on", t.active.LDAP)
	}
	return ""
}

// removals hears of the removals DropDangling makes: it audits each and adds
// it to the summary.
type removals struct{ r *run }

func (rm *removals) ReferenceChanged(_ context.Context, c directory.ReferenceChange) {
	r := rm.r
	r.sum.Removed = append(r.sum.Removed, Removal{DN: c.DN, ResourceType: c.ResourceType, Attributes: c.Attributes, Value: c.OldValue})
	ev := r.opts.Audit.Info().Str("log", "audit").Str("event", "scim.reference").Str("client", "reconcile").
		Str("operation", "fix-dangling").Str("dn", c.DN).Strs("attributes", c.Attributes).Str("old_value", c.OldValue).Str("new_value", c.NewValue)
	if c.ResourceType != "" {
		ev = ev.Str("resource_type", c.ResourceType)
	}
	ev.Msg("reference")
}
