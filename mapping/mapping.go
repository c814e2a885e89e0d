// Package mapping loads and validates the declarative attribute map (the YAML file
// identity admins edit) and converts SCIM resources to LDAP entries and back.
//
// A mapping declares resource types (User, Group…), where their entries live
// (base DN, object classes, RDN attribute) and, attribute by attribute, which LDAP
// attribute stores which SCIM attribute. Only mapped attributes exist for the
// gateway: discovery (/Schemas) advertises exactly them and filters on anything
// else are rejected. In writes, what the resource type's schemas define but the
// mapping does not store is ignored, or refused with `unmappedAttributes:
// refuse` (stored.go finds it).
package mapping

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-ldap/ldap/v3"
)

// Mapping is a loaded, validated mapping file.
type Mapping struct {
	File    string
	Flavor  Flavor // FlavorOpenLDAP (default), FlavorActiveDirectory or Flavor389DS (dialect.go)
	Dialect Dialect
	// UnmappedAttributes is what writes do with attributes a schema of the
	// resource type defines but the mapping doesn't store: "ignore" (default)
	// or "refuse" (400). Each ResourceType's RefuseUnmapped follows it.
	UnmappedAttributes string
	Types              []*ResourceType
}

// ResourceType is one SCIM resource type and where its entries live (RFC 7643 §6).
type ResourceType struct {
	Name        string // "User"
	Endpoint    string // "/Users"
	Description string
	Schema      *SchemaDef
	Extensions  []Extension

	Base          string   // search base and parent of new entries
	Bases         []string // with `bases:`, the listed DNs (Base is their common ancestor)
	ParentBase    string   // where new entries go by default ("" means Base)
	Scope         int      // ldap.ScopeSingleLevel or ldap.ScopeWholeSubtree
	Filter        string   // LDAP filter that selects this type's entries
	ObjectClasses []string // written on create
	RDN           string   // LDAP attribute that names new entries
	Defaults      []Default
	Computed      []Computed
	// Parent, when set, computes the DN under which an entry lives (e.g. an OU per
	// department); it must be Base or below it. Entries move when it changes.
	Parent *Expr
	// OnDelete is what DELETE does: OnDeleteDelete (default) removes the
	// entry, OnDeleteDeactivate sets active to false and keeps it.
	OnDelete OnDelete
	// RefuseUnmapped is true with the mapping's `unmappedAttributes: refuse`:
	// writes naming an attribute the type's schemas define but the mapping
	// doesn't store are refused instead of ignored.
	RefuseUnmapped bool
	// Positions in the mapping file, for problems found later (CheckSchema).
	Pos, ObjectClassesPos, RDNPos Pos

	Attrs   []*AttrMap // in file order
	dialect Dialect
	// noSubstrings holds the lower-cased LDAP attributes the directory can't
	// match by substring (LearnSchema, possibly while serving); filters refuse
	// co/sw/ew on them.
	noSubstrings atomic.Pointer[map[string]bool]
}

// OnDelete is what DELETE does to a resource type's entries (`ldap.onDelete`).
type OnDelete string

// The values of OnDelete.
const (
	OnDeleteDelete     OnDelete = "delete"     // the default: the entry is removed
	OnDeleteDeactivate OnDelete = "deactivate" // active becomes false; the entry stays
)

// Extension is a schema extension of a resource type (RFC 7643 §6 schemaExtensions).
type Extension struct {
	Schema   *SchemaDef
	Required bool
	Alias    string // its name in expressions: "enterprise", or the custom schema's alias
}

// Computed is an LDAP attribute whose values an expression computes from the
// resource on every write (e.g. uidNumber, homeDirectory, cn).
type Computed struct {
	LDAP string
	Expr *Expr
	Pos  Pos
}

// Pos is a 1-based line and column in the mapping file.
type Pos struct{ Line, Col int }

// Default fills an LDAP attribute the object class requires when no mapped SCIM
// attribute gave it a value: the first of Templates that expands to a non-empty
// value, e.g. ["{name.givenName} {name.familyName}", "{userName}"].
type Default struct {
	LDAP      string
	Templates []string
	Pos       Pos
}

