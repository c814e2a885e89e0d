package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// Resolve implements filterxlate.Resolver: it tells the filter translator which
// LDAP attributes a SCIM attribute path is stored in. The path names an
// attribute as ResolvePath says (URN-qualified or not, Entra ID's legacy forms
// included); id and meta.created / meta.lastModified resolve to the
// directory's operational attributes. Errors are plain errors naming the path:
// the translator wraps them in a *filterxlate.Error (invalidFilter), so a
// *ValueError (invalidPath) must not reach it.
func (rt *ResourceType) Resolve(p filterxlate.AttrPath) (*filterxlate.Attribute, error) {
	t, err := rt.ResolvePath(p.URN, p.Name, p.Sub)
	if err != nil {
		return nil, errors.New(err.Error())
	}
	if attr, _ := rt.operational(t); attr != "" {
		target := &filterxlate.Target{LDAPAttr: attr, Type: filterxlate.DateTime} // meta.created, meta.lastModified
		if t.Def == idDef {
			target = &filterxlate.Target{LDAPAttr: attr, Type: filterxlate.String, NoSubstrings: rt.substringsRefused(attr)}
			if rt.dialect.GUIDID {
				target.EqualityValue = rt.dialect.IDFilterValue // objectGUID: escaped bytes, never the string form
			}
		}
		return &filterxlate.Attribute{Simple: target}, nil
	}
	maps := rt.read(t)
	if len(maps) == 0 {
		return nil, fmt.Errorf("attribute %q is not mapped to the directory", p.String())
	}
	def, sub := t.Def, t.Sub
	if def.Type != "complex" {
		return &filterxlate.Attribute{Simple: rt.target(maps[0])}, nil
	}
	if sub == nil && p.Sub != "" {
		// The legacy form "urn:…:2.0:User.manager" used p.Sub for the name;
		// the translator would take it for a sub-attribute of the slots.
		if def.MultiValued {
			return nil, fmt.Errorf("attribute %q: name a sub-attribute in standard notation, e.g. %s:%s.%s", p.String(), t.SchemaURN, def.Name, maps[0].Sub.Name)
		}
		sub = def.Sub("value")
	}
	if !def.MultiValued && sub != nil {
		for _, a := range maps {
			if a.Sub == sub {
				return &filterxlate.Attribute{Simple: rt.target(a)}, nil
			}
		}
		return nil, fmt.Errorf("attribute %q is not mapped to the directory", p.String())
	}
	// Complex: one slot per distinct set of fixed sub-attributes.
	slots := map[string]*filterxlate.Slot{}
	var order []string
	for _, a := range maps {
		key := fixedKey(a.Fixed)
		s := slots[key]
		if s == nil {
			s = &filterxlate.Slot{Fixed: a.Fixed, Sub: map[string]filterxlate.Target{}}
			slots[key] = s
			order = append(order, key)
		}
		s.Sub[strings.ToLower(a.Sub.Name)] = *rt.target(a)
	}
	out := &filterxlate.Attribute{}
	for _, k := range order {
		out.Slots = append(out.Slots, *slots[k])
	}
	return out, nil
}

func fixedKey(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

func (rt *ResourceType) target(a *AttrMap) *filterxlate.Target {
	t := &filterxlate.Target{LDAPAttr: a.LDAP, CaseExact: a.CaseExact, TrueValue: a.TrueValue, FalseValue: a.FalseValue,
		TrueAbsent: a.TrueWhenAbsent, RefTypes: a.RefTypes, FalseBits: a.FalseBits, Placeholder: a.Placeholder,
		NoSubstrings: rt.substringsRefused(a.LDAP)}
	if rt.dialect.OrderingRules || a.Ordering != "" {
		t.Ordering = filterOrdering(a) // ordering.go
	}
	if !rt.dialect.OrderingRules && t.CaseExact {
		t.CaseExact = false // AD has no caseExactMatch rule; its string attributes compare case-insensitively
	}
	switch {
	case a.IsReference():
		t.Type = filterxlate.Reference
	case a.Type() == "boolean":
		t.Type = filterxlate.Boolean
	case a.Type() == "integer":
		t.Type = filterxlate.Integer
	case a.Type() == "dateTime":
		t.Type = filterxlate.DateTime
	case a.Type() == "binary":
		t.Type = filterxlate.Binary
	default:
		t.Type = filterxlate.String
	}
	return t
}
