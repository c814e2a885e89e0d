package mapping

import (
	"fmt"
	"strings"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Requests name attributes by path, in the attribute notation of RFC 7644
// §3.10: [schema URN ":"] attribute ["." sub-attribute]. ResolvePath is the one
// rule for what such a path names. Filters (Resolve, the filterxlate.Resolver),
// sortBy (SortKey), attributes and excludedAttributes (Project) and PATCH paths
// all go through it, so a path names the same attribute in each of them.

// Target is an attribute, or one of its sub-attributes, of a schema the
// resource type has.
type Target struct {
	SchemaURN string   // the defining schema's id
	Def       *AttrDef // the top-level attribute
	Sub       *AttrDef // the sub-attribute; nil when the path names all of Def
}

// ResolvePath resolves the attribute path urn:name.sub (urn and sub may be "")
// against the schemas the resource type has: its core schema, with the common
// attributes id, externalId and meta (RFC 7643 §3.1), and its declared
// extensions. The rule, the same wherever a request names an attribute
// (filter, sortBy, attributes, excludedAttributes, PATCH path and no-path
// value keys):
//
//   - URNs, attribute and sub-attribute names compare ignoring case (RFC 7644
//     §3.10: "All facets (URN, attribute, and sub-attribute name) of the fully
//     encoded attribute name are case insensitive").
//   - A name without URN is looked up in the core schema first, then in the
//     extensions in the mapping's order: clients may omit the core schema's URN
//     and should, but need not, qualify an extension's attributes (RFC 7644
//     §3.10), e.g. "userName", "name.givenName", "employeeNumber".
//   - A URN must name the core schema or a declared extension, e.g.
//     "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName" or
//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".
//     URNs also compare ignoring colons, so Microsoft Entra ID's
//     "urn:…:enterprise:2.0User:manager" (a colon missing) names the enterprise
//     extension too. The core URN names core attributes only.
//   - Entra ID's legacy dotted form "urn:…:enterprise:2.0:User.manager" (with
//     "." where the notation has ":") parses as URN "urn:…:enterprise:2.0",
//     name "User", sub "manager". When urn:name is a declared extension (by
//     ExtensionURN) and sub is given, the path means that extension's
//     attribute sub: here the enterprise manager. Entra sends it in PATCH
//     paths; it is accepted wherever a path is, since in standard notation it
//     would name attribute "User" of a schema "urn:…:2.0" that no resource type
//     has. In a filter, a single-valued complex attribute named this way
//     compares its value, as "manager eq …" does (RFC 7644 §3.4.2.2); a
//     multi-valued one must be named in standard notation there.
//
// A whole extension ("urn:…:enterprise:2.0:User", parsed as URN "urn:…:2.0"
// and name "User") is no attribute: callers that take one (attributes, PATCH)
// ask ExtensionURN first. Errors are *ValueError with scimType invalidPath
// (RFC 7644 §3.12) naming the path: an unknown schema, a name no schema
// defines (with the closest one as a hint), a sub-attribute of a simple
// attribute or one the attribute lacks. Whether the mapping stores the target
// is the caller's question (Stores, SortKey, Resolve).
func (rt *ResourceType) ResolvePath(urn, name, sub string) (Target, error) {
	if urn != "" && sub != "" {
		if ext := rt.ExtensionURN(urn + ":" + name); ext != "" {
			urn, name, sub = ext, sub, "" // Entra's legacy "…:2.0:User.manager"
		}
	}
	path := name
	if sub != "" {
		path += "." + sub
	}
	if urn != "" {
		path = urn + ":" + path
	}
	schemas := append([]*SchemaDef{rt.Schema}, extSchemas(rt)...)
	if urn != "" {
		s := rt.schemaByURN(urn, true)
		if s == nil {
			return Target{}, pathError("%s: unknown schema %s: the %s resource type's schemas are %s", path, urn, rt.Name, strings.Join(rt.SchemaURNs(), ", "))
		}
		schemas = []*SchemaDef{s}
	}
	for _, s := range schemas {
		def := s.Attr(name)
		if def == nil && s == rt.Schema {
			def = commonAttr(name)
		}
		if def == nil {
			continue
		}
		t := Target{SchemaURN: s.ID, Def: def}
		if sub == "" {
			return t, nil
		}
		if def.Type != "complex" {
			return Target{}, pathError("%s: %s has no sub-attributes", path, def.Name)
		}
		if t.Sub = def.Sub(sub); t.Sub == nil {
			return Target{}, pathError("%s: %s has no sub-attribute %q", path, def.Name, sub)
		}
		return t, nil
	}
	var ids []string
	for _, s := range schemas {
		ids = append(ids, s.ID)
	}
	return Target{}, pathError("%s is not an attribute of the %s resource type's schemas (%s)%s", path, rt.Name, strings.Join(ids, ", "), didYouMean(name, schemas[0]))
}

// ExtensionURN returns the id of the resource type's extension schema that s
// names, comparing ignoring case and colons (Entra ID's
// "urn:…:enterprise:2.0User" names the enterprise extension), or "" when s
// names none. PATCH asks it of a path or a no-path value's key to tell a whole
// extension from an attribute, attributes and excludedAttributes to select or
// drop a whole extension.
func (rt *ResourceType) ExtensionURN(s string) string {
	if sc := rt.schemaByURN(s, false); sc != nil {
		return sc.ID
	}
	return ""
}

// schemaByURN returns the resource type's extension schema, or with core also
// its core schema, that urn names ignoring case and colons; nil when none.
func (rt *ResourceType) schemaByURN(urn string, core bool) *SchemaDef {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, ":", "")) }
	if core && norm(rt.Schema.ID) == norm(urn) {
		return rt.Schema
	}
	for _, e := range rt.Extensions {
		if norm(e.Schema.ID) == norm(urn) {
			return e.Schema
		}
	}
	return nil
}

