package mapping

import (
	"strconv"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// Projection is the set of attributes a response carries, from the `attributes`
// and `excludedAttributes` query parameters (RFC 7644 §3.4.2.5, §3.9). A nil
// *Projection means the default set (every attribute whose returned
// characteristic is "always" or "default").
type Projection struct {
	attrs, excluded map[string]bool // lower-cased "urn:name" and "urn:name.sub"
}

// Project builds the projection for the given parameter values (comma-separated
// lists already split). Names may be URN-qualified; unknown names are ignored
// (they select nothing). Only one of the two lists may be given; attributes wins.
func (rt *ResourceType) Project(attributes, excluded []string) *Projection {
	if len(attributes) == 0 && len(excluded) == 0 {
		return nil
	}
	p := &Projection{}
	if len(attributes) > 0 {
		p.attrs = rt.projectionSet(attributes)
	} else {
		p.excluded = rt.projectionSet(excluded)
	}
	return p
}

func (rt *ResourceType) projectionSet(names []string) map[string]bool {
	set := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		for _, urn := range rt.SchemaURNs() { // a whole extension schema
			if strings.EqualFold(n, urn) {
				set[strings.ToLower(urn)] = true
			}
		}
		path, err := filterxlate.ParsePath(n)
		if err != nil {
			continue
		}
		urn := path.Attr.URN
		if urn == "" {
			urn = rt.schemaOfName(path.Attr.Name)
		}
		key := strings.ToLower(urn + ":" + path.Attr.Name)
		set[key] = true
		if path.Attr.Sub != "" {
			delete(set, key)
			set[key+"."+strings.ToLower(path.Attr.Sub)] = true
		}
	}
	return set
}

// schemaOfName returns the URN of the schema that defines an unqualified name:
// the core schema first (RFC 7644 §3.10), then the extensions.
func (rt *ResourceType) schemaOfName(name string) string {
	if rt.Schema.Attr(name) != nil || strings.EqualFold(name, "externalId") {
		return rt.Schema.ID
	}
	for _, e := range rt.Extensions {
		if e.Schema.Attr(name) != nil {
			return e.Schema.ID
		}
	}
	return rt.Schema.ID
}

// includes reports whether the mapped attribute a is in the response.
func (p *Projection) includes(rt *ResourceType, a *AttrMap) bool {
	returned := a.Def.Returned
	if a.Sub != nil && (a.Sub.Returned == "never" || a.Sub.Returned == "always") {
		returned = a.Sub.Returned
	}
	switch {
	case returned == "never":
		return false
	case returned == "always":
		return true
	case p == nil:
		return returned == "default"
	}
	top := strings.ToLower(a.SchemaURN + ":" + a.Def.Name)
	sub := ""
	if a.Sub != nil {
		sub = top + "." + strings.ToLower(a.Sub.Name)
	}
	if p.attrs != nil {
		return p.attrs[top] || (sub != "" && p.attrs[sub]) || p.attrs[strings.ToLower(a.SchemaURN)]
	}
	return returned == "default" && !p.excluded[top] && !(sub != "" && p.excluded[sub]) && !p.excluded[strings.ToLower(a.SchemaURN)]
}

// IncludesMeta reports whether meta is in the response.
func (p *Projection) IncludesMeta(rt *ResourceType) bool {
	key := strings.ToLower(rt.Schema.ID + ":meta")
	if p == nil {
		return true
	}
	if p.attrs != nil {
		return p.attrs[key]
	}
	return !p.excluded[key]
}

// LDAPAttributes returns the LDAP attributes to request for a response with this
// projection: id, version, timestamps and every included mapped attribute. The
// operational ones (entryUUID, memberOf…) must be asked for by name.
func (rt *ResourceType) LDAPAttributes(p *Projection) []string {
	d := rt.dialect
	out := []string{d.ID, d.Version, d.Created, d.Modified}
	for _, a := range rt.Attrs {
		if a.Mutability != "writeOnly" && p.includes(rt, a) {
			out = append(out, rt.valueRange(a))
		}
	}
	return out
}

// valueRange is the attribute description that requests a's values: on AD,
// reference lists in ranges of Dialect.RangeStep ("member;range=0-1499"); the
// gateway reads the rest (ldapstore.CompleteRanges) before using the entry.
func (rt *ResourceType) valueRange(a *AttrMap) string {
	if rt.dialect.RangeStep > 0 && a.IsReference() && a.Def.MultiValued {
		return a.LDAP + ";range=0-" + strconv.Itoa(rt.dialect.RangeStep-1)
	}
	return a.LDAP
}

// WritableLDAPAttributes returns the LDAP attributes to read before a replace or
// patch: every mapped attribute and default, except membership lists (which are
// written without being read; see AttrMap.IsMembership).
func (rt *ResourceType) WritableLDAPAttributes() []string {
	d := rt.dialect
	out := []string{d.ID, d.Version, d.Created, d.Modified}
	for _, a := range rt.Attrs {
		if !a.IsMembership() && !a.Password {
			out = append(out, rt.valueRange(a))
		}
	}
	for _, c := range rt.Computed {
		out = append(out, c.LDAP)
	}
	for _, def := range rt.Defaults {
		out = append(out, def.LDAP)
	}
	return out
}
