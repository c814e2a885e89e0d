package mapping

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Requests name attributes by path (RFC 7644 §3.10 attribute notation,
// "urn:…:name.sub"; path.go resolves it to a Target). This file finds whether
// clients may change what a path names, and whether the mapping stores it: the gateway refuses what no schema defines and what is read-only
// (RFC 7644 §3.5.2), and ignores or refuses, as the mapping's
// unmappedAttributes says, what a schema defines but the mapping doesn't store.

// Finding is a part of a request that the mapping does not store.
type Finding struct {
	Path    string // in attribute notation: "addresses", "name.middleName", `phoneNumbers[type eq "fax"]`
	Unknown bool   // no schema of the resource type defines it; otherwise a schema does, but nothing maps it
	// Misplaced: the key is an attribute path ("urn:…:User:employeeNumber",
	// "name.givenName") that names an attribute of the resource type's schemas,
	// where a resource's JSON has the attribute itself, in its schema's object
	// (RFC 7643 §3). Ignoring it would drop a value the client means to write
	// (and a PUT would clear the attribute), so it is always refused.
	Misplaced bool
	Detail    string // a sentence naming Path and saying which of the two it is
}

// notation is t in attribute notation, URN-qualified for extension attributes.
func (rt *ResourceType) notation(t Target) string {
	s := t.Def.Name
	if t.Sub != nil {
		s += "." + t.Sub.Name
	}
	if t.SchemaURN != rt.Schema.ID {
		s = t.SchemaURN + ":" + s
	}
	return s
}

// CheckWritable returns a *ValueError with scimType mutability (RFC 7644
// §3.5.2, §3.12) when clients may not change t: it is readOnly in its schema
// (id, meta, groups, manager.displayName…), or every mapping that stores it
// says mutability: readOnly. Immutable attributes are writable here: whether
// they already hold a value is the write's check.
func (rt *ResourceType) CheckWritable(t Target) error {
	ro := t.Def.Mutability == MutabilityReadOnly || (t.Sub != nil && t.Sub.Mutability == MutabilityReadOnly)
	if !ro {
		maps := rt.storing(t, nil)
		ro = len(maps) > 0 && !slices.ContainsFunc(maps, (*AttrMap).Writable)
	}
	if ro {
		return &ValueError{ScimType: scimerr.Mutability, Msg: fmt.Sprintf("%s is read-only (mutability readOnly, RFC 7643 §2.2): clients cannot change it", rt.notation(t))}
	}
	return nil
}

// Stores reports whether the mapping stores t. For a multi-valued attribute,
// slot holds the sub-attribute values that select an element (from a value
// filter such as phoneNumbers[type eq "fax"]: {"type": "fax"}); nil means any.
func (rt *ResourceType) Stores(t Target, slot map[string]any) bool {
	return len(rt.storing(t, slot)) > 0
}

// storing returns the mappings that store t (in slot, when not nil).
func (rt *ResourceType) storing(t Target, slot map[string]any) []*AttrMap {
	var out []*AttrMap
	for _, a := range rt.Attrs {
		if a.Def != t.Def || a.SchemaURN != t.SchemaURN || (slot != nil && !rt.elementInSlot(slot, a)) {
			continue
		}
		if t.Sub == nil || storesSub(a, t.Sub) {
			out = append(out, a)
		}
	}
	return out
}

// storesSub reports whether a stores the sub-attribute sd of its attribute: its
// own sub-attribute, a reference's $ref and type (both follow from the id it
// stores), or a slot's fixed sub-attribute (the type of emails[type eq "work"]).
func storesSub(a *AttrMap, sd *AttrDef) bool {
	if a.Sub == sd || (a.IsReference() && (sd.Name == "$ref" || sd.Name == "type")) {
		return true
	}
	_, fixed := a.Fixed[strings.ToLower(sd.Name)]
	return fixed
}

// UnstoredValue returns what of v, a value for all of t, the mapping does not
// store: sub-attributes no schema defines (Unknown), defined ones nothing maps,
// and the elements of a multi-valued attribute that no slot takes
// (`phoneNumbers[type eq "fax"]` when only work and mobile numbers are mapped).
// What is read-only is not reported (RFC 7644 §3.3, §3.5.1: a body's read-only
// values are ignored), nor are empty values (null, "", []: storing nothing
// loses nothing), nor the type and primary of an element a slot takes: they
// qualify the value (RFC 7643 §2.4), and the value is stored.
func (rt *ResourceType) UnstoredValue(t Target, v any) []Finding {
	var out []Finding
	rt.unstoredValue(t, v, &out)
	return out
}

// UnstoredSubs returns what of obj, sub-attributes to set on the elements of t
// that a value filter selects, the mapping does not store, as UnstoredValue
// does; slot is as for Stores. Paths are prefix and the sub-attribute's name.
func (rt *ResourceType) UnstoredSubs(t Target, slot map[string]any, obj map[string]any, prefix string) []Finding {
	var out []Finding
	rt.unstoredSubs(t, rt.storing(t, slot), obj, prefix, &out)
	return out
}

func (rt *ResourceType) unstoredValue(t Target, v any, out *[]Finding) {
	if isEmpty(v) || t.Def.Mutability == MutabilityReadOnly {
		return
	}
	maps := rt.storing(t, nil)
	if len(maps) == 0 {
		*out = append(*out, rt.unmapped(rt.notation(t), t.SchemaURN))
		return
	}
	if t.Def.Type != "complex" || t.Sub != nil {
		return
	}
	if !t.Def.MultiValued {
		if list, ok := v.([]any); ok && len(list) == 1 {
			v = list[0] // Entra sends the manager as a one-element array
		}
		if m, ok := v.(map[string]any); ok { // a bare id (manager) is its value; other shapes are the type check's
			rt.unstoredSubs(t, maps, m, rt.notation(t), out)
		}
		return
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			if isEmpty(el) {
				continue
			}
			m = map[string]any{"value": el} // a bare value, as PATCH takes it
		}
		rt.unstoredElement(t, maps, m, out)
	}
}

