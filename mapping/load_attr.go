package mapping

import (
	"slices"
	"strings"
)

// An attribute's mapping is a set of options, e.g.
//
//	userName: {ldap: uid, uniqueness: server}
//	active:   {accountState: ppolicy}
//	title:    title                # shorthand for {ldap: title}
//
// attrOptions holds one handler per option; loader.attribute reads an
// attribute with them and then checks what spans several options.

// attrOption is one option of an attribute's mapping: its key and the handler
// that reads its value n into the attribute. A handler reports its problems at
// n and is called only when the option is given.
type attrOption struct {
	key  string
	read func(l *loader, s *attrSpec, n *node)
}

// attrSpec is the attribute being read: its mapping so far, the options as
// written (after the shorthand and accountState are expanded) and its key in
// the file, which messages name.
type attrSpec struct {
	rt  *ResourceType
	a   *AttrMap
	v   *node
	key string
}

// attrOptions are the options of an attribute's mapping, in the order the
// "unknown key" message lists them. ldap and accountState have no handler
// here: loader.attribute reads them before the others, since accountState
// stands for other options and nothing is mapped without ldap.
var attrOptions = []attrOption{
	{"ldap", nil},
	{"uniqueness", (*loader).uniquenessOption},
	{"caseExact", (*loader).caseExactOption},
	{"mutability", (*loader).mutabilityOption},
	{"returned", (*loader).returnedOption},
	{"reference", (*loader).referenceOption},
	{"trueValue", (*loader).trueValueOption},
	{"falseValue", (*loader).falseValueOption},
	{"trueWhenAbsent", (*loader).trueWhenAbsentOption},
	{"placeholder", (*loader).placeholderOption},
	{"toLDAP", (*loader).toLDAPOption},
	{"toSCIM", (*loader).toSCIMOption},
	{"accountState", nil},
	{"ordering", (*loader).orderingOption},     // ordering.go
	{"pwdLastSet", (*loader).pwdLastSetOption}, // load_ad.go
}

// attrOptionKeys are the keys of attrOptions.
var attrOptionKeys = func() []string {
	keys := make([]string, len(attrOptions))
	for i, o := range attrOptions {
		keys[i] = o.key
	}
	return keys
}()

// The values of the mapping-level options an attribute's options draw on.
var (
	mappedReturned    = []string{"default", "request"}
	mutabilities      = []Mutability{MutabilityReadWrite, MutabilityReadOnly, MutabilityImmutable, MutabilityWriteOnly}
	mappedUniqueness  = []Uniqueness{UniquenessNone, UniquenessServer} // global cannot be checked
	accountStateNames = []string{"ppolicy", "nsAccountLock", adUserAccountControl}
)

// accountStates are ready-made mappings of active (the `accountState` option).
var accountStates = map[string]struct {
	ldap, falseValue string
}{
	// ppolicy lock (OpenLDAP): a locked account can't bind; only the permanent
	// lock (000001010000Z, slapo-ppolicy(5)) means inactive, a lockout time after
	// failed binds is ppolicy's own and reads as active.
	"ppolicy": {"pwdAccountLockedTime", "000001010000Z"},
	// 389 Directory Server and Red Hat DS account lock.
	"nsAccountLock": {"nsAccountLock", "true"},
}

// attribute reads the options v of the attribute a (declared by key k):
// accountState first, then ldap, which must name the LDAP attribute, then the
// characteristics the schema gives a, each other option given, and the checks
// that span several options. It returns the options as read (accountState
// expanded), or nil when a is not mapped.
func (l *loader) attribute(rt *ResourceType, a *AttrMap, k, v *node) *node {
	s := &attrSpec{rt: rt, a: a, v: v, key: k.Scalar}
	if !l.accountState(s) || !l.ldapOption(s) {
		return nil
	}
	s.schemaDefaults()
	for _, o := range attrOptions {
		if n := s.v.get(o.key); n != nil && o.read != nil {
			o.read(l, s, n)
		}
	}
	if !l.attributeChecks(s, k) {
		return nil
	}
	return s.v
}

