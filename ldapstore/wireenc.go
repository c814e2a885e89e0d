package ldapstore

import (
	"math"

	"github.com/go-ldap/ldap/v3"
)

// This file writes the requests wireconn.go sends as BER bytes (X.690 §8.1)
// appended to one buffer, without go-asn1-ber's packet tree: a search that
// asks for 20 attributes cost go-ldap's packets about 8 µs and 12 KB of
// garbage (a Packet per field, each child's bytes copied into every enclosing
// packet), more than the gateway's whole rendering of a user. The filter is
// still compiled by go-ldap (ldap.CompileFilter, RFC 4515 strings) and the
// controls encoded by their own Encode, so what a request means is go-ldap's;
// only the framing is written here. TestEncodeSearchMatchesGoLDAP holds the
// bytes equal to go-ldap's for random requests.

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
	k := 0
	for v := n; v > 0; v >>= 8 {
		k++
	}
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
// derefAliases, sizeLimit, timeLimit, typesOnly, the filter (go-ldap's
// compilation of req.Filter) and the attribute selection, then req.Controls.
// The error is ldap.CompileFilter's for a filter it cannot parse.
func encodeSearchMessage(id int64, req *ldap.SearchRequest) ([]byte, error) {
	f, err := ldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	filter := f.Bytes()
	attrs := 0
	for _, a := range req.Attributes {
		attrs += 1 + lengthSize(len(a)) + len(a)
	}
	body := 1 + lengthSize(len(req.BaseDN)) + len(req.BaseDN) +
		3 + 3 + // scope, derefAliases: one-octet ENUMERATEDs
		2 + 8 + 2 + 8 + // the limits, at most 8 content octets each
		3 + len(filter) + 1 + lengthSize(attrs) + attrs
	buf := make([]byte, 0, body+32)
	buf = appendString(buf, idOctetString, req.BaseDN)
	buf = appendInt(buf, idEnumerated, int64(req.Scope))
	buf = appendInt(buf, idEnumerated, int64(req.DerefAliases))
	buf = appendInt(buf, idInteger, int64(req.SizeLimit))
	buf = appendInt(buf, idInteger, int64(req.TimeLimit))
	buf = appendBool(buf, req.TypesOnly)
	buf = append(buf, filter...)
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