// unstoredElement reports one element of a multi-valued attribute: when slots
// take it, its sub-attributes they don't store; otherwise its unknown
// sub-attributes and, when it carries a value, the element itself.
func (rt *ResourceType) unstoredElement(t Target, maps []*AttrMap, el map[string]any, out *[]Finding) {
	name := rt.notation(t)
	var taking []*AttrMap
	for _, a := range maps {
		if rt.elementInSlot(el, a) {
			taking = append(taking, a)
		}
	}
	if len(taking) > 0 {
		rt.unstoredSubs(t, taking, el, name, out)
		return
	}
	hasValue := false
	for _, k := range sortedKeys(el) {
		if sd := t.Def.Sub(k); sd == nil {
			*out = append(*out, rt.unknown(name+"."+k))
		} else if !isEmpty(el[k]) && !isQualifier(sd) && sd.Mutability != MutabilityReadOnly {
			hasValue = true
		}
	}
	if !hasValue {
		return // e.g. {"type": "fax", "value": ""}
	}
	if typ, _ := Lookup(el, "type"); !isEmpty(typ) {
		name += fmt.Sprintf("[type eq %q]", fmt.Sprint(typ))
	}
	*out = append(*out, rt.unmapped(name, t.SchemaURN))
}

// unstoredSubs reports the sub-attributes of obj no schema defines, and those
// no mapping of maps stores.
func (rt *ResourceType) unstoredSubs(t Target, maps []*AttrMap, obj map[string]any, prefix string, out *[]Finding) {
	for _, k := range sortedKeys(obj) {
		sd := t.Def.Sub(k)
		switch {
		case sd == nil:
			*out = append(*out, rt.unknown(prefix+"."+k))
		case isEmpty(obj[k]) || sd.Mutability == MutabilityReadOnly || (t.Def.MultiValued && isQualifier(sd)):
		case !slices.ContainsFunc(maps, func(a *AttrMap) bool { return storesSub(a, sd) }):
			*out = append(*out, rt.unmapped(prefix+"."+sd.Name, t.SchemaURN))
		}
	}
}