// accountState expands `accountState: NAME` on active into the options it
// stands for: ldap, falseValue and trueWhenAbsent (ppolicy, nsAccountLock),
// or the ACCOUNTDISABLE bit of AD's userAccountControl. false: a problem was
// reported and the attribute is not mapped.
func (l *loader) accountState(s *attrSpec) bool {
	as := s.v.get("accountState")
	if as == nil {
		return true
	}
	name := l.str(as, s.key+".accountState")
	st, ok := accountStates[name]
	if !ok && name != adUserAccountControl {
		l.errorf(as, "accountState is %q; want one of: %s", as.Scalar, strings.Join(accountStateNames, ", "))
		return false
	}
	if !strings.EqualFold(s.a.Def.Name, "active") || s.v.get("ldap") != nil {
		l.errorf(as, "accountState applies to active, instead of ldap: it sets ldap, falseValue and trueWhenAbsent")
		return false
	}
	v := s.v
	if name == adUserAccountControl {
		if !s.rt.dialect.IsAD() {
			l.errorf(as, "accountState %s needs directory.flavor: %s", adUserAccountControl, FlavorActiveDirectory)
			return false
		}
		s.a.FalseBits, s.a.BaseBits = UACAccountDisable, UACNormalAccount
		s.v = &node{Line: v.Line, Col: v.Col, Kind: mapNode, Keys: []*node{{Scalar: "ldap"}}, Values: []*node{{Scalar: "userAccountControl"}}}
		return true
	}
	s.v = &node{Line: v.Line, Col: v.Col, Kind: mapNode,
		Keys:   []*node{{Scalar: "ldap"}, {Scalar: "falseValue"}, {Scalar: "trueWhenAbsent"}},
		Values: []*node{{Scalar: st.ldap}, {Scalar: st.falseValue}, {Scalar: "true"}}}
	return true
}

// ldapOption reads the required ldap option: the LDAP attribute that stores
// the SCIM attribute. false: it is missing or empty, and nothing is mapped.
func (l *loader) ldapOption(s *attrSpec) bool {
	n := s.v.get("ldap")
	if n == nil {
		l.errorf(s.v, "attribute %s needs ldap: the LDAP attribute that stores it", s.key)
		return false
	}
	if s.a.LDAP = l.str(n, s.key+".ldap"); s.a.LDAP == "" {
		return false
	}
	if !ldapAttrName.MatchString(s.a.LDAP) {
		l.errorf(n, "%q is not a valid LDAP attribute name", s.a.LDAP)
	}
	return true
}

// schemaDefaults gives the attribute what the options it lacks mean: the
// characteristics its schema defines (a schema's readOnly or immutable
// sub-attribute stays so), TRUE and FALSE for booleans, and SCIM's password
// (RFC 7643 §4.1.1) as the one that is never read.
func (s *attrSpec) schemaDefaults() {
	a := s.a
	def := a.Def
	if a.Sub != nil {
		def = a.Sub
	}
	a.CaseExact, a.Uniqueness, a.Mutability = def.CaseExact, def.Uniqueness, a.Def.Mutability
	if def.Mutability == MutabilityReadOnly || def.Mutability == MutabilityImmutable {
		a.Mutability = def.Mutability
	}
	a.Returned = a.Def.Returned
	if a.Sub != nil && (a.Sub.Returned == "never" || a.Sub.Returned == "always") {
		a.Returned = a.Sub.Returned
	}
	a.TrueValue, a.FalseValue = "TRUE", "FALSE"
	a.Password = strings.EqualFold(a.Def.Name, "password") && a.SchemaURN == UserSchema
}

func (l *loader) uniquenessOption(s *attrSpec, n *node) {
	s.a.Uniqueness = oneOf(l, n, s.key+".uniqueness", mappedUniqueness...)
}

func (l *loader) caseExactOption(s *attrSpec, n *node) {
	s.a.CaseExact = l.boolean(n, s.key+".caseExact")
}

func (l *loader) mutabilityOption(s *attrSpec, n *node) {
	s.a.Mutability = oneOf(l, n, s.key+".mutability", mutabilities...)
}

