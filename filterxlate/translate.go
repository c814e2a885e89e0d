package filterxlate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"
)

// LDAP filters for the constants a SCIM filter can fold to.
const (
	// MatchAll is emitted when the whole filter is always true.
	MatchAll = "(objectClass=*)"
	// MatchNone is emitted when the whole filter can never match, e.g. it
	// only compares against a reference id that does not exist, or against a
	// multi-valued sub-attribute value no slot can hold.
	MatchNone = "(!(objectClass=*))"
)

// Translate turns a parsed SCIM filter into one LDAP filter string (RFC 4515),
// e.g. `userName eq "bjensen"` → "(uid=bjensen)".
//
// Operators (every value escaped with ldap.EscapeFilter):
//
//	eq (a=v)   ne (!(a=v))   co (a=*v*)   sw (a=v*)   ew (a=*v)   pr (a=*)
//	ge (a>=v)  le (a<=v)     gt (&(a>=v)(!(a=v)))     lt (&(a<=v)(!(a=v)))
//	(with Target.Ordering R, e.g. for uid on OpenLDAP, see orderingNode:
//	lt (a:R:=v)  le (|(a:R:=v)(a=v))  ge (&(a=*)(!(a:R:=v)))  gt (&(a=*)(!(a:R:=v))(!(a=v))))
//	and (&…)   or (|…)       not (!…)
//
// co/sw/ew with an empty string match every value, so they become (a=*).
// On a String target, co/sw/ew with a value of only spaces (after RFC 4518
// §2.2's mapping: white space to SPACE, control and format characters to
// nothing; see onlySpaces) is an *Error: insignificant space handling
// (RFC 4518 §2.6.1) empties it, and slapd answered `userName ew " "` with
// every entry holding uid. eq, ne and the ordering operators are not affected.
// "eq null" means absent, (!(a=*)), and "ne null" present, (a=*).
//
// Values are encoded per Target.Type (RFC 7643 §2.3):
//   - String: as is; CaseExact eq/ne use (a:caseExactMatch:=v). Other
//     operators on a caseExact attribute use the plain filter, so the
//     directory's own matching rule decides case there.
//   - Boolean: JSON true/false or the strings "true"/"false" (any case), as
//     TrueValue/FalseValue (default "TRUE"/"FALSE"); only eq, ne, pr. With
//     TrueAbsent (a lock attribute) false is exactly FalseValue and true is
//     anything else, absence included: "active eq false" is
//     (pwdAccountLockedTime=000001010000Z), "active eq true" its negation, and
//     pr, "ne null" match every entry ("eq null" none), as a read always has it.
//   - Integer: an integer literal; co/sw/ew are rejected.
//   - DateTime: RFC 3339, converted to UTC generalizedTime
//     "20110513044234Z" (fractional seconds kept: ".123Z"); co/sw/ew rejected.
//   - Binary: base64, each byte escaped as \xx; only eq, ne, pr.
//   - Reference: a SCIM id; only eq, ne, pr. All ids of the whole filter are
//     turned into DNs with a single lookup call (union of the ids and of the
//     targets' RefTypes, both sorted) before the filter is emitted; lookup is
//     not called when the filter has no reference ids. An id that resolves to
//     nothing makes that comparison false (so "eq" matches nothing and "ne"
//     matches every entry having the attribute).
//
// Multi-valued complex attributes (Attribute.Slots) are expanded per slot and
// OR-ed: "emails co x" (no sub-attribute means "value") and "emails.value co x"
// test every slot's Sub["value"]. In "emails[type eq "work" and value co "@x"]"
// the bracket filter is evaluated per slot: comparisons on a slot's Fixed
// sub-attributes are decided at translation time (case-insensitively, SCIM's
// default caseExact=false), others use the slot's Sub targets; a sub-attribute
// a slot neither fixes nor stores is false for that slot, and one no slot knows
// is an unknown-attribute error. A slot whose expression folds to true means
// "the slot has a value": its Sub["value"] present (or any of its Sub targets
// if it has no "value"). A slot expression that could match an entry storing
// none of its attributes (a negation such as ne or not) is AND-ed with that
// presence test, because a value filter only matches existing values:
// "emails.value ne "x"" → (|(&(mail=*)(!(mail=x)))…). "emails.type eq "work""
// alone and "emails pr" thus become presence tests.
//
// Constants are folded and nested and/or flattened, so the output is minimal and
// deterministic; a filter that folds to a constant yields MatchAll or
// MatchNone, never "".
//
// Errors: *Error (scimType invalidFilter) for unknown attributes (Msg is the
// Resolver's message, Err the Resolver's error), values of the wrong type,
// operators the type does not support and substring values of only spaces; the lookup's own error is returned
// wrapped (not an *Error: it is a directory failure, not a client mistake).
func Translate(e Expr, r Resolver, lookup DNLookup) (string, error) {
	if e == nil {
		return "", errors.New("filterxlate: Translate called with a nil filter")
	}
	if r == nil {
		return "", errors.New("filterxlate: Translate called with a nil Resolver")
	}
	t := translator{r: r}
	n, err := t.expr(e)
	if err != nil {
		return "", err
	}
	if len(t.refIDs) > 0 {
		if lookup == nil {
			return "", errors.New("filterxlate: the filter compares references but no DNLookup was given")
		}
		ids := sortedKeys(t.refIDs)
		types := sortedKeys(t.refTypes)
		dns, err := lookup(types, ids)
		if err != nil {
			return "", fmt.Errorf("filterxlate: resolving referenced ids: %w", err)
		}
		n = bindRefs(n, dns)
	}
	return render(n), nil
}

