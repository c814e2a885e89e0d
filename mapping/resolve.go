package mapping

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// Resolve implements filterxlate.Resolver: it tells the filter translator which
// LDAP attributes a SCIM attribute path is stored in. id and meta.created /
// meta.lastModified resolve to the directory's operational attributes.
func (rt *ResourceType) Resolve(p filterxlate.AttrPath) (*filterxlate.Attribute, error) {
	urn := p.URN
	if urn != "" && !rt.hasSchema(urn) {
		return nil, fmt.Errorf("unknown schema %q in attribute %q", urn, p.String())
	}
	if urn == "" || strings.EqualFold(urn, rt.Schema.ID) {
		switch {
		case strings.EqualFold(p.Name, "id") && p.Sub == "":
			t := &filterxlate.Target{LDAPAttr: rt.dialect.ID, Type: filterxlate.String, NoSubstrings: rt.substringsRefused(rt.dialect.ID)}
			if rt.dialect.GUIDID {
				t.EqualityValue = rt.dialect.IDFilterValue // objectGUID: escaped bytes, never the string form
			}
			return &filterxlate.Attribute{Simple: t}, nil
		case strings.EqualFold(p.Name, "meta") && strings.EqualFold(p.Sub, "created"):
			return &filterxlate.Attribute{Simple: &filterxlate.Target{LDAPAttr: rt.dialect.Created, Type: filterxlate.DateTime}}, nil
		case strings.EqualFold(p.Name, "meta") && strings.EqualFold(p.Sub, "lastModified"):
			return &filterxlate.Attribute{Simple: &filterxlate.Target{LDAPAttr: rt.dialect.Modified, Type: filterxlate.DateTime}}, nil
		}
	}
	if urn == "" {
		urn = rt.schemaOfName(p.Name)
	}
	var maps []*AttrMap
	for _, a := range rt.Attrs {
		if strings.EqualFold(a.SchemaURN, urn) && strings.EqualFold(a.Def.Name, p.Name) && a.Mutability != "writeOnly" {
			maps = append(maps, a)
		}
	}
	if len(maps) == 0 {
		return nil, fmt.Errorf("attribute %q is not mapped to the directory", p.String())
	}
	def := maps[0].Def
	if def.Type != "complex" {
		if p.Sub != "" {
			return nil, fmt.Errorf("attribute %q has no sub-attribute %q", def.Name, p.Sub)
		}
		return &filterxlate.Attribute{Simple: rt.target(maps[0])}, nil
	}
	if !def.MultiValued && p.Sub != "" {
		for _, a := range maps {
			if strings.EqualFold(a.Sub.Name, p.Sub) {
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

func (rt *ResourceType) hasSchema(urn string) bool {
	for _, u := range rt.SchemaURNs() {
		if strings.EqualFold(u, urn) {
			return true
		}
	}
	return false
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
