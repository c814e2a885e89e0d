package ldapstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Schema is the directory's schema as published in its subschema subentry
// (RFC 4512 §4.2: attributeTypes and objectClasses), reduced to what a mapping
// check needs. Names compare case-insensitively; aliases (cn, commonName) both count.
type Schema struct {
	attrs   map[string]*attributeType
	classes map[string]*objectClass
	rules   map[string]*matchingRule // by lower-cased name and OID (matchingRules)
}

// matchingRule is a MatchingRuleDescription (RFC 4512 §4.1.3) with its
// matchingRuleUse (§4.1.4): the attribute types it applies to, when published.
type matchingRule struct {
	names   []string
	applies []string // lower-cased names or OIDs; nil when no matchingRuleUse was published
}

// attributeType is what an AttributeTypeDescription says of matching: the rules
// it names itself and the supertype it inherits the others from (RFC 4512 §4.1.2).
type attributeType struct {
	names                      []string
	sup                        string
	equality, substr, ordering string
	syntax                     string // OID, without a {length} bound
	singleValue, noUserMod     bool
	obsolete                   bool
	usage                      string // userApplications when empty
}

type objectClass struct {
	sup       []string
	must, may []string
}

// ReadSchema reads the subschema subentry named by the root DSE's
// subschemaSubentry (cn=Subschema on OpenLDAP, CN=Aggregate,… on AD).
func (s *Store) ReadSchema(ctx context.Context) (*Schema, error) {
	root, err := s.Search(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"subschemaSubentry"}, nil))
	if err != nil {
		return nil, fmt.Errorf("reading the root DSE: %w", err)
	}
	dn := "cn=Subschema"
	if len(root.Entries) == 1 && root.Entries[0].GetAttributeValue("subschemaSubentry") != "" {
		dn = root.Entries[0].GetAttributeValue("subschemaSubentry")
	}
	res, err := s.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=subschema)",
		[]string{"attributeTypes", "objectClasses", "matchingRules", "matchingRuleUse"}, nil))
	if err != nil {
		return nil, fmt.Errorf("reading the schema (%s): %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("reading the schema: %s not found", dn)
	}
	sc := ParseSchema(res.Entries[0].GetAttributeValues("attributeTypes"), res.Entries[0].GetAttributeValues("objectClasses"))
	sc.AddMatchingRules(res.Entries[0].GetAttributeValues("matchingRules"), res.Entries[0].GetAttributeValues("matchingRuleUse"))
	return sc, nil
}

// AddMatchingRules records RFC 4512 §4.1.3 MatchingRuleDescription values and
// §4.1.4 MatchingRuleUseDescription values (which attribute types each rule
// applies to).
func (s *Schema) AddMatchingRules(rules, uses []string) {
	if s.rules == nil {
		s.rules = map[string]*matchingRule{}
	}
	oidOf := func(d string) string {
		oid, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "(")), " ")
		return strings.ToLower(oid)
	}
	for _, d := range rules {
		names := schemaFields(d)["NAME"]
		mr := &matchingRule{names: names}
		if oid := oidOf(d); oid != "" {
			s.rules[oid] = mr
		}
		for _, n := range names {
			s.rules[strings.ToLower(n)] = mr
		}
	}
	for _, d := range uses {
		if mr := s.rules[oidOf(d)]; mr != nil {
			mr.applies = []string{}
			for _, a := range schemaFields(d)["APPLIES"] {
				mr.applies = append(mr.applies, strings.ToLower(a))
			}
		}
	}
}