type translator struct {
	r        Resolver
	refIDs   map[string]struct{}
	refTypes map[string]struct{}
}

// node is the intermediate LDAP filter tree; the constructors fold constants.
type node struct {
	kind nodeKind
	text string // leaf: the complete filter "(a=v)"; ref: the LDAP attribute
	id   string // ref: the SCIM id awaiting its DN
	kids []*node
}

type nodeKind uint8

const (
	nFalse nodeKind = iota
	nTrue
	nLeaf
	nRef // (text=DN of id), bound after the lookup
	nAnd
	nOr
	nNot
)

var (
	trueNode  = &node{kind: nTrue}
	falseNode = &node{kind: nFalse}
)

func constNode(b bool) *node {
	if b {
		return trueNode
	}
	return falseNode
}

func leafNode(s string) *node { return &node{kind: nLeaf, text: s} }

func andNode(kids ...*node) *node { return junction(nAnd, kids) }
func orNode(kids ...*node) *node  { return junction(nOr, kids) }

// junction builds a flattened and/or, folding constants: the identity element
// (true for and, false for or) is dropped, the absorbing one wins.
func junction(kind nodeKind, kids []*node) *node {
	identity, absorbing := nTrue, nFalse
	if kind == nOr {
		identity, absorbing = nFalse, nTrue
	}
	out := make([]*node, 0, len(kids))
	for _, k := range kids {
		switch k.kind {
		case identity:
		case absorbing:
			return k
		case kind:
			out = append(out, k.kids...)
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return constNode(identity == nTrue)
	case 1:
		return out[0]
	}
	return &node{kind: kind, kids: out}
}

func notNode(x *node) *node {
	switch x.kind {
	case nTrue:
		return falseNode
	case nFalse:
		return trueNode
	case nNot: // LDAP's three-valued NOT is still an involution
		return x.kids[0]
	}
	return &node{kind: nNot, kids: []*node{x}}
}

// impliesValue reports whether n can only match an entry that stores at least
// one of the attributes it tests: true for positive leaves, false under a
// negation. Used to decide whether a slot filter needs an explicit presence
// test.
func impliesValue(n *node) bool {
	switch n.kind {
	case nLeaf, nRef, nFalse:
		return true
	case nAnd:
		for _, k := range n.kids {
			if impliesValue(k) {
				return true
			}
		}
		return false
	case nOr:
		for _, k := range n.kids {
			if !impliesValue(k) {
				return false
			}
		}
		return true
	}
	return false // nNot, nTrue
}

func bindRefs(n *node, dns map[string]string) *node {
	switch n.kind {
	case nRef:
		dn, ok := dns[n.id]
		if !ok {
			return falseNode
		}
		return leafNode("(" + n.text + "=" + ldap.EscapeFilter(dn) + ")")
	case nAnd, nOr:
		kids := make([]*node, len(n.kids))
		for i, k := range n.kids {
			kids[i] = bindRefs(k, dns)
		}
		return junction(n.kind, kids)
	case nNot:
		return notNode(bindRefs(n.kids[0], dns))
	}
	return n
}

func render(n *node) string {
	switch n.kind {
	case nTrue:
		return MatchAll
	case nFalse:
		return MatchNone
	case nLeaf:
		return n.text
	}
	var b strings.Builder
	renderTo(&b, n)
	return b.String()
}

func renderTo(b *strings.Builder, n *node) {
	switch n.kind {
	case nLeaf:
		b.WriteString(n.text)
		return
	case nTrue: // unreachable after folding; kept total
		b.WriteString(MatchAll)
		return
	case nFalse, nRef:
		b.WriteString(MatchNone)
		return
	case nAnd:
		b.WriteString("(&")
	case nOr:
		b.WriteString("(|")
	case nNot:
		b.WriteString("(!")
	}
	for _, k := range n.kids {
		renderTo(b, k)
	}
	b.WriteByte(')')
}

func (t *translator) expr(e Expr) (*node, error) {
	switch e := e.(type) {
	case *Compare:
		return t.compare(e)
	case *Logical:
		l, err := t.expr(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := t.expr(e.Right)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case And:
			return andNode(l, r), nil
		case Or:
			return orNode(l, r), nil
		}
		return nil, &Error{Msg: fmt.Sprintf("unknown logical operator %q", e.Op)}
	case *Not:
		x, err := t.expr(e.X)
		if err != nil {
			return nil, err
		}
		return notNode(x), nil
	case *ValuePath:
		return t.valuePath(e)
	}
	return nil, &Error{Msg: fmt.Sprintf("unsupported filter node %T", e)}
}

// resolve resolves p. For "a.b" it first asks for the full path (a simple
// attribute such as name.givenName or meta.lastModified) and then for "a"
// alone, which must be a complex attribute with Slots; sub is then "b".
func (t *translator) resolve(p AttrPath, off int) (attr *Attribute, sub string, err error) {
	a, err := t.r.Resolve(p)
	if err == nil && a != nil {
		switch {
		case a.Simple != nil:
			return a, "", nil
		case len(a.Slots) > 0:
			return a, p.Sub, nil
		}
	}
	if p.Sub != "" {
		pa, perr := t.r.Resolve(AttrPath{URN: p.URN, Name: p.Name})
		if perr == nil && pa != nil && len(pa.Slots) > 0 {
			return pa, p.Sub, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("unknown attribute %q", p.String())
	}
	return nil, "", &Error{Offset: off, Token: p.String(), Msg: err.Error(), Err: err}
}

func (t *translator) compare(c *Compare) (*node, error) {
	attr, sub, err := t.resolve(c.Path, c.Offset)
	if err != nil {
		return nil, err
	}
	if attr.Simple != nil {
		return t.leaf(c, attr.Simple, c.Path.String())
	}
	if sub == "" {
		if c.Op == Pr {
			kids := make([]*node, len(attr.Slots))
			for i, s := range attr.Slots {
				kids[i] = slotPresence(s)
			}
			return orNode(kids...), nil
		}
		sub = "value" // RFC 7644 §3.4.2.2: "emails co …" filters on emails.value
	}
	name := AttrPath{URN: c.Path.URN, Name: c.Path.Name, Sub: sub}.String()
	if err := checkSub(attr.Slots, c.Path, sub, c.Offset); err != nil {
		return nil, err
	}
	kids := make([]*node, len(attr.Slots))
	for i, s := range attr.Slots {
		n, err := t.slotCompare(s, sub, c, name)
		if err != nil {
			return nil, err
		}
		kids[i] = slotResult(s, n)
	}
	return orNode(kids...), nil
}

func (t *translator) valuePath(vp *ValuePath) (*node, error) {
	attr, sub, err := t.resolve(vp.Path, vp.Offset)
	if err != nil {
		return nil, err
	}
	if len(attr.Slots) == 0 || sub != "" {
		return nil, &Error{Offset: vp.Offset, Token: vp.Path.String(),
			Msg: fmt.Sprintf("attribute %q is not a multi-valued complex attribute, so it cannot take a [filter]", vp.Path.String())}
	}
	if err := checkValueFilter(vp, attr.Slots, vp.Filter); err != nil {
		return nil, err
	}
	kids := make([]*node, len(attr.Slots))
	for i, s := range attr.Slots {
		n, err := t.slotExpr(vp, s, vp.Filter)
		if err != nil {
			return nil, err
		}
		kids[i] = slotResult(s, n)
	}
	return orNode(kids...), nil
}

// checkValueFilter rejects sub-attributes that no slot knows and shapes a value
// filter cannot have.
func checkValueFilter(vp *ValuePath, slots []Slot, e Expr) error {
	switch e := e.(type) {
	case *Logical:
		if err := checkValueFilter(vp, slots, e.Left); err != nil {
			return err
		}
		return checkValueFilter(vp, slots, e.Right)
	case *Not:
		return checkValueFilter(vp, slots, e.X)
	case *Compare:
		if e.Path.URN != "" || e.Path.Sub != "" {
			return &Error{Offset: e.Offset, Token: e.Path.String(),
				Msg: fmt.Sprintf("inside %s[…] refer to sub-attributes by plain name", vp.Path.String())}
		}
		return checkSub(slots, vp.Path, e.Path.Name, e.Offset)
	case *ValuePath:
		return &Error{Offset: e.Offset, Token: e.Path.String(), Msg: "value filters cannot be nested"}
	}
	return &Error{Offset: vp.Offset, Token: vp.Path.String(), Msg: fmt.Sprintf("unsupported filter node %T", e)}
}

// checkSub reports an *Error unless sub is a sub-attribute some slot maps.
// The schema may well define it (the enterprise manager's displayName, RFC
// 7643 §4.3, is read from the manager's own entry, not stored with the user),
// so the error says it is not mapped and lists what is.
func checkSub(slots []Slot, parent AttrPath, sub string, off int) error {
	k := strings.ToLower(sub)
	seen := map[string]bool{}
	var mapped []string
	for _, s := range slots {
		if _, ok := s.Fixed[k]; ok {
			return nil
		}
		if _, ok := s.Sub[k]; ok {
			return nil
		}
		for f := range s.Fixed {
			seen[f] = true
		}
		for f := range s.Sub {
			seen[f] = true
		}
	}
	for f := range seen {
		mapped = append(mapped, f)
	}
	sort.Strings(mapped)
	name := AttrPath{URN: parent.URN, Name: parent.Name, Sub: sub}.String()
	return &Error{Offset: off, Token: name, Msg: fmt.Sprintf("%q is not mapped to the directory (mapped sub-attributes of %s: %s)",
		name, parent.Name, strings.Join(mapped, ", "))}
}

func (t *translator) slotExpr(vp *ValuePath, s Slot, e Expr) (*node, error) {
	switch e := e.(type) {
	case *Logical:
		l, err := t.slotExpr(vp, s, e.Left)
		if err != nil {
			return nil, err
		}
		r, err := t.slotExpr(vp, s, e.Right)
		if err != nil {
			return nil, err
		}
		if e.Op == Or {
			return orNode(l, r), nil
		}
		return andNode(l, r), nil
	case *Not:
		x, err := t.slotExpr(vp, s, e.X)
		if err != nil {
			return nil, err
		}
		return notNode(x), nil
	case *Compare:
		name := AttrPath{URN: vp.Path.URN, Name: vp.Path.Name, Sub: e.Path.Name}.String()
		return t.slotCompare(s, e.Path.Name, e, name)
	}
	return nil, &Error{Offset: vp.Offset, Token: vp.Path.String(), Msg: fmt.Sprintf("unsupported filter node %T", e)}
}

// slotCompare evaluates one comparison on sub-attribute sub of one slot.
func (t *translator) slotCompare(s Slot, sub string, c *Compare, name string) (*node, error) {
	k := strings.ToLower(sub)
	if v, ok := s.Fixed[k]; ok {
		b, err := fixedMatch(c, v, name)
		if err != nil {
			return nil, err
		}
		return constNode(b), nil
	}
	if tgt, ok := s.Sub[k]; ok {
		return t.leaf(c, &tgt, name)
	}
	return falseNode, nil // this slot cannot hold that sub-attribute
}

// slotResult turns a slot's folded expression into the slot's filter.
func slotResult(s Slot, n *node) *node {
	switch {
	case n.kind == nTrue:
		return slotPresence(s)
	case !impliesValue(n):
		return andNode(slotPresence(s), n)
	}
	return n
}

// slotPresence is "this slot has a value": Sub["value"] present, else any of
// its Sub targets (sorted, for determinism); false if it stores nothing.
func slotPresence(s Slot) *node {
	if v, ok := s.Sub["value"]; ok {
		return has(v)
	}
	keys := make([]string, 0, len(s.Sub))
	for k := range s.Sub {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kids := make([]*node, len(keys))
	for i, k := range keys {
		kids[i] = has(s.Sub[k])
	}
	return orNode(kids...)
}

func presence(attr string) *node { return leafNode("(" + attr + "=*)") }

// has is "the target holds a value": presence, except that a placeholder value
// (groupOfNames' empty member) does not count.
func has(t Target) *node {
	if t.Placeholder == nil {
		return presence(t.LDAPAttr)
	}
	return andNode(presence(t.LDAPAttr), notNode(leafNode("("+t.LDAPAttr+"="+ldap.EscapeFilter(*t.Placeholder)+")")))
}

// fixedMatch decides a comparison against a slot's constant sub-attribute
// value, case-insensitively.
func fixedMatch(c *Compare, fixed, name string) (bool, error) {
	if c.Op == Pr {
		return fixed != "", nil
	}
	if c.Value == nil {
		switch c.Op {
		case Eq:
			return false, nil
		case Ne:
			return true, nil
		}
		return false, typeErr(c, name, "null can only be compared with eq or ne")
	}
	v, ok := scalarText(c.Value)
	if !ok {
		return false, typeErr(c, name, "unsupported value")
	}
	f, v := strings.ToLower(fixed), strings.ToLower(v)
	switch c.Op {
	case Eq:
		return f == v, nil
	case Ne:
		return f != v, nil
	case Co:
		return strings.Contains(f, v), nil
	case Sw:
		return strings.HasPrefix(f, v), nil
	case Ew:
		return strings.HasSuffix(f, v), nil
	case Gt:
		return f > v, nil
	case Ge:
		return f >= v, nil
	case Lt:
		return f < v, nil
	case Le:
		return f <= v, nil
	}
	return false, typeErr(c, name, fmt.Sprintf("unknown operator %q", c.Op))
}

// scalarText is the text of a string, number or boolean value.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func typeErr(c *Compare, name, msg string) *Error {
	return &Error{Offset: c.Offset, Token: name, Msg: msg}
}

func isSubstring(op Op) bool { return op == Co || op == Sw || op == Ew }

// onlySpaces reports whether s holds nothing but what RFC 4518 §2.2 maps to
// SPACE (U+0020, the other white space and separator characters: tab, line
// ends, U+0085, U+00A0, U+3000…) or to nothing (control and format
// characters such as U+00AD and U+200B, variation selectors, U+034F, U+1806,
// U+FFFC). Insignificant space handling (§2.6.1) then leaves a substring
// assertion of s empty. "" counts as only spaces.
func onlySpaces(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		case unicode.In(r, unicode.Cc, unicode.Cf):
		case r == 0x034F, r == 0x1806, r >= 0x180B && r <= 0x180D, r >= 0xFE00 && r <= 0xFE0F, r == 0xFFFC:
		default:
			return false
		}
	}
	return true
}