// isQualifier reports whether sd is one of the sub-attributes that describe a
// multi-valued attribute's value rather than carry it (RFC 7643 §2.4).
func isQualifier(sd *AttrDef) bool { return sd.Name == "type" || sd.Name == "primary" }

// Unstored returns what of a resource as a client sent it (a POST or PUT body)
// the mapping does not store, sorted by Path: top-level keys that name no
// attribute of the resource type's schemas (Unknown) and, as UnstoredValue
// finds them, the defined attributes, sub-attributes and elements nothing maps.
// schemas, id and meta are not looked at: the server sets them, and a body's
// read-only values are ignored (RFC 7644 §3.3, §3.5.1).
func (rt *ResourceType) Unstored(res map[string]any) []Finding {
	var out []Finding
	for _, k := range sortedKeys(res) {
		v := res[k]
		if strings.EqualFold(k, "schemas") || strings.EqualFold(k, "id") || strings.EqualFold(k, "meta") || isEmpty(v) {
			continue
		}
		if s := rt.schemaByURN(k, false); s != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				continue // not an object: the conversion refuses it
			}
			for _, k2 := range sortedKeys(obj) {
				if def := s.Attr(k2); def != nil {
					rt.unstoredValue(Target{SchemaURN: s.ID, Def: def}, obj[k2], &out)
				} else if !isEmpty(obj[k2]) {
					out = append(out, rt.unknown(s.ID+":"+k2))
				}
			}
			continue
		}
		def := rt.Schema.Attr(k)
		if def == nil {
			def = commonAttr(k)
		}
		if def == nil {
			out = append(out, rt.keyFinding(k))
			continue
		}
		rt.unstoredValue(Target{SchemaURN: rt.Schema.ID, Def: def}, v, &out)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// keyFinding is the Finding for a resource's top-level key k that names no
// attribute of the core schema: Misplaced when k is an attribute path that
// ResolvePath resolves (a URN-qualified or dotted name), else unknown.
func (rt *ResourceType) keyFinding(k string) Finding {
	p, err := filterxlate.ParsePath(k)
	if err != nil || p.Filter != nil || p.Sub != "" {
		return rt.unknown(k)
	}
	t, err := rt.ResolvePath(p.Attr.URN, p.Attr.Name, p.Attr.Sub)
	if err != nil {
		return rt.unknown(k)
	}
	where := fmt.Sprintf("{%q: …}", t.Def.Name)
	if t.Sub != nil {
		where = fmt.Sprintf("{%q: {%q: …}}", t.Def.Name, t.Sub.Name)
	}
	if t.SchemaURN != rt.Schema.ID {
		where = fmt.Sprintf("{%q: %s}", t.SchemaURN, where)
	}
	return Finding{Path: k, Misplaced: true, Detail: fmt.Sprintf("%q is an attribute path, not a key of a resource (RFC 7643 §3): send the value as %s", k, where)}
}

// Unmapped is the Finding for path, which names t (defined, not stored).
func (rt *ResourceType) Unmapped(path string, t Target) Finding {
	return rt.unmapped(path, t.SchemaURN)
}

func (rt *ResourceType) unknown(path string) Finding {
	return Finding{Path: path, Unknown: true,
		Detail: fmt.Sprintf("%s is not an attribute of the %s resource type's schemas (%s)", path, rt.Name, strings.Join(rt.SchemaURNs(), ", "))}
}

// unmapped describes a defined attribute nothing maps. The RFC's own schemas
// are named as such: an admin reading the error learns it is standard SCIM that
// the mapping could store.
func (rt *ResourceType) unmapped(path, schemaURN string) Finding {
	by := "the schema " + schemaURN
	if _, builtin := builtinSchemas[schemaURN]; builtin {
		by = "RFC 7643 (" + schemaURN + ")"
	}
	return Finding{Path: path, Detail: fmt.Sprintf("%s is defined by %s, but this server's mapping does not store it", path, by)}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