// AttrMap maps one SCIM attribute, sub-attribute or typed slot of a multi-valued
// attribute to one LDAP attribute.
type AttrMap struct {
	Key       string   // as written in the file, e.g. `emails[type eq "work"].value`
	SchemaURN string   // schema the attribute belongs to
	Def       *AttrDef // top-level SCIM attribute (name, emails, manager…)
	Sub       *AttrDef // sub-attribute (givenName, value…), nil for simple attributes
	// Fixed holds a slot's constant sub-attributes (lower-cased name → value), e.g.
	// {"type": "work"}: values of emails[type eq "work"] go to this LDAP attribute.
	Fixed map[string]string
	LDAP  string // LDAP attribute description

	CaseExact  bool       // SCIM caseExact; true compares with caseExactMatch in filters
	Uniqueness Uniqueness // UniquenessNone or UniquenessServer: server is checked before create and replace
	Mutability Mutability // readWrite, readOnly, immutable or writeOnly
	// Returned is the RFC 7643 §7 returned characteristic in force: the
	// schema's, or "request" where the mapping narrows a "default" one.
	Returned   string
	RefTypes   []string // for references: the resource types an id may name
	Pos        Pos      // where the mapping file declares it
	TrueValue  string   // LDAP value of boolean true (default "TRUE")
	FalseValue string   // LDAP value of boolean false (default "FALSE")
	// TrueWhenAbsent stores boolean true as the attribute's absence and false as
	// FalseValue. It fits lock attributes such as ppolicy's pwdAccountLockedTime,
	// which others write too (slapo-ppolicy(5): a failed-bind lockout's time):
	// the gateway owns only FalseValue. Exactly FalseValue (IsFalseValue) reads
	// as false; no value, or any other value, as true (RFC 7643 §4.1.1: active
	// is the administrative status); writing true removes FalseValue only
	// (KeepUnownedLocks).
	TrueWhenAbsent bool
	// Placeholder is kept in a multi-valued attribute the directory requires to be
	// non-empty (groupOfNames' MUST member: an empty member value works on slapd);
	// it is written when the list would be empty and never shown to SCIM clients.
	Placeholder *string
	// ToLDAP and ToSCIM transform each value on its way to the directory or back;
	// the value is the variable `value`, the rest of the resource is in scope too.
	ToLDAP, ToSCIM *Expr
	// Password marks SCIM's password: never read or returned, set through the
	// Password Modify extended operation (RFC 3062) so the directory hashes it.
	Password bool
	Ordering string // ordering rule for sort keys; "" derives it from the type (ordering.go)
	// FalseBits, when non-zero, stores a boolean as bits of an integer attribute
	// (accountState: adUserAccountControl): false when any of them is set, true
	// when none is; every other bit is preserved on writes (KeepOtherBits).
	// BaseBits are the other bits of a new entry's value (NORMAL_ACCOUNT).
	FalseBits, BaseBits uint32
	// PwdLastSet is the value written to AD's pwdLastSet with every password
	// ("0": change at next logon, "-1": now); "" writes none (AD sets it to now).
	PwdLastSet string

	// proj holds the attribute's projection keys, computed once at load
	// (projection.go): every response asks them of every attribute.
	proj projKeys
}

// Type returns the SCIM type of the mapped (sub-)attribute.
func (a *AttrMap) Type() string {
	if a.Sub != nil {
		return a.Sub.Type
	}
	return a.Def.Type
}

// IsReference reports whether the values are ids of other resources, stored as DNs.
func (a *AttrMap) IsReference() bool { return len(a.RefTypes) > 0 }

// IsMembership reports whether a holds a writable list of references (a group's
// members): such lists are changed value by value and never read to be rewritten.
func (a *AttrMap) IsMembership() bool {
	return a.IsReference() && a.Def.MultiValued && a.Writable()
}

// Required reports whether every resource must have a value for a (RFC 7643
// §2.2 "required": userName, a Group's displayName): a required attribute, or
// a required sub-attribute of one, that clients write.
func (a *AttrMap) Required() bool {
	required := (a.Sub == nil && a.Def.Required) || (a.Sub != nil && a.Def.Required && a.Sub.Required)
	return required && a.Writable() && !a.Password
}

// Writable reports whether clients may set the attribute.
func (a *AttrMap) Writable() bool { return a.Mutability != MutabilityReadOnly }

// ResourceType returns the resource type named name (case-insensitive), or nil.
func (m *Mapping) ResourceType(name string) *ResourceType {
	for _, rt := range m.Types {
		if strings.EqualFold(rt.Name, name) {
			return rt
		}
	}
	return nil
}

// TypesBySpecificity returns the resource types, those with the deepest bases
// first: the order in which to ask which type a DN belongs to.
func (m *Mapping) TypesBySpecificity() []*ResourceType {
	out := slices.Clone(m.Types)
	depth := func(rt *ResourceType) int {
		bases := rt.Bases
		if len(bases) == 0 {
			bases = []string{rt.Base}
		}
		d := 0
		for _, b := range bases {
			d = max(d, strings.Count(b, ",")+1)
		}
		return d
	}
	slices.SortStableFunc(out, func(a, b *ResourceType) int { return depth(b) - depth(a) })
	return out
}

// Holds reports whether the DN (as RefKey gives it) lies under one of the
// resource type's bases.
func (rt *ResourceType) Holds(dnKey string) bool {
	bases := rt.Bases
	if len(bases) == 0 {
		bases = []string{rt.Base}
	}
	for _, b := range bases {
		if strings.HasSuffix(dnKey, ","+RefKey(b)) {
			return true
		}
	}
	return false
}

// Schemas returns every schema the mapping uses, core schemas first.
func (m *Mapping) Schemas() []*SchemaDef {
	var out []*SchemaDef
	seen := map[string]bool{}
	add := func(s *SchemaDef) {
		if !seen[s.ID] {
			seen[s.ID] = true
			out = append(out, s)
		}
	}
	for _, rt := range m.Types {
		add(rt.Schema)
	}
	for _, rt := range m.Types {
		for _, e := range rt.Extensions {
			add(e.Schema)
		}
	}
	return out
}

