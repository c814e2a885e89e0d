package ldapstore

import (
	"math"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// This file writes the requests wireconn.go sends as BER bytes (X.690 §8.1)
// appended to one buffer, without go-asn1-ber's packet tree: a userName
// lookup asking for 20 attributes cost go-ldap's packets 10–14 µs and 15 KB of
// garbage (a Packet per field, each child's bytes copied into every enclosing
// packet; BenchmarkEncodeSearch), more than the gateway's whole rendering of a
// user. A filter where go-ldap's encoding is certain (appendFilter) is written here too;
// any other is compiled by go-ldap (ldap.CompileFilter), whose error stands.
// The controls are encoded by their own Encode. TestEncodeSearchMatchesGoLDAP
// and FuzzAppendFilter hold the bytes equal to go-ldap's.

// Identifier octet of a SearchRequest (RFC 4511 §4.5.1): [APPLICATION 3], constructed.
const idSearchRequest = 0x63

// Identifier octet of BOOLEAN (X.690 §8.2).
const idBoolean = 0x01

// appendLength appends a definite length (X.690 §8.1.3): one octet below 128,
// otherwise 0x80|k followed by the k octets of n, most significant first,
// with no leading zero octet (RFC 4511 §5.1: definite form only).
func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	k := lengthSize(n) - 1
	dst = append(dst, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// lengthSize is the number of octets appendLength writes for n.
func lengthSize(n int) int {
	if n < 0x80 {
		return 1
	}
	k := 1
	for ; n > 0; n >>= 8 {
		k++
	}
	return k
}

// appendString appends an element of identifier id whose contents are s
// (OCTET STRING, RFC 4511 §4.1.2's LDAPString and LDAPDN).
func appendString(dst []byte, id byte, s string) []byte {
	dst = appendLength(append(dst, id), len(s))
	return append(dst, s...)
}

// appendInt appends an INTEGER or ENUMERATED of identifier id (X.690 §8.3):
// v in two's complement, in the fewest octets that hold it.
func appendInt(dst []byte, id byte, v int64) []byte {
	n := 1
	for w := v; w > 127 || w < -128; w >>= 8 {
		n++
	}
	dst = append(dst, id, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendBool appends a BOOLEAN: FF for TRUE, as RFC 4511 §5.1 requires, 00
// for FALSE.
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, idBoolean, 1, 0xff)
	}
	return append(dst, idBoolean, 1, 0)
}

// encodeSearchMessage encodes req as the LDAPMessage of message ID id (RFC
// 4511 §4.1.1) holding a SearchRequest (§4.5.1): baseObject, scope,
// derefAliases, sizeLimit, timeLimit, typesOnly, the filter (appendFilter, or
// go-ldap's compilation of req.Filter outside its subset) and the attribute
// selection, then req.Controls. The error is ldap.CompileFilter's for a
// filter it cannot parse.
func encodeSearchMessage(id int64, req *ldap.SearchRequest) ([]byte, error) {
	attrs := 0
	for _, a := range req.Attributes {
		attrs += 1 + lengthSize(len(a)) + len(a)
	}
	body := 1 + lengthSize(len(req.BaseDN)) + len(req.BaseDN) +
		3 + 3 + // scope, derefAliases: one-octet ENUMERATEDs
		2 + 8 + 2 + 8 + // the limits, at most 8 content octets each
		3 + 2*len(req.Filter) + 1 + lengthSize(attrs) + attrs
	buf := make([]byte, 0, body+32)
	buf = appendString(buf, idOctetString, req.BaseDN)
	buf = appendInt(buf, idEnumerated, int64(req.Scope))
	buf = appendInt(buf, idEnumerated, int64(req.DerefAliases))
	buf = appendInt(buf, idInteger, int64(req.SizeLimit))
	buf = appendInt(buf, idInteger, int64(req.TimeLimit))
	buf = appendBool(buf, req.TypesOnly)
	var ok bool
	if buf, ok = appendFilter(buf, req.Filter); !ok {
		f, err := ldap.CompileFilter(req.Filter)
		if err != nil {
			return nil, err
		}
		buf = append(buf, f.Bytes()...)
	}
	buf = appendLength(append(buf, idSequence), attrs)
	for _, a := range req.Attributes {
		buf = appendString(buf, idOctetString, a)
	}
	return frameMessage(id, idSearchRequest, buf, req.Controls), nil
}

// frameMessage wraps the contents of a protocolOp of identifier op in an
// LDAPMessage (RFC 4511 §4.1.1): SEQUENCE { messageID, protocolOp,
// controls [0] OPTIONAL }, each control encoded by its own Encode.
func frameMessage(id int64, op byte, contents []byte, controls []ldap.Control) []byte {
	var ctls []byte
	if len(controls) > 0 {
		var inner []byte
		for _, c := range controls {
			inner = append(inner, c.Encode().Bytes()...)
		}
		ctls = appendLength(append(make([]byte, 0, len(inner)+6), idControls), len(inner))
		ctls = append(ctls, inner...)
	}
	var idBuf [10]byte
	msgID := appendInt(idBuf[:0], idInteger, id)
	n := len(msgID) + 1 + lengthSize(len(contents)) + len(contents) + len(ctls)
	out := make([]byte, 0, 1+lengthSize(n)+n)
	out = appendLength(append(out, idSequence), n)
	out = append(out, msgID...)
	out = appendLength(append(out, op), len(contents))
	out = append(out, contents...)
	return append(out, ctls...)
}

// nextMessageID is the message ID after id: 1, 2… up to 2^31-1, then 1
// again (RFC 4511 §4.1.1's MessageID is 0…maxInt; 0 is the server's).
func nextMessageID(id int64) int64 {
	if id >= math.MaxInt32 {
		return 1
	}
	return id + 1
}

// Identifier octets of the Filter choices (RFC 4511 §4.5.1.7), context-specific.
const (
	idFilterAnd        = 0xa0 // [0] SET OF Filter
	idFilterOr         = 0xa1 // [1] SET OF Filter
	idFilterNot        = 0xa2 // [2] Filter
	idFilterEquality   = 0xa3 // [3] AttributeValueAssertion
	idFilterSubstrings = 0xa4 // [4] SubstringFilter
	idFilterGreater    = 0xa5 // [5] greaterOrEqual
	idFilterLess       = 0xa6 // [6] lessOrEqual
	idFilterPresent    = 0x87 // [7] AttributeDescription, primitive
	idFilterApprox     = 0xa8 // [8] approxMatch
	idFilterExtensible = 0xa9 // [9] MatchingRuleAssertion
	idMatchingRule     = 0x81 // MatchingRuleAssertion's [1] matchingRule
	idMatchType        = 0x82 // [2] type
	idMatchValue       = 0x83 // [3] matchValue
	idSubInitial       = 0x80 // SubstringFilter's substrings: [0] initial
	idSubAny           = 0x81 // [1] any
	idSubFinal         = 0x82 // [2] final
)

// appendFilter appends the BER of the string filter f (RFC 4515) as
// ldap.CompileFilter encodes it, for the part of RFC 4515 where go-ldap's
// encoding is certain, which holds every filter the gateway writes: &, |, !
// over equality, presence, substrings, >=, <= and ~= items and extensible
// matches of the form attr:rule:=value (no dnAttributes), whose attribute
// and rule are letters, digits, '-', '.' and ';' and whose values are ASCII
// with the specials ( ) * \ and NUL escaped as \XX (ldap.EscapeFilter's
// output). It reports false for anything else (the dn and rule-only forms of
// extensible matches, UTF-8 in values, go-ldap's leniencies, errors) and the
// caller then asks go-ldap, whose result or error stands. FuzzAppendFilter
// holds every filter it accepts byte for byte equal to go-ldap's encoding.
func appendFilter(dst []byte, f string) ([]byte, bool) {
	w := filterWriter{s: f, out: dst}
	if !w.filter() || w.i != len(f) {
		return dst, false
	}
	return w.out, true
}

type filterWriter struct {
	s   string
	i   int
	out []byte
}

// open appends the identifier of a constructed element and a one-octet
// length to fill in at close; it returns where the contents start.
func (w *filterWriter) open(id byte) int {
	w.out = append(w.out, id, 0)
	return len(w.out)
}

// close writes the length of the element whose contents start at start,
// moving them to make room when it needs the long form.
func (w *filterWriter) close(start int) {
	n := len(w.out) - start
	extra := lengthSize(n) - 1
	if extra == 0 {
		w.out[start-1] = byte(n)
		return
	}
	w.out = append(w.out, make([]byte, extra)...)
	copy(w.out[start+extra:], w.out[start:start+n])
	appendLength(w.out[:start-1], n) // overwrites the 1+extra octets before the moved contents
}

// filter writes "(" filtercomp ")" at w.i.
func (w *filterWriter) filter() bool {
	if w.i+1 >= len(w.s) || w.s[w.i] != '(' {
		return false
	}
	w.i++
	switch c := w.s[w.i]; c {
	case '&', '|':
		id := byte(idFilterAnd)
		if c == '|' {
			id = idFilterOr
		}
		w.i++
		start := w.open(id)
		for w.i < len(w.s) && w.s[w.i] == '(' {
			if !w.filter() {
				return false
			}
		}
		w.close(start)
	case '!':
		w.i++
		start := w.open(idFilterNot)
		if !w.filter() {
			return false
		}
		w.close(start)
	default:
		if !w.item() {
			return false
		}
	}
	if w.i >= len(w.s) || w.s[w.i] != ')' {
		return false
	}
	w.i++
	return true
}

// item writes attr op value, up to the closing parenthesis (not consumed).
func (w *filterWriter) item() bool {
	a := w.i
	for w.i < len(w.s) && isAttrChar(w.s[w.i]) {
		w.i++
	}
	attr := w.s[a:w.i]
	if attr == "" || w.i+1 >= len(w.s) {
		return false
	}
	id := byte(idFilterEquality)
	switch w.s[w.i : w.i+2] {
	case ">=":
		id = idFilterGreater
	case "<=":
		id = idFilterLess
	case "~=":
		id = idFilterApprox
	default:
		switch w.s[w.i] {
		case ':':
			return w.extensible(attr)
		case '=':
		default:
			return false
		}
		w.i--
	}
	w.i += 2
	value, stars, ok := w.value()
	if !ok {
		return false
	}
	switch {
	case stars == 0:
		start := w.open(id)
		w.out = appendString(w.out, idOctetString, attr)
		w.appendValue(idOctetString, value)
		w.close(start)
	case id != idFilterEquality:
		return false // go-ldap reads a bare * in >=, <= and ~= as a literal
	case value == "*":
		w.out = appendString(w.out, idFilterPresent, attr)
	default:
		start := w.open(idFilterSubstrings)
		w.out = appendString(w.out, idOctetString, attr)
		seq := w.open(idSequence)
		for k := 0; ; k++ { // go-ldap's parts of value split at *, empty ones left out
			part, rest, more := strings.Cut(value, "*")
			if part != "" {
				id := byte(idSubAny)
				switch {
				case k == 0:
					id = idSubInitial
				case !more:
					id = idSubFinal
				}
				w.appendValue(id, part)
			}
			if !more {
				break
			}
			value = rest
		}
		w.close(seq)
		w.close(start)
	}
	return true
}

// value reads an assertion value up to the closing parenthesis (not
// consumed): ASCII without NUL or '(', \XX escapes checked. It returns the
// value as written and its number of unescaped '*'.
func (w *filterWriter) value() (v string, stars int, ok bool) {
	start := w.i
	for w.i < len(w.s) && w.s[w.i] != ')' {
		switch c := w.s[w.i]; {
		case c == '*':
			stars++
		case c == '\\':
			if w.i+2 >= len(w.s) || !isHex(w.s[w.i+1]) || !isHex(w.s[w.i+2]) {
				return "", 0, false
			}
			w.i += 2
		case c == 0 || c == '(' || c >= 0x80:
			return "", 0, false
		}
		w.i++
	}
	return w.s[start:w.i], stars, true
}

// extensible writes attr:rule:=value (RFC 4515 §3, RFC 4511 §4.5.1.7.7's
// MatchingRuleAssertion with matchingRule and type, dnAttributes FALSE), w.i
// at the colon after attr: a slapd matching rule such as caseExactMatch or
// dnSubtreeMatch, or AD's bitwise rules by OID. go-ldap reads a '*' there as
// a literal and "dn" as dnAttributes; both are left to it.
func (w *filterWriter) extensible(attr string) bool {
	w.i++
	r := w.i
	for w.i < len(w.s) && isAttrChar(w.s[w.i]) {
		w.i++
	}
	rule := w.s[r:w.i]
	if rule == "" || strings.EqualFold(rule, "dn") || !strings.HasPrefix(w.s[w.i:], ":=") {
		return false
	}
	w.i += 2
	value, stars, ok := w.value()
	if !ok || stars > 0 {
		return false
	}
	start := w.open(idFilterExtensible)
	w.out = appendString(w.out, idMatchingRule, rule)
	w.out = appendString(w.out, idMatchType, attr)
	w.appendValue(idMatchValue, value)
	w.close(start)
	return true
}

// appendValue appends an element of identifier id holding v with its \XX
// escapes decoded (RFC 4515 §3); item has checked them.
func (w *filterWriter) appendValue(id byte, v string) {
	w.out = appendLength(append(w.out, id), len(v)-2*strings.Count(v, `\`))
	for {
		i := strings.IndexByte(v, '\\')
		if i < 0 {
			w.out = append(w.out, v...)
			return
		}
		w.out = append(w.out, v[:i]...)
		w.out = append(w.out, unhex(v[i+1])<<4|unhex(v[i+2]))
		v = v[i+3:]
	}
}

func isAttrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ';'
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