// OrderingProblem tells what is wrong with naming rule as the ordering rule of
// attr, or "" when nothing is: the directory has no such matching rule, it is
// not an ordering rule (RFC 4517 §4.2 names them …OrderingMatch), or its
// matchingRuleUse (RFC 4512 §4.1.4) does not list attr's type. A directory that
// publishes no matching rules (AD) gets "" (nothing can be told).
func (s *Schema) OrderingProblem(rule, attr string) string {
	if len(s.rules) == 0 {
		return ""
	}
	mr := s.rules[strings.ToLower(rule)]
	if mr == nil {
		return fmt.Sprintf("the directory has no matching rule %q (its subschema's matchingRules)", rule)
	}
	if !slices.ContainsFunc(mr.names, func(n string) bool { return strings.HasSuffix(strings.ToLower(n), "orderingmatch") }) {
		return fmt.Sprintf("%q is not an ordering rule (e.g. caseIgnoreOrderingMatch, caseExactOrderingMatch, integerOrderingMatch)", rule)
	}
	attr, _, _ = strings.Cut(attr, ";")
	at := s.attrs[strings.ToLower(attr)]
	if mr.applies == nil || at == nil {
		return ""
	}
	for _, a := range mr.applies {
		if strings.EqualFold(a, attr) || s.attrs[a] == at {
			return ""
		}
	}
	return fmt.Sprintf("the directory's %q does not apply to %s (its matchingRuleUse): sorting and gt/lt filters on it would fail or match nothing", rule, attr)
}

// ParseSchema parses RFC 4512 §4.1 AttributeTypeDescription and
// ObjectClassDescription values; what it cannot read it skips.
func ParseSchema(attributeTypes, objectClasses []string) *Schema {
	s := &Schema{attrs: map[string]*attributeType{}, classes: map[string]*objectClass{}}
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	for _, d := range attributeTypes {
		f := schemaFields(d)
		syntax, _, _ := strings.Cut(first(f["SYNTAX"]), "{")
		at := &attributeType{names: f["NAME"], sup: first(f["SUP"]), equality: first(f["EQUALITY"]), substr: first(f["SUBSTR"]),
			ordering: first(f["ORDERING"]), syntax: syntax, usage: first(f["USAGE"])}
		_, at.singleValue = f["SINGLE-VALUE"]
		_, at.noUserMod = f["NO-USER-MODIFICATION"]
		_, at.obsolete = f["OBSOLETE"]
		for _, n := range f["NAME"] {
			s.attrs[strings.ToLower(n)] = at
		}
	}
	for _, d := range objectClasses {
		f := schemaFields(d)
		oc := &objectClass{sup: f["SUP"], must: f["MUST"], may: f["MAY"]}
		for _, n := range f["NAME"] {
			s.classes[strings.ToLower(n)] = oc
		}
	}
	return s
}

// schemaFields splits a description into its keywords' values: NAME 'a' or
// NAME ( 'a' 'b' ), MUST x or MUST ( x $ y ); a flag (SINGLE-VALUE,
// NO-USER-MODIFICATION, OBSOLETE) is a key with no values.
func schemaFields(d string) map[string][]string {
	var toks []string
	for i := 0; i < len(d); {
		switch c := d[i]; {
		case c == ' ' || c == '$':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(d[i+1:], '\'')
			if j < 0 {
				j = len(d) - i - 1
			}
			toks = append(toks, d[i+1:i+1+j])
			i += j + 2
		default:
			j := strings.IndexAny(d[i:], " ()$'")
			if j < 0 {
				j = len(d) - i
			}
			toks = append(toks, d[i:i+j])
			i += j
		}
	}
	out := map[string][]string{}
	for i := 1; i < len(toks); i++ { // toks[0] is "(", then the OID
		key := toks[i]
		switch key {
		case "NAME", "SUP", "MUST", "MAY", "EQUALITY", "SUBSTR", "ORDERING", "APPLIES", "SYNTAX", "USAGE":
		case "SINGLE-VALUE", "NO-USER-MODIFICATION", "OBSOLETE": // flags without a value
			out[key] = nil
			continue
		default:
			continue
		}
		if i+1 < len(toks) && toks[i+1] == "(" {
			for i += 2; i < len(toks) && toks[i] != ")"; i++ {
				out[key] = append(out[key], toks[i])
			}
		} else if i+1 < len(toks) {
			out[key] = append(out[key], toks[i+1])
			i++
		}
	}
	return out
}

// HasAttribute reports whether the directory defines the attribute type (options
// such as ";binary" ignored).
func (s *Schema) HasAttribute(name string) bool {
	name, _, _ = strings.Cut(name, ";")
	return s.attrs[strings.ToLower(name)] != nil
}

