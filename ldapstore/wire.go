package ldapstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// This file reads LDAP responses straight from their BER bytes (X.690 §8.1),
// without go-asn1-ber's packet tree: for a SearchResultEntry each attribute
// value becomes a substring of one string copy of the message and a subslice
// of the message's bytes, so an entry of a user in 300 groups costs a handful
// of allocations instead of several per value (go-asn1-ber builds a Packet per
// value and copies each child's bytes into every enclosing packet). Only the
// response messages a search and a bind need are decoded here; controls are
// handed to go-ldap's own decoder (ldap.DecodeControl). The client using it is
// wireconn.go.

// BER identifier octets (X.690 §8.1.2) of the elements read here (RFC 4511 §4).
const (
	idInteger     = 0x02
	idOctetString = 0x04
	idEnumerated  = 0x0a
	idSequence    = 0x30
	idSet         = 0x31
	idControls    = 0xa0 // [0] Controls, in an LDAPMessage
)

// LDAP protocolOp tags (RFC 4511 §4.2, §4.5, §4.12): [APPLICATION n], constructed.
const (
	opBindResponse     = 1
	opSearchEntry      = 4
	opSearchDone       = 5
	opSearchReference  = 19
	opExtendedResponse = 24
)

// errMalformed is wrapped by every decoding error.
var errMalformed = errors.New("malformed LDAP message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// readMessage reads one LDAPMessage (RFC 4511 §4.1.1) from r and returns all of
// its bytes, identifier and length octets included, in a buffer of its own
// (decodeMessage's results point into it; it is never reused). The message
// must be a SEQUENCE of definite length (RFC 4511 §5.1: LDAP uses the
// definite form only), short or long form, at most ber.MaxPacketLengthBytes
// content octets (go-asn1-ber's bound, 2^31-1 by default) and at most
// 2^31-1 whatever it says. Errors:
// io.EOF when r ends before the first octet, io.ErrUnexpectedEOF within the
// message, errMalformed for a header that is not one of an LDAPMessage.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var hdr [10]byte // identifier, length octet, up to 8 length octets
	id, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if id != idSequence {
		return nil, malformed("message starts with identifier 0x%02x, want a SEQUENCE (0x30)", id)
	}
	first, err := r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	hdr[0], hdr[1] = id, first
	n := 2
	length := uint64(first)
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		switch {
		case k == 0:
			return nil, malformed("indefinite length")
		case k > 8:
			return nil, malformed("length of %d octets", k)
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return nil, unexpected(err)
		}
		length = 0
		for _, b := range hdr[2 : 2+k] {
			length = length<<8 | uint64(b)
		}
		n += k
	}
	limit := uint64(math.MaxInt32)
	if ber.MaxPacketLengthBytes > 0 {
		limit = min(limit, uint64(ber.MaxPacketLengthBytes))
	}
	if length > limit {
		return nil, malformed("length %d greater than maximum %d", length, limit)
	}
	// A large message grows as its octets arrive, so a bogus length costs no
	// more memory than the octets actually sent.
	const eager = 1 << 20
	buf := make([]byte, n, n+min(int(length), eager))
	copy(buf, hdr[:n])
	for rest := int(length); rest > 0; {
		chunk := min(rest, eager)
		buf = append(buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(r, buf[len(buf)-chunk:]); err != nil {
			return nil, unexpected(err)
		}
		rest -= chunk
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wireMessage is one decoded response message.
type wireMessage struct {
	id       int64
	op       int         // protocolOp's application tag: opSearchEntry…
	entry    *ldap.Entry // opSearchEntry
	ref      string      // opSearchReference: its first URI
	result   wireResult  // opBindResponse, opSearchDone, opExtendedResponse
	controls []ldap.Control
}

// wireResult is an LDAPResult's components (RFC 4511 §4.1.9); the referral,
// serverSaslCreds and extended response fields that may follow are skipped.
type wireResult struct {
	code                  uint16
	matchedDN, diagnostic string
}

// err is the result as go-ldap reports it (ldap.GetLDAPError): nil for
// success (0), else an *ldap.Error with the code, the matched DN and the
// diagnostic message as its Err.
func (r wireResult) err() error {
	if r.code == ldap.LDAPResultSuccess {
		return nil
	}
	return &ldap.Error{ResultCode: r.code, MatchedDN: r.matchedDN, Err: errors.New(r.diagnostic)}
}

// decodeMessage decodes msg, one whole LDAPMessage as readMessage returns it.
// SearchResultEntry, SearchResultReference and the LDAPResult of
// BindResponse, SearchResultDone and ExtendedResponse are decoded; any other
// protocolOp only has its tag and message ID read. The response controls
// (RFC 4511 §4.1.11) of any message are decoded by ldap.DecodeControl.
//
// An entry's DN, attribute descriptions and Values are substrings of one
// string copy of msg, its ByteValues subslices of msg capped at their length
// (an append copies): msg must not change afterwards. Every element is bounds
// checked; anything malformed or truncated is an error wrapping errMalformed,
// and so is an element after the ones RFC 4511 defines in an LDAPMessage, a
// SearchResultEntry or a PartialAttribute (these SEQUENCEs have no extension
// marker; go-ldap skips such elements). Inside a protocolOp other than those
// named, nothing is read.
func decodeMessage(msg []byte) (m wireMessage, err error) {
	d := berReader{b: msg}
	id, start, end, err := d.next(0, len(msg))
	if err != nil {
		return m, err
	}
	if id != idSequence || end != len(msg) {
		return m, malformed("not one LDAPMessage SEQUENCE")
	}
	id, cs, ce, err := d.next(start, end)
	if err != nil {
		return m, err
	}
	if id != idInteger {
		return m, malformed("messageID has identifier 0x%02x", id)
	}
	if m.id, err = d.int(cs, ce); err != nil || m.id < 0 || m.id > math.MaxInt32 {
		return m, malformed("messageID out of range")
	}
	opStart := ce
	id, cs, ce, err = d.next(opStart, end)
	if err != nil {
		return m, err
	}
	if id&0xc0 != 0x40 { // class APPLICATION (X.690 §8.1.2.2)
		return m, malformed("protocolOp has identifier 0x%02x", id)
	}
	m.op = int(id & 0x1f)
	if id&0x20 != 0 {
		switch m.op {
		case opSearchEntry:
			m.entry, err = d.entry(cs, ce)
		case opSearchReference:
			m.ref, err = d.reference(cs, ce)
		case opBindResponse, opSearchDone, opExtendedResponse:
			m.result, err = d.result(cs, ce)
		}
		if err != nil {
			return m, err
		}
	} else if m.op == opSearchEntry || m.op == opSearchReference || m.op == opBindResponse || m.op == opSearchDone || m.op == opExtendedResponse {
		return m, malformed("protocolOp %d is primitive", m.op)
	}
	if ce == end {
		return m, nil
	}
	ctlStart := ce
	id, _, ce, err = d.next(ctlStart, end)
	if err != nil {
		return m, err
	}
	if id != idControls || ce != end {
		return m, malformed("more than messageID, protocolOp and controls")
	}
	m.controls, err = decodeControls(msg[ctlStart:ce])
	return m, err
}

// decodeControls decodes a Controls element (RFC 4511 §4.1.11) with
// go-asn1-ber and go-ldap: controls are few and small.
func decodeControls(b []byte) ([]ldap.Control, error) {
	p, err := ber.DecodePacketErr(b)
	if err != nil {
		return nil, malformed("controls: %v", err)
	}
	out := make([]ldap.Control, 0, len(p.Children))
	for _, child := range p.Children {
		c, err := ldap.DecodeControl(child)
		if err != nil {
			return nil, malformed("control: %v", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// berReader reads BER elements of b; s is b as a string, made on first need.
type berReader struct {
	b []byte
	s string
}

// next reads the element at b[off:] that must end by end: its identifier
// octet, and where its contents start and end (cs ≤ ce ≤ end). Only the
// low-tag-number form (tags 0…30, X.690 §8.1.2.2) and definite lengths occur in
// LDAP (RFC 4511 §5.1); anything else is an error.
func (d *berReader) next(off, end int) (id byte, cs, ce int, err error) {
	if off >= end {
		return 0, 0, 0, malformed("element missing at offset %d", off)
	}
	id = d.b[off]
	if id&0x1f == 0x1f {
		return 0, 0, 0, malformed("high tag number at offset %d", off)
	}
	if off+1 >= end {
		return 0, 0, 0, malformed("truncated element at offset %d", off)
	}
	first := d.b[off+1]
	cs = off + 2
	length := uint64(first)
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		if k == 0 || k > 8 {
			return 0, 0, 0, malformed("unsupported length form 0x%02x at offset %d", first, off)
		}
		if k > end-cs {
			return 0, 0, 0, malformed("truncated length at offset %d", off)
		}
		length = 0
		for _, b := range d.b[cs : cs+k] {
			length = length<<8 | uint64(b)
		}
		cs += k
	}
	if length > uint64(end-cs) {
		return 0, 0, 0, malformed("element at offset %d overruns its enclosing element", off)
	}
	return id, cs, cs + int(length), nil
}

// int reads an INTEGER or ENUMERATED's contents (X.690 §8.3: two's
// complement, 1 to 8 octets here).
func (d *berReader) int(cs, ce int) (int64, error) {
	if ce <= cs || ce-cs > 8 {
		return 0, malformed("integer of %d octets", ce-cs)
	}
	v := int64(int8(d.b[cs])) // sign-extended
	for _, b := range d.b[cs+1 : ce] {
		v = v<<8 | int64(b)
	}
	return v, nil
}

// str reads the OCTET STRING at b[off:] (within end), as a substring of s.
func (d *berReader) str(off, end int, what string) (v string, next int, err error) {
	id, cs, ce, err := d.next(off, end)
	if err != nil {
		return "", 0, err
	}
	if id != idOctetString {
		return "", 0, malformed("%s has identifier 0x%02x, want an OCTET STRING", what, id)
	}
	return d.string()[cs:ce], ce, nil
}

func (d *berReader) string() string {
	if d.s == "" && len(d.b) > 0 {
		d.s = string(d.b)
	}
	return d.s
}

// entry decodes a SearchResultEntry's contents (RFC 4511 §4.5.2):
//
//	SEQUENCE { objectName LDAPDN, attributes PartialAttributeList }
//	PartialAttributeList ::= SEQUENCE OF SEQUENCE { type AttributeDescription, vals SET OF AttributeValue }
//
// into an *ldap.Entry as go-ldap fills it (Values and ByteValues both). A
// first pass checks the structure and counts attributes and values, so the
// second allocates once per entry: the attributes, and all Values and
// ByteValues, each in one backing array (every attribute's slices capped).
func (d *berReader) entry(cs, ce int) (*ldap.Entry, error) {
	dn, off, err := d.str(cs, ce, "objectName")
	if err != nil {
		return nil, err
	}
	id, as, ae, err := d.next(off, ce)
	if err != nil {
		return nil, err
	}
	if id != idSequence || ae != ce {
		return nil, malformed("attributes have identifier 0x%02x, want a SEQUENCE ending the entry", id)
	}
	nAttrs, nVals, err := d.attributes(as, ae, nil)
	if err != nil {
		return nil, err
	}
	f := &entryFill{
		attrs: make([]ldap.EntryAttribute, nAttrs),
		ptrs:  make([]*ldap.EntryAttribute, nAttrs),
		vals:  make([]string, nVals),
		bytes: make([][]byte, nVals),
	}
	if _, _, err := d.attributes(as, ae, f); err != nil {
		return nil, err // cannot happen: the first pass read the same bytes
	}
	return &ldap.Entry{DN: dn, Attributes: f.ptrs}, nil
}

// entryFill is where attributes' second pass puts what it reads.
type entryFill struct {
	attrs []ldap.EntryAttribute
	ptrs  []*ldap.EntryAttribute
	vals  []string
	bytes [][]byte
}

// attributes walks a PartialAttributeList's contents b[as:ae], counting its
// attributes and values; with f, it also fills them in.
func (d *berReader) attributes(as, ae int, f *entryFill) (nAttrs, nVals int, err error) {
	for off := as; off < ae; {
		id, ps, pe, err := d.next(off, ae)
		if err != nil {
			return 0, 0, err
		}
		if id != idSequence {
			return 0, 0, malformed("attribute has identifier 0x%02x, want a SEQUENCE", id)
		}
		name, voff, err := d.str(ps, pe, "attribute type")
		if err != nil {
			return 0, 0, err
		}
		id, vs, ve, err := d.next(voff, pe)
		if err != nil {
			return 0, 0, err
		}
		if id != idSet || ve != pe {
			return 0, 0, malformed("values of %q have identifier 0x%02x, want a SET ending the attribute", name, id)
		}
		first := nVals
		for v := vs; v < ve; {
			id, cs, ce, err := d.next(v, ve)
			if err != nil {
				return 0, 0, err
			}
			if id != idOctetString {
				return 0, 0, malformed("a value of %q has identifier 0x%02x, want an OCTET STRING", name, id)
			}
			if f != nil {
				f.vals[nVals] = d.string()[cs:ce]
				f.bytes[nVals] = d.b[cs:ce:ce]
			}
			nVals++
			v = ce
		}
		if f != nil {
			a := &f.attrs[nAttrs]
			a.Name = name
			a.Values = f.vals[first:nVals:nVals]
			a.ByteValues = f.bytes[first:nVals:nVals]
			f.ptrs[nAttrs] = a
		}
		nAttrs++
		off = pe
	}
	return nAttrs, nVals, nil
}

// reference decodes a SearchResultReference's contents (RFC 4511 §4.5.3:
// SEQUENCE SIZE (1..MAX) OF uri URI) and returns its first URI, as go-ldap
// does: the URIs of one reference are alternatives ("any supported URI may be
// used to progress the operation").
func (d *berReader) reference(cs, ce int) (string, error) {
	var first string
	for off, i := cs, 0; off < ce; i++ {
		uri, next, err := d.str(off, ce, "URI")
		if err != nil {
			return "", err
		}
		if i == 0 {
			first = uri
		}
		off = next
	}
	if cs == ce {
		return "", malformed("SearchResultReference without a URI")
	}
	return first, nil
}

// result decodes an LDAPResult's first three components (RFC 4511 §4.1.9):
// resultCode ENUMERATED (0…65535; go-ldap accepts an INTEGER too), matchedDN
// LDAPDN, diagnosticMessage LDAPString.
func (d *berReader) result(cs, ce int) (r wireResult, err error) {
	id, is, ie, err := d.next(cs, ce)
	if err != nil {
		return r, err
	}
	if id != idEnumerated && id != idInteger {
		return r, malformed("resultCode has identifier 0x%02x", id)
	}
	code, err := d.int(is, ie)
	if err != nil || code < 0 || code > math.MaxUint16 {
		return r, malformed("resultCode out of range")
	}
	r.code = uint16(code)
	var off int
	if r.matchedDN, off, err = d.str(ie, ce, "matchedDN"); err != nil {
		return r, err
	}
	if r.diagnostic, _, err = d.str(off, ce, "diagnosticMessage"); err != nil {
		return r, err
	}
	return r, nil
}
