// Package filterxlate parses SCIM 2.0 filters (RFC 7644 §3.4.2.2) and PATCH
// paths (RFC 7644 §3.5.2) and translates filters into a single LDAP search
// filter (RFC 4515). Everything here is a pure function: no network, no
// directory; the attribute mapping comes in through Resolver and reference
// ids are turned into DNs through DNLookup.
package filterxlate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Op is a SCIM attribute operator (RFC 7644 §3.4.2.2, table 3). Parse accepts
// any letter case and stores the lower-case form below.
type Op string

// The SCIM attribute operators. Pr (present) takes no value.
const (
	Eq Op = "eq" // equal
	Ne Op = "ne" // not equal
	Co Op = "co" // contains (substring)
	Sw Op = "sw" // starts with
	Ew Op = "ew" // ends with
	Gt Op = "gt" // greater than
	Ge Op = "ge" // greater than or equal
	Lt Op = "lt" // less than
	Le Op = "le" // less than or equal
	Pr Op = "pr" // present (has a value)
)

// opByName maps the lower-case keyword to its Op.
var opByName = map[string]Op{
	"eq": Eq, "ne": Ne, "co": Co, "sw": Sw, "ew": Ew,
	"gt": Gt, "ge": Ge, "lt": Lt, "le": Le, "pr": Pr,
}

// LogicalOp is a SCIM logical operator joining two filters (RFC 7644 §3.4.2.2,
// table 4). "not" is represented by the Not node instead.
type LogicalOp string

// The binary logical operators; And binds tighter than Or.
const (
	And LogicalOp = "and"
	Or  LogicalOp = "or"
)

// AttrPath is an RFC 7644 attrPath: [URN ":"] Name ["." Sub].
//
//   - "userName"                         → {Name: "userName"}
//   - "name.givenName"                   → {Name: "name", Sub: "givenName"}
//   - "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
//     → {URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
//     Name: "manager", Sub: "value"}
//
// The URN is everything before the last ':' (schema URNs contain ':' and '.').
// Names keep the case they were written in; Resolver compares them
// case-insensitively (RFC 7643 §2.1).
type AttrPath struct {
	URN  string
	Name string
	Sub  string
}

// String returns the path in filter syntax, e.g. "urn:…:User:manager.value".
func (p AttrPath) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p AttrPath) write(b *strings.Builder) {
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

// Expr is a node of a parsed SCIM filter: *Compare, *Logical, *Not or
// *ValuePath. String renders it back in canonical filter syntax (lower-case
// keywords, single spaces, JSON-quoted strings, only the parentheses needed to
// keep the tree's shape), so Parse(e.String()) yields the same tree.
type Expr interface {
	String() string
	write(b *strings.Builder)
}

// Compare is an attribute expression (RFC 7644 attrExp): Path Op Value, or
// "Path pr".
//
// Value is one of:
//   - string       a JSON string, already unescaped ("\u00e9" → "é");
//   - json.Number  a JSON number, keeping its literal text ("12" stays "12");
//   - bool         true / false (written in any case);
//   - nil          null (written in any case), or no value for Pr.
//
// Inside a ValuePath's Filter, Path is relative to the multi-valued attribute:
// Path.Name is the sub-attribute name ("type", "value").
type Compare struct {
	Path   AttrPath
	Op     Op
	Value  any
	Offset int // byte offset of Path in the parsed input, for error messages
}

// Logical joins two filters with And or Or. Chains are left-associative:
// "a or b or c" is Or(Or(a, b), c).
type Logical struct {
	Op          LogicalOp
	Left, Right Expr
}

// Not negates X ("not (X)"; RFC 7644 requires the parentheses).
type Not struct {
	X Expr
}

// ValuePath filters the values of a multi-valued complex attribute (RFC 7644
// valuePath), e.g. emails[type eq "work" and value co "@example.org"]. Filter
// refers to sub-attributes by plain name; value paths do not nest.
//
// Parse also accepts the form Microsoft Entra ID sends, which is not in the RFC
// 7644 ABNF: emails[type eq "work"].value eq "x". It is represented as
// ValuePath{Path: emails, Filter: (type eq "work") and (value eq "x")}: the
// trailing sub-attribute comparison moves inside the brackets, which is what
// the IdP means (some *work* email equals "x").
type ValuePath struct {
	Path   AttrPath
	Filter Expr
	Offset int // byte offset of Path in the parsed input, for error messages
}

// Path is a parsed PATCH operation path (RFC 7644 §3.5.2):
//
//	attrPath                     → {Attr}
//	valuePath                    → {Attr, Filter}
//	valuePath "." subAttr        → {Attr, Filter, Sub}
//
// e.g. `addresses[type eq "work"].streetAddress` → Attr {Name: "addresses"},
// Filter `type eq "work"`, Sub "streetAddress". "name.familyName" → Attr
// {Name: "name", Sub: "familyName"}, Filter nil. Attr.Sub is never set together
// with Filter.
type Path struct {
	Attr   AttrPath
	Filter Expr // nil when the path has no [...] filter
	Sub    string
}

// String renders the path in canonical syntax; ParsePath(p.String()) yields p.
func (p Path) String() string {
	var b strings.Builder
	p.Attr.write(&b)
	if p.Filter != nil {
		b.WriteByte('[')
		p.Filter.write(&b)
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// String renders the comparison, e.g. `name.familyName co "O'Malley"`.
func (c *Compare) String() string { return exprString(c) }

// String renders both sides, parenthesising only where precedence requires.
func (l *Logical) String() string { return exprString(l) }

// String renders "not (X)".
func (n *Not) String() string { return exprString(n) }

// String renders the value path, e.g. `emails[type eq "work"]`.
func (v *ValuePath) String() string { return exprString(v) }

func exprString(e Expr) string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (c *Compare) write(b *strings.Builder) {
	c.Path.write(b)
	b.WriteByte(' ')
	b.WriteString(string(c.Op))
	if c.Op != Pr {
		b.WriteByte(' ')
		writeValue(b, c.Value)
	}
}

// precedence orders node kinds for parenthesisation: or < and < everything else.
func precedence(e Expr) int {
	if l, ok := e.(*Logical); ok {
		if l.Op == Or {
			return 1
		}
		return 2
	}
	return 3
}

func (l *Logical) write(b *strings.Builder) {
	p := precedence(l)
	// Left-associative: a left child of equal precedence needs no parentheses,
	// a right one does (otherwise re-parsing would re-associate the tree).
	writeChild(b, l.Left, precedence(l.Left) < p)
	b.WriteByte(' ')
	b.WriteString(string(l.Op))
	b.WriteByte(' ')
	writeChild(b, l.Right, precedence(l.Right) <= p)
}

func writeChild(b *strings.Builder, e Expr, paren bool) {
	if e == nil {
		b.WriteString("<nil>")
		return
	}
	if paren {
		b.WriteByte('(')
	}
	e.write(b)
	if paren {
		b.WriteByte(')')
	}
}

func (n *Not) write(b *strings.Builder) {
	b.WriteString("not (")
	writeChild(b, n.X, false)
	b.WriteByte(')')
}

func (v *ValuePath) write(b *strings.Builder) {
	v.Path.write(b)
	b.WriteByte('[')
	writeChild(b, v.Filter, false)
	b.WriteByte(']')
}

// writeValue renders a comparison value as a JSON literal.
func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeJSONString(b, v)
	case json.Number:
		b.WriteString(string(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		// Only reachable for hand-built trees; keep String total.
		writeJSONString(b, fmt.Sprint(v))
	}
}

// writeJSONString quotes s as a JSON string, escaping only what JSON requires.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
