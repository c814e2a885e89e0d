package filterxlate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Input limits. Parsing never recurses deeper than MaxDepth, so hostile input
// cannot exhaust the stack; longer or deeper input yields an *Error.
const (
	// MaxFilterLength is the longest filter or PATCH path accepted, in bytes.
	MaxFilterLength = 4096
	// MaxDepth is the deepest nesting of "(…)", "not (…)" and "[…]" accepted.
	MaxDepth = 32
)

// Error is a syntax error from Parse or ParsePath, or a translation error from
// Translate (unknown attribute, wrong value type, unsupported operator). The
// gateway answers it with HTTP 400 and the scimType given by ScimType (RFC 7644
// §3.12).
//
// Error() reads like:
//
//	invalid filter at offset 9 near "eqq": expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)
type Error struct {
	Offset int    // 0-based byte offset in the filter or path
	Token  string // the text found at Offset ("" at end of input)
	Msg    string // what was wrong / expected
	// PatchPath is true for errors from ParsePath (scimType invalidPath).
	PatchPath bool
	// Err is the underlying cause, e.g. the Resolver's error for an unknown
	// attribute; nil for syntax errors.
	Err error
}

// Error formats the error as `invalid filter|path at offset N [near "tok"]: msg`.
func (e *Error) Error() string {
	kind := "filter"
	if e.PatchPath {
		kind = "path"
	}
	if e.Token == "" {
		return fmt.Sprintf("invalid %s at offset %d: %s", kind, e.Offset, e.Msg)
	}
	return fmt.Sprintf("invalid %s at offset %d near %q: %s", kind, e.Offset, e.Token, e.Msg)
}

// Unwrap returns the underlying cause (see Err).
func (e *Error) Unwrap() error { return e.Err }

// ScimType is the RFC 7644 §3.12 error type: scimerr.InvalidPath for PATCH
// paths, otherwise scimerr.InvalidFilter.
func (e *Error) ScimType() scimerr.Type {
	if e.PatchPath {
		return scimerr.InvalidPath
	}
	return scimerr.InvalidFilter
}

// Parse parses a SCIM filter (RFC 7644 §3.4.2.2), e.g.
//
//	userType eq "Employee" and emails[type eq "work" and value co "@example.com"]
//
// Operators, "and"/"or"/"not" and true/false/null are case-insensitive;
// precedence is not > and > or, with parentheses for grouping; "not" requires
// parentheses as in the ABNF. String values are decoded with JSON rules. The
// Entra ID form `emails[type eq "work"].value eq "x"` is accepted (see
// ValuePath). Errors are *Error; input over MaxFilterLength bytes, nested
// deeper than MaxDepth, or not valid UTF-8 is rejected, and so is a string
// value holding U+0000 (the error names the attribute, e.g. "emails.value":
// slapd would cut the value there and match more than was asked). Parse never
// panics.
func Parse(s string) (Expr, error) {
	p := &parser{s: s}
	if err := p.checkInput("filter"); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errHere("empty filter")
	}
	e, err := p.parseOr(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errHere(`expected "and", "or" or end of filter`)
	}
	return e, nil
}

// ParsePath parses a PATCH operation path (RFC 7644 §3.5.2):
//
//	attrPath | valuePath [ "." subAttr ]
//
// e.g. `members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName`.
// The filter inside the brackets follows Parse's rules (U+0000 in a value
// included). Errors are *Error with PatchPath set (scimType invalidPath).
//
// A path naming a whole extension schema ("urn:…:enterprise:2.0:User") parses
// as URN "urn:…:enterprise:2.0", Name "User"; the caller recognises it by
// comparing Attr.String() with its schema URNs.
func ParsePath(s string) (Path, error) {
	p := &parser{s: s, patch: true}
	if err := p.checkInput("path"); err != nil {
		return Path{}, err
	}
	p.skipSpace()
	start := p.pos
	if p.eof() {
		return Path{}, p.errHere("empty path")
	}
	if !isWordStart(p.s[p.pos]) {
		return Path{}, p.errHere("expected an attribute path")
	}
	attr, err := p.makePath(p.readWord(), start)
	if err != nil {
		return Path{}, err
	}
	out := Path{Attr: attr}
	if p.peekByte('[') {
		if attr.Sub != "" {
			return Path{}, p.errAt(start, attr.String(), "a [filter] must follow a multi-valued attribute, not a sub-attribute")
		}
		f, err := p.parseBracket(attr)
		if err != nil {
			return Path{}, err
		}
		out.Filter = f
		if p.peekByte('.') {
			p.pos++
			sub, err := p.readSubAttr()
			if err != nil {
				return Path{}, err
			}
			out.Sub = sub
		}
	}
	p.skipSpace()
	if !p.eof() {
		return Path{}, p.errHere("unexpected text after the path")
	}
	return out, nil
}

