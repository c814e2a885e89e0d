package mapping

import (
	"fmt"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// Ordering rules (RFC 4517 §4.2, RFC 4530 §2.3) named in LDAP sort keys. OpenLDAP
// sorts an attribute only by an ORDERING rule, and the stock schema gives uid,
// cn, sn and mail none, so the gateway always names one.
const (
	CaseIgnoreOrdering      = "caseIgnoreOrderingMatch"
	CaseExactOrdering       = "caseExactOrderingMatch"
	GeneralizedTimeOrdering = "generalizedTimeOrderingMatch"
	IntegerOrdering         = "integerOrderingMatch"
	UUIDOrdering            = "UUIDOrderingMatch"
)

// SortKey is the LDAP side of a SCIM sortBy (RFC 7644 §3.4.2.3): the attribute
// the directory sorts on and the ordering rule it sorts with.
type SortKey struct {
	SCIM         string // the sortBy path as the client wrote it
	LDAP         string
	OrderingRule string
}

// orderingOption reads an attribute's `ordering:` option: the name (or OID) of
// the ordering matching rule sort keys use instead of the one derived from the
// SCIM type (an attrOptions handler).
func (l *loader) orderingOption(s *attrSpec, n *node) {
	s.a.Ordering = l.str(n, s.key+".ordering")
	if s.a.Ordering != "" && !ldapAttrName.MatchString(s.a.Ordering) {
		l.errorf(n, "%s.ordering %q is not a matching rule name or OID (e.g. caseIgnoreOrderingMatch)", s.key, s.a.Ordering)
	}
}

// defaultOrdering is the ordering rule for a mapped attribute's SCIM type:
// string → caseIgnoreOrderingMatch (caseExactOrderingMatch when caseExact),
// dateTime → generalizedTimeOrderingMatch, integer → integerOrderingMatch;
// "" for types LDAP cannot order in general (boolean, binary, reference, decimal).
func defaultOrdering(a *AttrMap) string {
	if a.IsReference() {
		return ""
	}
	switch a.Type() {
	case "string":
		if a.CaseExact {
			return CaseExactOrdering
		}
		return CaseIgnoreOrdering
	case "dateTime":
		return GeneralizedTimeOrdering
	case "integer":
		return IntegerOrdering
	}
	return ""
}

// filterOrdering is the ordering rule gt/ge/lt/le filters use: the mapping's
// `ordering:`, else for strings the one derived from the type (OpenLDAP gives
// uid, cn, sn… no ORDERING rule, so a plain "(uid>=m)" would match nothing).
// Dates and integers compare with their schema's own rule ("").
func filterOrdering(a *AttrMap) string {
	if a.Ordering != "" {
		return a.Ordering
	}
	if a.Type() == "string" && !a.IsReference() {
		return defaultOrdering(a)
	}
	return ""
}

// SortKey resolves a SCIM sortBy attribute (RFC 7644 §3.4.2.3; standard attribute
// notation, §3.10, as ResolvePath reads it: "userName", "name.familyName",
// "emails" meaning emails.value, "meta.lastModified", URN-qualified names) to
// the LDAP attribute and ordering rule to sort on. id sorts by the directory
// id with UUIDOrderingMatch and meta.created/lastModified by the timestamps
// with generalizedTimeOrderingMatch; a mapped attribute uses its `ordering:`
// option, else the rule of its SCIM type.
//
// Errors are *ValueError with scimType invalidValue (RFC 7644 has no sort-specific
// one), naming sortBy: not an attribute path, no attribute of the resource
// type's schemas (ResolvePath's message), not mapped, complex without a
// sub-attribute, stored in several LDAP attributes (phoneNumbers split by
// type), or of a type with no ordering (boolean, binary, references) unless the
// mapping sets `ordering:`.
func (rt *ResourceType) SortKey(sortBy string) (*SortKey, error) {
	bad := func(format string, args ...any) error {
		return invalid("sortBy %q: %s", sortBy, fmt.Sprintf(format, args...))
	}
	p, err := filterxlate.ParsePath(strings.TrimSpace(sortBy))
	if err != nil {
		return nil, bad("not an attribute path: %v", err)
	}
	if p.Filter != nil || p.Sub != "" {
		return nil, bad("a [filter] is not allowed here; name the attribute alone")
	}
	ap := p.Attr
	t, err := rt.ResolvePath(ap.URN, ap.Name, ap.Sub)
	if err != nil {
		return nil, bad("%v", err)
	}
	if attr, rule := rt.operational(t); attr != "" {
		return rt.sortKey(sortBy, attr, rule), nil
	}
	if t.Def == metaDef {
		return nil, bad("only meta.created and meta.lastModified can be sorted on")
	}
	maps := rt.read(t)
	if len(maps) == 0 {
		return nil, bad("the attribute is not mapped to the directory, so it cannot be sorted on")
	}
	def := t.Def
	sub := ""
	switch {
	case t.Sub != nil:
		sub = t.Sub.Name
	case def.Type == "complex" && def.Sub("value") != nil:
		sub = "value" // RFC 7644 §3.4.2.3: emails sorts by emails.value, manager by manager.value
	case def.Type == "complex":
		return nil, bad("%s is complex; sort by one of its sub-attributes, e.g. %s.%s", def.Name, def.Name, maps[0].Sub.Name)
	}
	var hits []*AttrMap
	for _, a := range maps {
		if sub == "" || (a.Sub != nil && strings.EqualFold(a.Sub.Name, sub)) {
			hits = append(hits, a)
		}
	}
	switch {
	case len(hits) == 0:
		return nil, bad("the attribute is not mapped to the directory, so it cannot be sorted on")
	case len(hits) > 1:
		var ldapAttrs []string
		for _, a := range hits {
			ldapAttrs = append(ldapAttrs, a.LDAP)
		}
		return nil, bad("its values are stored in several directory attributes (%s), which the directory cannot sort as one", strings.Join(ldapAttrs, ", "))
	}
	a := hits[0]
	rule := a.Ordering
	if rule == "" {
		rule = defaultOrdering(a)
	}
	if rule == "" {
		what := a.Type()
		if a.IsReference() {
			what = "a reference (stored as a DN)"
		}
		return nil, bad("%s is %s, which has no ordering; the mapping can name one with ordering:", a.Key, what)
	}
	if a.Ordering == "" && !rt.dialect.OrderingRules {
		rule = "" // AD sorts by the attribute's own syntax and knows none of the LDAP rule names
	}
	return &SortKey{SCIM: sortBy, LDAP: a.LDAP, OrderingRule: rule}, nil
}

// sortKey is a key on an operational attribute, with the rule only where the
// dialect names ordering rules.
func (rt *ResourceType) sortKey(sortBy, attr, rule string) *SortKey {
	if !rt.dialect.OrderingRules {
		rule = ""
	}
	return &SortKey{SCIM: sortBy, LDAP: attr, OrderingRule: rule}
}