// leaf translates a comparison against one LDAP attribute.
func (t *translator) leaf(c *Compare, tgt *Target, name string) (*node, error) {
	a := tgt.LDAPAttr
	if tgt.Type == Boolean && tgt.TrueAbsent && tgt.FalseBits == 0 && (c.Op == Pr || c.Value == nil) {
		// A lock attribute reads true when absent: every entry has a value, so
		// pr and "ne null" match all, "eq null" none.
		switch c.Op {
		case Pr, Ne:
			return trueNode, nil
		case Eq:
			return falseNode, nil
		}
	}
	if c.Op == Pr {
		return has(*tgt), nil
	}
	if _, ok := opByName[string(c.Op)]; !ok {
		return nil, typeErr(c, name, fmt.Sprintf("unknown operator %q", c.Op))
	}
	if c.Value == nil {
		switch c.Op {
		case Eq:
			return notNode(has(*tgt)), nil
		case Ne:
			return has(*tgt), nil
		}
		return nil, typeErr(c, name, "null can only be compared with eq or ne")
	}
	if tgt.EqualityValue != nil {
		return equalityLeaf(c, tgt, name)
	}
	switch tgt.Type {
	case Boolean:
		if c.Op != Eq && c.Op != Ne {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is boolean: only eq, ne and pr are allowed", name))
		}
		b, ok := boolValue(c.Value)
		if !ok {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is boolean: the value must be true or false", name))
		}
		if tgt.FalseBits != 0 { // false = a bit set; AD's bitwise AND matching rule
			set := leafNode("(" + a + ":" + BitAndRule + ":=" + strconv.FormatUint(uint64(tgt.FalseBits), 10) + ")")
			if b == (c.Op == Eq) {
				return notNode(set), nil
			}
			return set, nil
		}
		if tgt.TrueAbsent { // false = exactly FalseValue (the gateway's own lock); true = absent or any other value
			locked := leafNode("(" + a + "=" + ldap.EscapeFilter(tgt.FalseValue) + ")")
			if b == (c.Op == Eq) {
				return notNode(locked), nil
			}
			return locked, nil
		}
		v := tgt.FalseValue
		if b {
			v = tgt.TrueValue
		}
		if v == "" {
			v = "FALSE"
			if b {
				v = "TRUE"
			}
		}
		return cmpNode(a, c.Op, ldap.EscapeFilter(v)), nil
	case Integer:
		if isSubstring(c.Op) {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is an integer: co, sw and ew are not supported", name))
		}
		n, ok := c.Value.(json.Number)
		if !ok || !isIntLiteral(string(n)) {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is an integer: the value must be an integer number", name))
		}
		return cmpNode(a, c.Op, string(n)), nil
	case DateTime:
		if isSubstring(c.Op) {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is a dateTime: co, sw and ew are not supported", name))
		}
		s, ok := c.Value.(string)
		var gt string
		if ok {
			gt, ok = generalizedTime(s)
		}
		if !ok {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is a dateTime: the value must be an RFC 3339 date-time such as \"2011-05-13T04:42:34Z\"", name))
		}
		return cmpNode(a, c.Op, gt), nil
	case Binary:
		if c.Op != Eq && c.Op != Ne {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is binary: only eq, ne and pr are allowed", name))
		}
		s, ok := c.Value.(string)
		var raw []byte
		if ok {
			raw, ok = decodeBase64(s)
		}
		if !ok {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is binary: the value must be base64", name))
		}
		return cmpNode(a, c.Op, escapeBytes(raw)), nil
	case Reference:
		if c.Op != Eq && c.Op != Ne {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is a reference: only eq, ne and pr are allowed", name))
		}
		id, ok := c.Value.(string)
		if n, isNum := c.Value.(json.Number); isNum {
			id, ok = string(n), true
		}
		if !ok || id == "" {
			return nil, typeErr(c, name, fmt.Sprintf("attribute %q is a reference: the value must be a resource id", name))
		}
		t.addRef(id, tgt.RefTypes)
		n := &node{kind: nRef, text: a, id: id}
		if c.Op == Ne {
			return notNode(n), nil
		}
		return n, nil
	}
	// String (and unknown types, treated as strings).
	v, ok := scalarText(c.Value)
	if !ok {
		return nil, typeErr(c, name, "unsupported value")
	}
	if tgt.NoSubstrings && isSubstring(c.Op) && v != "" {
		return nil, typeErr(c, name, fmt.Sprintf("attribute %q cannot be searched with co, sw or ew: the directory has no substring matching rule for %s, so such a filter would match nothing; use eq", name, a))
	}
	if isSubstring(c.Op) && v != "" && onlySpaces(v) {
		return nil, typeErr(c, name, fmt.Sprintf("attribute %q: a co, sw or ew value of only spaces is refused: the directory ignores insignificant spaces in substring assertions (RFC 4518 §2.6.1), so it would match every %s value, not those holding spaces", name, a))
	}
	ev := ldap.EscapeFilter(v)
	if tgt.Ordering != "" && isOrdering(c.Op) {
		eq := leafNode("(" + a + "=" + ev + ")")
		if tgt.CaseExact {
			eq = leafNode("(" + a + ":caseExactMatch:=" + ev + ")")
		}
		return orderingNode(a, tgt.Ordering, c.Op, ev, eq), nil
	}
	if tgt.CaseExact && (c.Op == Eq || c.Op == Ne) {
		n := leafNode("(" + a + ":caseExactMatch:=" + ev + ")")
		if c.Op == Ne {
			return notNode(n), nil
		}
		return n, nil
	}
	return cmpNode(a, c.Op, ev), nil
}

