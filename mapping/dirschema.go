package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// DirectorySchema is what CheckSchema needs to know of the live directory's
// schema (ldapstore.Schema implements it from cn=Subschema, RFC 4512 §4.2).
type DirectorySchema interface {
	HasAttribute(name string) bool
	HasObjectClass(name string) bool
	Must(class string) []string // required attributes, superclasses included
	May(class string) []string  // allowed attributes, superclasses included
	// OrderingProblem: what is wrong with rule as attr's ordering rule ("" when
	// nothing, or when the directory publishes no matching rules).
	OrderingProblem(rule, attr string) string
}

// CheckSchema reports what the directory would refuse: LDAP attributes and
// object classes its schema doesn't define, attributes none of the resource
// type's object classes allow (unless extensibleObject), and MUST attributes of
// the object classes that nothing fills (no mapped attribute, computed value,
// default or the RDN). Each problem is at the mapping's line:col.
//
// On Active Directory only names are checked: AD fills system attributes itself
// (objectCategory, instanceType, nTSecurityDescriptor, groupType…) and allows
// attributes through system auxiliary classes (securityPrincipal's
// sAMAccountName) that the subschema's MUST/MAY lists don't show [MS-ADTS 3.1.1.2].
func (m *Mapping) CheckSchema(ds DirectorySchema) Problems {
	namesOnly := m.Flavor == FlavorActiveDirectory
	var ps Problems
	add := func(p Pos, format string, args ...any) {
		ps = append(ps, Problem{File: m.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
	}
	for _, rt := range m.Types {
		extensible := false
		var allowed []string
		for _, oc := range rt.ObjectClasses {
			if !ds.HasObjectClass(oc) {
				add(rt.ObjectClassesPos, "%s: the directory's schema has no object class %q", rt.Name, oc)
				continue
			}
			extensible = extensible || strings.EqualFold(oc, "extensibleObject")
			allowed = append(allowed, ds.Must(oc)...)
			allowed = append(allowed, ds.May(oc)...)
		}
		filled := map[string]bool{strings.ToLower(rt.RDN): true}
		check := func(p Pos, attr, what string, write bool) {
			if !ds.HasAttribute(attr) {
				add(p, "%s: the directory's schema has no attribute %q (%s)", rt.Name, attr, what)
				return
			}
			if write && !extensible && !namesOnly && !containsFold(allowed, attr) {
				add(p, "%s: %s is not allowed by the object classes %s (%s); add an object class that allows it",
					rt.Name, attr, strings.Join(rt.ObjectClasses, ", "), what)
			}
			if write {
				filled[strings.ToLower(attr)] = true
			}
		}
		for _, a := range rt.Attrs {
			// Read-only back-links (memberOf) and lock attributes are operational:
			// the directory, not the object class, provides them.
			write := a.Writable() && !a.Password && !a.TrueWhenAbsent
			check(a.Pos, a.LDAP, a.Key, write)
			if a.Ordering != "" {
				if p := ds.OrderingProblem(a.Ordering, a.LDAP); p != "" {
					add(a.Pos, "%s: %s.ordering: %s", rt.Name, a.Key, p)
				}
			}
		}
		for _, c := range rt.Computed {
			check(c.Pos, c.LDAP, "computed", true)
		}
		for _, d := range rt.Defaults {
			check(d.Pos, d.LDAP, "default", true)
		}
		if !ds.HasAttribute(rt.RDN) {
			add(rt.RDNPos, "%s: the directory's schema has no attribute %q (rdn)", rt.Name, rt.RDN)
		}
		for _, oc := range rt.ObjectClasses {
			if namesOnly {
				break
			}
			for _, must := range ds.Must(oc) {
				if !filled[strings.ToLower(must)] && !strings.EqualFold(must, "objectClass") {
					add(rt.ObjectClassesPos, "%s: object class %s requires %s, which nothing fills: map a SCIM attribute to it, compute it, or give it a default",
						rt.Name, oc, must)
					filled[strings.ToLower(must)] = true // once
				}
			}
		}
	}
	return ps
}

// SubstringRules tells which SUBSTR matching rule the directory has for an
// attribute (ldapstore.Schema implements it, RFC 4512 §4.1.2); published is
// false when its schema names no matching rules for the attribute (AD).
type SubstringRules interface {
	SubstringRule(attr string) (rule string, published bool)
}

// LearnSchema records what the live directory's schema says about matching:
// the attributes it publishes rules for but no SUBSTR rule (slapd's
// uniqueIdentifier, entryUUID: a substring filter on them is Undefined and
// matches nothing, RFC 4511 §4.5.1.7). Filters then answer co/sw/ew on them
// with 400 invalidFilter instead of an empty list. Safe while the mapping
// serves (the set is swapped atomically). Active Directory takes substrings on
// its string syntaxes and its subschema names no rules: nothing is learnt there.
func (m *Mapping) LearnSchema(ds SubstringRules) {
	if m.Flavor == FlavorActiveDirectory {
		return
	}
	for _, rt := range m.Types {
		none := map[string]bool{}
		attrs := []string{rt.dialect.ID}
		for _, a := range rt.Attrs {
			attrs = append(attrs, a.LDAP)
		}
		for _, attr := range attrs {
			if rule, published := ds.SubstringRule(attr); published && rule == "" {
				none[strings.ToLower(attr)] = true
			}
		}
		rt.noSubstrings.Store(&none)
	}
}

// substringsRefused reports whether LearnSchema found no SUBSTR rule for attr.
func (rt *ResourceType) substringsRefused(attr string) bool {
	none := rt.noSubstrings.Load()
	return none != nil && (*none)[strings.ToLower(attr)]
}

func containsFold(list []string, s string) bool {
	s, _, _ = strings.Cut(s, ";")
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