type parser struct {
	s     string
	pos   int
	depth int
	patch bool // ParsePath: errors carry PatchPath
	// outer is the multi-valued attribute whose [filter] is being parsed, so
	// that errors name "emails.value" rather than the bare "value".
	outer *AttrPath
}

func (p *parser) checkInput(what string) error {
	if len(p.s) > MaxFilterLength {
		return p.errAt(MaxFilterLength, "", fmt.Sprintf("%s is longer than the maximum of %d bytes", what, MaxFilterLength))
	}
	if !utf8.ValidString(p.s) {
		for i := 0; i < len(p.s); {
			r, n := utf8.DecodeRuneInString(p.s[i:])
			if r == utf8.RuneError && n == 1 {
				return p.errAt(i, "", what+" is not valid UTF-8")
			}
			i += n
		}
	}
	return nil
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peekByte reports whether the next byte (no whitespace skipped) is c.
func (p *parser) peekByte(c byte) bool { return p.pos < len(p.s) && p.s[p.pos] == c }

// Words: attribute paths, operators and keywords share one lexical class so
// that "eqq" or "and.x" are reported whole instead of being split.
func isWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '$'
}

func isWordByte(c byte) bool {
	return isWordStart(c) || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
}

func (p *parser) readWord() string {
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// peekKeyword consumes the keyword kw (case-insensitive, whole word) after
// optional whitespace, or consumes nothing.
func (p *parser) peekKeyword(kw string) bool {
	save := p.pos
	p.skipSpace()
	if w := p.readWord(); strings.EqualFold(w, kw) {
		return true
	}
	p.pos = save
	return false
}

// parseOr: orExpr = andExpr *( "or" andExpr ).
func (p *parser) parseOr(inBracket bool) (Expr, error) {
	return p.parseChain(inBracket, Or, p.parseAnd)
}

// parseAnd: andExpr = unary *( "and" unary ).
func (p *parser) parseAnd(inBracket bool) (Expr, error) {
	return p.parseChain(inBracket, And, p.parseUnary)
}

// parseChain parses operand *( op operand ), joined left-associatively.
func (p *parser) parseChain(inBracket bool, op LogicalOp, operand func(bool) (Expr, error)) (Expr, error) {
	left, err := operand(inBracket)
	if err != nil {
		return nil, err
	}
	for p.peekKeyword(string(op)) {
		right, err := operand(inBracket)
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: op, Left: left, Right: right}
	}
	return left, nil
}

// parseUnary: "(" orExpr ")" | "not" "(" orExpr ")" | attrExp | valuePath.
func (p *parser) parseUnary(inBracket bool) (Expr, error) {
	p.skipSpace()
	start := p.pos
	if p.eof() {
		return nil, p.errHere(`unexpected end of filter: expected an attribute path, "not" or "("`)
	}
	c := p.s[p.pos]
	if c == '(' {
		return p.parseGroup(inBracket)
	}
	if !isWordStart(c) {
		return nil, p.errHere(`expected an attribute path, "not" or "("`)
	}
	word := p.readWord()
	if strings.EqualFold(word, "not") {
		afterWord := p.pos
		p.skipSpace()
		if p.peekByte('(') {
			x, err := p.parseGroup(inBracket)
			if err != nil {
				return nil, err
			}
			return &Not{X: x}, nil
		}
		// An attribute may be called "not": accept it when an operator or
		// "[" follows, otherwise explain the RFC's parentheses rule.
		next := p.pos
		_, isOp := opByName[strings.ToLower(p.readWord())]
		p.pos = next
		if !isOp && !p.peekByte('[') {
			return nil, p.errHere(`expected "(" after "not" (RFC 7644 requires parentheses: not (filter))`)
		}
		p.pos = afterWord
	}
	path, err := p.makePath(word, start)
	if err != nil {
		return nil, err
	}
	afterPath := p.pos
	p.skipSpace()
	if !p.peekByte('[') {
		p.pos = afterPath
		return p.parseCompareTail(path, start)
	}
	if inBracket {
		return nil, p.errHere("value filters cannot be nested")
	}
	if path.Sub != "" {
		return nil, p.errAt(start, word, "a [filter] must follow a multi-valued attribute, not a sub-attribute")
	}
	f, err := p.parseBracket(path)
	if err != nil {
		return nil, err
	}
	vp := &ValuePath{Path: path, Filter: f, Offset: start}
	if p.peekByte('.') {
		// Entra ID form: emails[type eq "work"].value eq "x".
		p.pos++
		subStart := p.pos
		sub, err := p.readSubAttr()
		if err != nil {
			return nil, err
		}
		p.outer = &path
		cmp, err := p.parseCompareTail(AttrPath{Name: sub}, subStart)
		p.outer = nil
		if err != nil {
			return nil, err
		}
		vp.Filter = &Logical{Op: And, Left: f, Right: cmp}
	}
	return vp, nil
}