func pathError(format string, args ...any) *ValueError {
	return &ValueError{ScimType: scimerr.InvalidPath, Msg: fmt.Sprintf(format, args...)}
}

// commonAttr returns the definition of a common attribute (RFC 7643 §3.1), or nil.
func commonAttr(name string) *AttrDef {
	return findAttr([]*AttrDef{idDef, externalIDDef, metaDef}, name)
}

// operational returns the directory's operational attribute that holds t when
// t is id, meta.created or meta.lastModified (entryUUID, createTimestamp,
// modifyTimestamp, or the dialect's equivalents), with the ordering rule that
// sorts it; "" when t is none of them.
func (rt *ResourceType) operational(t Target) (ldapAttr, ordering string) {
	d := rt.dialect
	switch {
	case t.Def == idDef:
		return d.ID, d.IDOrdering
	case t.Def == metaDef && t.Sub != nil && t.Sub.Name == "created":
		return d.Created, GeneralizedTimeOrdering
	case t.Def == metaDef && t.Sub != nil && t.Sub.Name == "lastModified":
		return d.Modified, GeneralizedTimeOrdering
	}
	return "", ""
}

// read returns the mappings of t's attribute (all of its sub-attributes and
// slots) that responses, filters and sort keys read: all but the writeOnly
// ones (password).
func (rt *ResourceType) read(t Target) []*AttrMap {
	var out []*AttrMap
	for _, a := range rt.Attrs {
		if a.Def == t.Def && a.SchemaURN == t.SchemaURN && a.Mutability != MutabilityWriteOnly {
			out = append(out, a)
		}
	}
	return out
}

// Membership returns the mapping that stores def as a membership list, or nil:
// the one answer to "is this a group's membership attribute" (see
// AttrMap.IsMembership: a writable, multi-valued reference, changed value by
// value and never read to be rewritten).
func (rt *ResourceType) Membership(def *AttrDef) *AttrMap {
	for _, a := range rt.Attrs {
		if a.Def == def && a.IsMembership() {
			return a
		}
	}
	return nil
}

// MembershipLDAP is Membership by the LDAP attribute that stores the list
// (member, uniqueMember…; compared ignoring case), or nil.
func (rt *ResourceType) MembershipLDAP(ldapAttr string) *AttrMap {
	for _, a := range rt.Attrs {
		if a.IsMembership() && strings.EqualFold(a.LDAP, ldapAttr) {
			return a
		}
	}
	return nil
}