// BitAndRule is AD's LDAP_MATCHING_RULE_BIT_AND (MS-ADTS §3.1.1.3.4.4): (a:rule:=n)
// holds when every bit of n is set in a's value.
const BitAndRule = "1.2.840.113556.1.4.803"

// equalityLeaf translates a comparison with a target that encodes its own
// values (Target.EqualityValue): eq and ne only.
func equalityLeaf(c *Compare, tgt *Target, name string) (*node, error) {
	if c.Op != Eq && c.Op != Ne {
		return nil, typeErr(c, name, fmt.Sprintf("attribute %q can only be compared with eq, ne and pr", name))
	}
	v, ok := scalarText(c.Value)
	if !ok {
		return nil, typeErr(c, name, "unsupported value")
	}
	n := falseNode
	if ev, ok := tgt.EqualityValue(v); ok {
		n = leafNode("(" + tgt.LDAPAttr + "=" + ev + ")")
	}
	if c.Op == Ne {
		return notNode(n), nil
	}
	return n, nil
}

func (t *translator) addRef(id string, types []string) {
	if t.refIDs == nil {
		t.refIDs = map[string]struct{}{}
		t.refTypes = map[string]struct{}{}
	}
	t.refIDs[id] = struct{}{}
	for _, rt := range types {
		t.refTypes[rt] = struct{}{}
	}
}