// parseGroup parses "(" orExpr ")" with the cursor on "(".
func (p *parser) parseGroup(inBracket bool) (Expr, error) {
	return p.parseEnclosed(')', inBracket)
}

// parseBracket parses "[" valFilter "]" with the cursor on "[" (the value
// filter of the multi-valued attribute outer).
func (p *parser) parseBracket(outer AttrPath) (Expr, error) {
	p.outer = &outer
	defer func() { p.outer = nil }()
	return p.parseEnclosed(']', true)
}

// parseEnclosed parses orExpr and the closing byte, with the cursor on the
// opening one; each level of nesting counts toward the parser's depth limit.
func (p *parser) parseEnclosed(closing byte, inBracket bool) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++
	e, err := p.parseOr(inBracket)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.peekByte(closing) {
		return nil, p.errHere(`expected "and", "or" or "` + string(closing) + `"`)
	}
	p.pos++
	p.depth--
	return e, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errHere(fmt.Sprintf("nesting exceeds the maximum depth of %d", MaxDepth))
	}
	return nil
}

// readSubAttr reads the ATTRNAME after a "].".
func (p *parser) readSubAttr() (string, error) {
	start := p.pos
	w := p.readWord()
	if w == "" {
		return "", p.errHere("expected a sub-attribute name after \".\"")
	}
	if !validAttrName(w) {
		return "", p.errAt(start, w, "invalid sub-attribute name")
	}
	return w, nil
}

// parseCompareTail parses the operator and value of an attrExp.
func (p *parser) parseCompareTail(path AttrPath, start int) (Expr, error) {
	p.skipSpace()
	opStart := p.pos
	w := p.readWord()
	op, ok := opByName[strings.ToLower(w)]
	if !ok {
		p.pos = opStart
		return nil, p.errHere("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)")
	}
	if op == Pr {
		return &Compare{Path: path, Op: Pr, Offset: start}, nil
	}
	p.skipSpace()
	valStart := p.pos
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && strings.IndexByte(s, 0) >= 0 {
		// slapd cuts a substring assertion value at U+0000: `co "\u0000"`
		// became (a=**), which every entry having a matches. The gateway
		// never writes U+0000 either (mapping.LDAPValues), so no stored value
		// could match such a filter.
		name := path
		if p.outer != nil {
			name = AttrPath{URN: p.outer.URN, Name: p.outer.Name, Sub: path.Name}
		}
		return nil, p.errAt(valStart, p.tokenAt(valStart), fmt.Sprintf("the value for %q contains U+0000 (NUL), which is not allowed in values the directory compares or stores", name.String()))
	}
	return &Compare{Path: path, Op: op, Value: v, Offset: start}, nil
}

const expectValue = "expected a value (a JSON string, number, true, false or null)"

// parseValue: compValue = false / null / true / number / string (JSON).
func (p *parser) parseValue() (any, error) {
	if p.eof() {
		return nil, p.errHere("unexpected end of filter: " + expectValue)
	}
	c := p.s[p.pos]
	switch {
	case c == '"':
		return p.parseString()
	case c == '-' || '0' <= c && c <= '9':
		return p.parseNumber()
	case isWordStart(c):
		start := p.pos
		w := p.readWord()
		switch strings.ToLower(w) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		p.pos = start
	}
	return nil, p.errHere(expectValue)
}

// parseNumber validates a JSON number (RFC 8259 §6) and keeps its text.
func (p *parser) parseNumber() (any, error) {
	start := p.pos
	for p.pos < len(p.s) && strings.IndexByte("0123456789+-.eE", p.s[p.pos]) >= 0 {
		p.pos++
	}
	lit := p.s[start:p.pos]
	if !validJSONNumber(lit) {
		return nil, p.errAt(start, lit, "invalid number (JSON syntax expected, e.g. 12, -3.5, 1e3)")
	}
	return json.Number(lit), nil
}

