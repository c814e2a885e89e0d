package mapping

import (
	"regexp"
	"strings"
)

var (
	schemaURNRe = regexp.MustCompile(`^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$`)
	scimNameRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	aliasRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// The keys of a custom schema and of its attributes, and the values of the
// attributes' enumerated characteristics (RFC 7643 §2.2, §2.3, §7).
var (
	customSchemaKeys  = []string{"id", "name", "alias", "description", "attributes"}
	customAttrOptions = []string{"type", "multiValued", "description", "required", "caseExact", "mutability", "returned", "uniqueness", "canonicalValues"}
	customTypes       = []string{"string", "boolean", "decimal", "integer", "dateTime", "binary", "reference"}
	returnedValues    = []string{"always", "never", "default", "request"}
	uniquenessValues  = []Uniqueness{UniquenessNone, UniquenessServer, UniquenessGlobal}
)

// customSchemas reads the file's own extension schemas (RFC 7643 §3.3, §7):
//
//	schemas:
//	  - id: urn:example:params:scim:schemas:extension:acme:2.0:User
//	    name: AcmeUser
//	    alias: acme                 # its name in expressions
//	    attributes:
//	      costCode: {type: string}
//	      badges:   {type: string, multiValued: true}
func (l *loader) customSchemas(n *node) {
	if n.Kind != seqNode {
		l.errorf(n, "schemas must be a list of extension schemas (id, name, attributes)")
		return
	}
	for _, sn := range n.Values {
		if !l.fields(sn, "schema", customSchemaKeys...) {
			continue
		}
		sc := &SchemaDef{ID: l.str(sn.get("id"), "schema id"), Name: l.str(sn.get("name"), "schema name"),
			Description: l.str(sn.get("description"), "schema description")}
		switch {
		case sc.ID == "":
			l.errorf(sn, "a schema needs an id, a URN such as urn:example:params:scim:schemas:extension:acme:2.0:User")
			continue
		case !schemaURNRe.MatchString(sc.ID):
			l.errorf(sn.get("id"), "schema id %q is not a URN", sc.ID)
			continue
		case l.schemas[sc.ID] != nil:
			l.errorf(sn.get("id"), "schema %s is already defined", sc.ID)
			continue
		}
		if sc.Name == "" {
			sc.Name = sc.ID[strings.LastIndex(sc.ID, ":")+1:]
		}
		if sc.Description == "" {
			sc.Description = sc.Name
		}
		if a := sn.get("alias"); a != nil {
			alias := l.str(a, "schema alias")
			if !aliasRe.MatchString(alias) {
				l.errorf(a, "alias %q must be a plain identifier (letters, digits, _)", alias)
			}
			l.aliases[sc.ID] = alias
		}
		attrs := sn.get("attributes")
		if attrs == nil || attrs.Kind != mapNode {
			l.errorf(orNode(attrs, sn), "schema %s needs attributes: a mapping of names to {type: …}", sc.ID)
			continue
		}
		for i, k := range attrs.Keys {
			if !scimNameRe.MatchString(k.Scalar) {
				l.errorf(k, "%q is not a valid SCIM attribute name (RFC 7643 §2.1: ALPHA *(nameChar))", k.Scalar)
				continue
			}
			v := attrs.Values[i]
			what := sc.Name + "." + k.Scalar
			if !l.fields(v, "attribute "+what, customAttrOptions...) {
				continue
			}
			def := attr(k.Scalar, "string", l.str(v.get("description"), what+".description"))
			if t := v.get("type"); t != nil {
				def.Type = oneOf(l, t, what+".type", customTypes...)
			}
			for key, dst := range map[string]*bool{"multiValued": &def.MultiValued, "required": &def.Required, "caseExact": &def.CaseExact} {
				if b := v.get(key); b != nil {
					*dst = l.boolean(b, what+"."+key)
				}
			}
			if m := v.get("mutability"); m != nil {
				def.Mutability = oneOf(l, m, what+".mutability", mutabilities...)
			}
			if r := v.get("returned"); r != nil {
				def.Returned = oneOf(l, r, what+".returned", returnedValues...)
			}
			if u := v.get("uniqueness"); u != nil {
				def.Uniqueness = oneOf(l, u, what+".uniqueness", uniquenessValues...)
			}
			def.CanonicalValues = l.strList(v.get("canonicalValues"), what+".canonicalValues")
			sc.Attributes = append(sc.Attributes, def)
		}
		l.schemas[sc.ID] = sc
	}
}