// cmpNode builds the filter for attribute a, operator op and the already
// escaped value ev.
func cmpNode(a string, op Op, ev string) *node {
	switch op {
	case Ne:
		return notNode(leafNode("(" + a + "=" + ev + ")"))
	case Co, Sw, Ew:
		if ev == "" { // every value contains the empty string; "(a=**)" is invalid
			return presence(a)
		}
		switch op {
		case Co:
			return leafNode("(" + a + "=*" + ev + "*)")
		case Sw:
			return leafNode("(" + a + "=" + ev + "*)")
		}
		return leafNode("(" + a + "=*" + ev + ")")
	case Ge:
		return leafNode("(" + a + ">=" + ev + ")")
	case Le:
		return leafNode("(" + a + "<=" + ev + ")")
	case Gt: // LDAP has no strict ordering match
		return andNode(leafNode("("+a+">="+ev+")"), notNode(leafNode("("+a+"="+ev+")")))
	case Lt:
		return andNode(leafNode("("+a+"<="+ev+")"), notNode(leafNode("("+a+"="+ev+")")))
	}
	return leafNode("(" + a + "=" + ev + ")")
}

func isOrdering(op Op) bool { return op == Gt || op == Ge || op == Lt || op == Le }

// orderingNode compares with an ordering rule through extensible matches
// (RFC 4515 §3): (a:rule:=v) holds when a value is less than v, eq is the
// equality test. Absent attributes never match (the presence test keeps a
// negation from matching them). For a multi-valued attribute gt/ge mean "no
// value is less than v", stricter than SCIM's "some value is greater".
//
//	lt (a:R:=v)   le (|(a:R:=v)(a=v))   ge (&(a=*)(!(a:R:=v)))   gt (&(a=*)(!(a:R:=v))(!(a=v)))
func orderingNode(a, rule string, op Op, ev string, eq *node) *node {
	less := leafNode("(" + a + ":" + rule + ":=" + ev + ")")
	switch op {
	case Lt:
		return less
	case Le:
		return orNode(less, eq)
	case Ge:
		return andNode(presence(a), notNode(less))
	}
	return andNode(presence(a), notNode(less), notNode(eq))
}

func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string: // IdPs send "true"/"false" as strings
		switch {
		case strings.EqualFold(v, "true"):
			return true, true
		case strings.EqualFold(v, "false"):
			return false, true
		}
	}
	return false, false
}

func isIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// generalizedTime converts an RFC 3339 date-time to UTC generalizedTime
// (RFC 4517 §3.3.13), keeping non-zero fractional seconds.
func generalizedTime(s string) (string, bool) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", false
	}
	return tm.UTC().Format("20060102150405.999999999Z"), true
}

func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// escapeBytes escapes every byte as \xx (RFC 4515 §3), which is always valid.
func escapeBytes(raw []byte) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 3*len(raw))
	for _, c := range raw {
		b = append(b, '\\', hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