func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// parseString decodes a JSON string (RFC 8259 §7) starting at '"'. Lone
// surrogates decode to U+FFFD, as encoding/json does.
func (p *parser) parseString() (any, error) {
	start := p.pos
	p.pos++
	// Fast path: no escapes.
	for i := p.pos; i < len(p.s); i++ {
		c := p.s[i]
		if c == '"' {
			v := p.s[p.pos:i]
			p.pos = i + 1
			return v, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var b strings.Builder
	for {
		if p.eof() {
			return nil, p.errAt(start, p.tokenAt(start), "unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return nil, p.errHere("control characters in strings must be escaped")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		esc := p.pos
		if esc+1 >= len(p.s) {
			return nil, p.errAt(start, p.tokenAt(start), "unterminated string")
		}
		p.pos += 2
		switch p.s[esc+1] {
		case '"':
			b.WriteByte('"')
		case '\\':
			b.WriteByte('\\')
		case '/':
			b.WriteByte('/')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, p.errAt(esc, p.s[esc:min(esc+6, len(p.s))], `invalid \u escape (4 hex digits expected)`)
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.pos+1 < len(p.s) && p.s[p.pos] == '\\' && p.s[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					if lo, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							p.pos = save // not a pair: decode the second escape on its own
						}
					} else {
						p.pos = save
					}
				}
				r = r2
			}
			b.WriteRune(r)
		default:
			_, n := utf8.DecodeRuneInString(p.s[esc+1:])
			return nil, p.errAt(esc, p.s[esc:esc+1+n], `invalid escape (expected \" \\ \/ \b \f \n \r \t or \uXXXX)`)
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.pos:p.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

// makePath splits a word into an AttrPath: [URN ":"] ATTRNAME ["." ATTRNAME].
func (p *parser) makePath(word string, start int) (AttrPath, error) {
	var ap AttrPath
	rest, restOff := word, start
	if i := strings.LastIndexByte(word, ':'); i >= 0 {
		ap.URN = word[:i]
		rest, restOff = word[i+1:], start+i+1
		if !validURN(ap.URN) {
			return AttrPath{}, p.errAt(start, word, `invalid schema URN prefix (expected "urn:…:attribute")`)
		}
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validAttrName(name) {
		return AttrPath{}, p.errAt(restOff, word, "invalid attribute name")
	}
	if hasSub {
		if strings.Contains(sub, ".") {
			return AttrPath{}, p.errAt(restOff, word, "only one level of sub-attribute is allowed")
		}
		if !validAttrName(sub) {
			return AttrPath{}, p.errAt(restOff, word, "invalid sub-attribute name")
		}
	}
	ap.Name, ap.Sub = name, sub
	return ap, nil
}

// validAttrName: ATTRNAME = ALPHA *(nameChar), plus a leading "$" for "$ref"
// (RFC 7643 §2.1, §7).
func validAttrName(s string) bool {
	if s == "" || !isWordStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validURN accepts "urn:" followed by non-empty ':'-separated segments.
func validURN(s string) bool {
	if len(s) < 5 || !strings.EqualFold(s[:4], "urn:") || strings.Contains(s, "$") {
		return false
	}
	for _, seg := range strings.Split(s, ":") {
		if seg == "" {
			return false
		}
	}
	return true
}

// tokenAt returns a short excerpt of the input at off for error messages.
func (p *parser) tokenAt(off int) string {
	if off >= len(p.s) {
		return ""
	}
	const maxTok = 32
	s := p.s[off:]
	switch c := s[0]; {
	case isWordByte(c):
		n := 0
		for n < len(s) && isWordByte(s[n]) {
			n++
		}
		s = s[:n]
	case c == '"':
		if i := strings.IndexByte(s[1:], '"'); i >= 0 {
			s = s[:i+2]
		}
	default:
		_, n := utf8.DecodeRuneInString(s)
		s = s[:n]
	}
	if len(s) > maxTok {
		n := maxTok
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

func (p *parser) errHere(msg string) *Error { return p.errAt(p.pos, p.tokenAt(p.pos), msg) }

func (p *parser) errAt(off int, tok, msg string) *Error {
	return &Error{Offset: off, Token: tok, Msg: msg, PatchPath: p.patch}
}