// returnedOption narrows an attribute the schema returns by default to one
// returned only when a request names it (RFC 7643 §7 "request"), e.g. a user's
// groups, which neither Entra ID nor Okta reads and which costs a list page one
// memberOf value per membership. "always" and "never" stay the schema's to say.
func (l *loader) returnedOption(s *attrSpec, n *node) {
	r := oneOf(l, n, s.key+".returned", mappedReturned...)
	switch {
	case !slices.Contains(mappedReturned, r):
		// named by oneOf
	case s.a.Returned != "default" && s.a.Returned != "request":
		l.errorf(n, "%s is returned %q by its schema; returned: can only choose between default and request", s.key, s.a.Returned)
	default:
		s.a.Returned = r
	}
}

// referenceOption reads the resource types whose ids the attribute holds (its
// values are stored as their entries' DNs); only a value sub-attribute holds ids.
func (l *loader) referenceOption(s *attrSpec, n *node) {
	s.a.RefTypes = l.strList(n, s.key+".reference")
	if s.a.Sub == nil || !strings.EqualFold(s.a.Sub.Name, "value") {
		l.errorf(n, "reference applies to an attribute whose value is an id (manager, members); %s is not one", s.key)
	}
}

func (l *loader) trueValueOption(s *attrSpec, n *node) {
	s.a.TrueValue = l.str(n, s.key+".trueValue")
}

func (l *loader) falseValueOption(s *attrSpec, n *node) {
	s.a.FalseValue = l.str(n, s.key+".falseValue")
}

// trueWhenAbsentOption reads trueWhenAbsent, which stores true as no value:
// then there is no trueValue, and falseValue is required.
func (l *loader) trueWhenAbsentOption(s *attrSpec, n *node) {
	s.a.TrueWhenAbsent = l.boolean(n, s.key+".trueWhenAbsent")
	if s.a.TrueWhenAbsent && s.v.get("trueValue") != nil {
		l.errorf(n, "%s: trueWhenAbsent and trueValue exclude each other", s.key)
	}
	if s.a.TrueWhenAbsent && s.v.get("falseValue") == nil {
		l.errorf(n, "%s: trueWhenAbsent needs falseValue, the LDAP value that means false (e.g. 000001010000Z for pwdAccountLockedTime)", s.key)
	}
}

// placeholderOption reads the value kept in a multi-valued attribute the
// directory requires to be non-empty (null means the empty value).
func (l *loader) placeholderOption(s *attrSpec, n *node) {
	val := ""
	if n.Kind != nullNode {
		val = l.str(n, s.key+".placeholder")
	}
	s.a.Placeholder = &val
	if !s.a.Def.MultiValued {
		l.errorf(n, "placeholder applies to multi-valued attributes; %s is single-valued", s.key)
	}
}

func (l *loader) toLDAPOption(s *attrSpec, n *node) {
	s.a.ToLDAP = l.expr(n, s.rt, s.key+".toLDAP")
}

func (l *loader) toSCIMOption(s *attrSpec, n *node) {
	s.a.ToSCIM = l.expr(n, s.rt, s.key+".toSCIM")
}

// attributeChecks reports what spans several options: boolean options on
// another type, a boolean's two values, AD's password attribute, and a complex
// attribute mapped whole. false: the attribute is not mapped.
func (l *loader) attributeChecks(s *attrSpec, k *node) bool {
	a, v := s.a, s.v
	if (v.get("trueValue") != nil || v.get("falseValue") != nil || v.get("trueWhenAbsent") != nil) && a.Type() != "boolean" {
		l.errorf(v, "trueValue/falseValue/trueWhenAbsent apply to boolean attributes; %s is %s", s.key, a.Type())
	}
	// With trueWhenAbsent, true is no value: trueValue is never written (nsAccountLock's "true" is its falseValue).
	if a.Type() == "boolean" && (a.FalseValue == "" || (!a.TrueWhenAbsent && (a.TrueValue == "" || strings.EqualFold(a.TrueValue, a.FalseValue)))) {
		l.errorf(v, "%s: trueValue and falseValue must be two different, non-empty LDAP values", s.key)
	}
	l.adPasswordStore(s) // load_ad.go
	if a.Def.Type == "complex" && a.Sub == nil {
		l.errorf(k, "%s is complex: map its sub-attributes, e.g. %s.%s", s.key, a.Def.Name, a.Def.SubAttributes[0].Name)
		return false
	}
	return true
}