// SchemaURNs returns the core schema and extension URNs of the resource type.
func (rt *ResourceType) SchemaURNs() []string {
	out := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		out = append(out, e.Schema.ID)
	}
	return out
}

// Dialect returns the directory dialect the resource type's entries follow.
func (rt *ResourceType) Dialect() Dialect { return rt.dialect }

// MappedAttrs returns the mappings of the top-level attribute def (several for
// complex attributes), in file order.
func (rt *ResourceType) MappedAttrs(schemaURN string, def *AttrDef) []*AttrMap {
	var out []*AttrMap
	for _, a := range rt.Attrs {
		if a.Def == def && a.SchemaURN == schemaURN {
			out = append(out, a)
		}
	}
	return out
}

// RDNAttr returns the mapping that feeds the RDN attribute, or nil.
func (rt *ResourceType) RDNAttr() *AttrMap {
	for _, a := range rt.Attrs {
		if strings.EqualFold(a.LDAP, rt.RDN) {
			return a
		}
	}
	return nil
}

// Backlink returns the LDAP attribute of rt's entries that the directory keeps
// pointing back at the owner type's entries that list them (memberOf for a User
// in a Group), from a read-only reference mapping such as
// `groups: {ldap: memberOf, reference: Group}`; "" when rt maps none.
func (rt *ResourceType) Backlink(owner *ResourceType) string {
	for _, a := range rt.Attrs {
		if a.IsReference() && !a.Writable() && len(a.RefTypes) == 1 && strings.EqualFold(a.RefTypes[0], owner.Name) {
			return a.LDAP
		}
	}
	return ""
}

// ParentDN returns the DN under which the entry for res lives: Base, or what the
// Parent expression computes, which must be a valid DN at or below Base
// (otherwise a ValueError naming the expression).
func (rt *ResourceType) ParentDN(res map[string]any) (string, error) {
	if rt.Parent == nil {
		if rt.ParentBase != "" {
			return rt.ParentBase, nil
		}
		return rt.Base, nil
	}
	out, err := rt.Parent.Eval(rt.exprEnv(res))
	if err != nil {
		return "", invalid("%s", err)
	}
	parent := exprText(out)
	pd, err := ldap.ParseDN(parent)
	base, _ := ldap.ParseDN(rt.Base)
	if err != nil || base == nil || !(base.EqualFold(pd) || base.AncestorOfFold(pd)) {
		return "", invalid("the mapping's parent expression gave %q, which is not a DN at or below %s", parent, rt.Base)
	}
	return parent, nil
}

// DN builds the DN of an entry from its RDN value (escaped per RFC 4514) and parent.
func (rt *ResourceType) DN(rdnValue, parent string) string {
	return rt.RDN + "=" + ldap.EscapeDN(rdnValue) + "," + parent
}

// Advertised returns the definition of a top-level attribute as /Schemas shows it
// for this resource type: nil when nothing of it is mapped, otherwise a copy with
// only the mapped sub-attributes and the characteristics the mapping set
// (uniqueness, caseExact, mutability, returned; RFC 7643 §7).
func (rt *ResourceType) Advertised(schemaURN string, def *AttrDef) *AttrDef {
	maps := rt.MappedAttrs(schemaURN, def)
	if len(maps) == 0 {
		return nil
	}
	out := *def
	out.SubAttributes = nil
	if def.Type != "complex" {
		a := maps[0]
		out.Uniqueness, out.CaseExact, out.Mutability, out.Returned = a.Uniqueness, a.CaseExact, a.Mutability, a.Returned
		return &out
	}
	if !slices.ContainsFunc(maps, func(a *AttrMap) bool { return a.Returned != "request" }) {
		out.Returned = "request" // every mapped part waits to be asked for
	}
	seen := map[*AttrDef]bool{}
	for _, a := range maps {
		subs := []*AttrDef{a.Sub}
		if a.IsReference() { // $ref (and type for multi-typed references) come with value
			subs = append(subs, def.Sub("$ref"))
			if len(a.RefTypes) > 1 {
				subs = append(subs, def.Sub("type"))
			}
		}
		for name := range a.Fixed {
			subs = append(subs, def.Sub(name))
		}
		for _, sd := range subs {
			if sd == nil || seen[sd] {
				continue
			}
			seen[sd] = true
			c := *sd
			if sd == a.Sub {
				c.Uniqueness, c.CaseExact = a.Uniqueness, a.CaseExact
				if a.Mutability == MutabilityReadOnly || a.Mutability == MutabilityImmutable {
					c.Mutability = a.Mutability
				}
			}
			out.SubAttributes = append(out.SubAttributes, &c)
		}
	}
	// Canonical values: a typed slot only accepts the types mapped.
	for i, sd := range out.SubAttributes {
		if strings.EqualFold(sd.Name, "type") {
			var types []string
			for _, a := range maps {
				if t, ok := a.Fixed["type"]; ok && !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
			if len(types) > 0 {
				c := *sd
				c.CanonicalValues = types
				out.SubAttributes[i] = &c
			}
		}
	}
	return &out
}
