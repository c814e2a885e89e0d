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
	attrs, excluded map[string]bool // projectionKey: lower-cased "urn:name" and "urn:name.sub"
	metaLeftOut     []string        // meta's sub-attributes the response leaves out (ResourceType.metaLeftOut)
}

// Project builds the projection for the given parameter values (comma-separated
// lists already split). Names are attribute paths as ResolvePath reads them
// (URN-qualified or not, Entra ID's legacy forms included), or a whole schema
// URN ("urn:…:enterprise:2.0:User" selects or drops all of the extension's
// attributes). Names that resolve to nothing select nothing: a misspelt name
// does not fail a read. Only one of the two lists may be given; attributes wins.
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
	p.metaLeftOut = rt.metaLeftOut(p)
	return p
}

func (rt *ResourceType) projectionSet(names []string) map[string]bool {
	set := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if s := rt.schemaByURN(n, true); s != nil { // a whole schema
			set[strings.ToLower(s.ID)] = true
			continue
		}
		path, err := filterxlate.ParsePath(n)
		if err != nil {
			continue
		}
		t, err := rt.ResolvePath(path.Attr.URN, path.Attr.Name, path.Attr.Sub)
		if err != nil {
			continue
		}
		set[projectionKey(t.SchemaURN, t.Def, t.Sub)] = true
	}
	return set
}

// projectionKey is the key of a projection's set for an attribute or one of
// its sub-attributes: the lower-cased "urn:name" or "urn:name.sub".
func projectionKey(urn string, def, sub *AttrDef) string {
	key := urn + ":" + def.Name
	if sub != nil {
		key += "." + sub.Name
	}
	return strings.ToLower(key)
}

// includes reports whether the mapped attribute a is in the response.
func (p *Projection) includes(rt *ResourceType, a *AttrMap) bool {
	returned := a.Returned
	switch {
	case returned == "never":
		return false
	case returned == "always":
		return true
	case p == nil:
		return returned == "default"
	}
	k := a.projKeys()
	if p.attrs != nil {
		return p.attrs[k.top] || (k.sub != "" && p.attrs[k.sub]) || p.attrs[k.schema]
	}
	return returned == "default" && !p.excluded[k.top] && !(k.sub != "" && p.excluded[k.sub]) && !p.excluded[k.schema]
}

// projKeys are the keys under which a projection may name a mapped attribute:
// its top-level attribute, its sub-attribute ("" for none) and its schema.
type projKeys struct{ top, sub, schema string }

func (a *AttrMap) computeProjKeys() projKeys {
	k := projKeys{top: projectionKey(a.SchemaURN, a.Def, nil), schema: strings.ToLower(a.SchemaURN)}
	if a.Sub != nil {
		k.sub = projectionKey(a.SchemaURN, a.Def, a.Sub)
	}
	return k
}

// projKeys returns the keys computed at load, or computes them for an
// AttrMap built elsewhere (tests).
func (a *AttrMap) projKeys() projKeys {
	if a.proj.top != "" {
		return a.proj
	}
	return a.computeProjKeys()
}

// metaLeftOut returns the sub-attributes of meta (RFC 7643 §3.1:
// resourceType, created, lastModified, location, version, each returned by
// default) that projection p leaves out (RFC 7644 §3.4.2.5, §3.9). With
// attributes: those it names neither by "meta" nor one by one
// ("meta.lastModified" keeps lastModified alone; no name of meta keeps none).
// With excludedAttributes: those it names ("meta" all, "meta.version" version
// alone).
func (rt *ResourceType) metaLeftOut(p *Projection) []string {
	keep := p.attrs != nil // attributes keeps what it names, excludedAttributes drops it
	set := p.excluded
	if keep {
		set = p.attrs
	}
	var out []string
	whole := set[projectionKey(rt.Schema.ID, metaDef, nil)]
	for _, sub := range metaDef.SubAttributes {
		if named := whole || set[projectionKey(rt.Schema.ID, metaDef, sub)]; named != keep {
			out = append(out, sub.Name)
		}
	}
	return out
}

// projectMeta returns meta, the resource's own map, without the
// sub-attributes the projection leaves out; nil when none is left: the
// response has no meta.
func (p *Projection) projectMeta(meta map[string]any) map[string]any {
	if p == nil {
		return meta
	}
	for _, name := range p.metaLeftOut {
		delete(meta, name)
	}
	if len(meta) == 0 {
		return nil
	}
	return meta
}

// LDAPAttributes returns the LDAP attributes to request for a response with this
// projection: id, version, timestamps and every included mapped attribute. The
// operational ones (entryUUID, memberOf…) must be asked for by name.
func (rt *ResourceType) LDAPAttributes(p *Projection) []string {
	d := rt.dialect
	out := make([]string, 0, 4+len(rt.Attrs))
	out = append(out, d.ID, d.Version, d.Created, d.Modified)
	for _, a := range rt.Attrs {
		if a.Mutability != MutabilityWriteOnly && p.includes(rt, a) {
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