// SubstringRule returns the attribute type's SUBSTR matching rule, its own or
// inherited through SUP (RFC 4512 §4.1.2), and whether the directory publishes
// matching rules (for this type, or matchingRules at all). A published type
// without a SUBSTR rule (slapd's uniqueIdentifier, entryUUID,
// facsimileTelephoneNumber) makes every substring filter on it Undefined (RFC
// 4511 §4.5.1.7): it matches nothing. Active Directory's subschema names no
// matching rules for its types (published is false without matchingRules).
func (s *Schema) SubstringRule(name string) (rule string, published bool) {
	name, _, _ = strings.Cut(name, ";")
	seen := map[*attributeType]bool{}
	at := s.attrs[strings.ToLower(name)]
	published = at != nil && len(s.rules) > 0
	for ; at != nil && !seen[at]; at = s.attrs[strings.ToLower(at.sup)] {
		seen[at] = true
		published = published || at.equality != "" || at.substr != "" || at.ordering != ""
		if at.substr != "" {
			return at.substr, true
		}
	}
	return "", published
}

// HasObjectClass reports whether the directory defines the object class.
func (s *Schema) HasObjectClass(name string) bool { return s.classes[strings.ToLower(name)] != nil }

// Superclasses returns the object class and every class it derives from
// (its SUP chain, RFC 4512 §4.1.1), lower-cased; only the class itself when
// the schema does not define it.
func (s *Schema) Superclasses(class string) []string {
	out := []string{strings.ToLower(class)}
	s.collect(class, func(oc *objectClass) []string {
		for _, sup := range oc.sup {
			out = append(out, strings.ToLower(sup))
		}
		return nil
	})
	return out
}

// Must returns the attributes the object class and its superclasses require.
func (s *Schema) Must(class string) []string {
	return s.collect(class, func(oc *objectClass) []string { return oc.must })
}

// May returns the attributes the object class and its superclasses allow.
func (s *Schema) May(class string) []string {
	return s.collect(class, func(oc *objectClass) []string { return oc.may })
}

func (s *Schema) collect(class string, f func(*objectClass) []string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		key := strings.ToLower(name)
		oc := s.classes[key]
		if oc == nil || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, f(oc)...)
		for _, sup := range oc.sup {
			walk(sup)
		}
	}
	walk(class)
	return out
}

// AttributeType is what the directory's schema says of one attribute type
// (RFC 4512 §4.1.2 AttributeTypeDescription), SYNTAX and SINGLE-VALUE resolved
// through SUP.
type AttributeType struct {
	Name        string // the first NAME, as the directory spells it
	Syntax      string // the LDAP syntax's OID (RFC 4517 §3.3), "" when none is found
	SingleValue bool
	// NoUserModification: only the directory writes it (NO-USER-MODIFICATION).
	NoUserModification bool
	Obsolete           bool
	// Operational: USAGE is directoryOperation, distributedOperation or
	// dSAOperation (RFC 4512 §4.1.2), not userApplications.
	Operational bool
}

// Attribute returns the attribute type named name (options such as ";binary"
// ignored; names and aliases compare case-insensitively), or false when the
// directory does not define it.
func (s *Schema) Attribute(name string) (AttributeType, bool) {
	name, _, _ = strings.Cut(name, ";")
	at := s.attrs[strings.ToLower(name)]
	if at == nil {
		return AttributeType{}, false
	}
	out := AttributeType{Name: name, NoUserModification: at.noUserMod, Obsolete: at.obsolete,
		Operational: at.usage != "" && !strings.EqualFold(at.usage, "userApplications")}
	if len(at.names) > 0 {
		out.Name = at.names[0]
	}
	out.SingleValue = at.singleValue // not inherited (RFC 4512 §4.1.2); the syntax is
	seen := map[*attributeType]bool{}
	for t := at; t != nil && !seen[t] && out.Syntax == ""; t = s.attrs[strings.ToLower(t.sup)] {
		seen[t] = true
		out.Syntax = t.syntax
	}
	return out, true
}
