package ldapstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// The messages below are encoded with go-asn1-ber, as go-ldap's own tests
// build theirs, and decoded both by decodeMessage and by go-ldap (through a
// go-ldap connection that reads them from a pipe, see goLDAPSearch).

type testAttr struct {
	name string
	vals []string
}

// envelope wraps op and controls in an LDAPMessage of id, as the client does.
func envelope(id int64, op *ber.Packet, controls ...ldap.Control) []byte {
	return encodeMessage(id, op, controls)
}

func entryOp(dn string, attrs ...testAttr) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchEntry, nil, "SearchResultEntry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "objectName"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for _, a := range attrs {
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PartialAttribute")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range a.vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		pa.AppendChild(set)
		list.AppendChild(pa)
	}
	op.AppendChild(list)
	return op
}

func resultOp(tag ber.Tag, code int64, matchedDN, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "LDAPResult")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matchedDN, "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return op
}

func referenceOp(uris ...string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchReference, nil, "SearchResultReference")
	for _, u := range uris {
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, u, "URI"))
	}
	return op
}

// vlvResponseControl is a VirtualListViewResponse control (draft-ietf-ldapext-ldapv3-vlv-09 §6.2).
func vlvResponseControl(target, count, code int64) ldap.Control {
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "VirtualListViewResponse")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, target, "targetPosition"))
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, count, "contentCount"))
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "virtualListViewResult"))
	return ldap.NewControlString(OIDVLVResponse, false, string(v.Bytes()))
}

// sortResultControl is a SortResult control (RFC 2891 §1.2).
func sortResultControl(code int64) ldap.Control {
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "SortResult")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "sortResult"))
	return ldap.NewControlString(ldap.ControlTypeServerSideSortingResult, false, string(v.Bytes()))
}

// goLDAPSearch runs a search on a go-ldap connection whose server side answers
// with msgs (message ID 1, go-ldap's first): go-ldap's own decoding of them.
func goLDAPSearch(t testing.TB, msgs ...[]byte) (*ldap.SearchResult, error) {
	t.Helper()
	client, server := net.Pipe()
	defer server.Close()
	c := ldap.NewConn(client, false)
	c.SetTimeout(5 * time.Second)
	c.Start()
	defer c.Close()
	go func() {
		if _, err := ber.ReadPacket(server); err != nil {
			return
		}
		for _, m := range msgs {
			if _, err := server.Write(m); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, server)
	}()
	return c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil))
}

// sameEntry describes how got differs from want ("" when it does not): DN,
// attribute names, Values and ByteValues.
func sameEntry(got, want *ldap.Entry) string {
	if got.DN != want.DN {
		return fmt.Sprintf("DN %q, want %q", got.DN, want.DN)
	}
	if len(got.Attributes) != len(want.Attributes) {
		return fmt.Sprintf("%d attributes, want %d", len(got.Attributes), len(want.Attributes))
	}
	for i, a := range got.Attributes {
		w := want.Attributes[i]
		if a.Name != w.Name || !slices.Equal(a.Values, w.Values) || !slices.EqualFunc(a.ByteValues, w.ByteValues, bytes.Equal) {
			return fmt.Sprintf("attribute %d: %q %q % x, want %q %q % x", i, a.Name, a.Values, a.ByteValues, w.Name, w.Values, w.ByteValues)
		}
	}
	return ""
}

func mustDecode(t *testing.T, msg []byte) wireMessage {
	t.Helper()
	m, err := decodeMessage(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func TestDecodeEntry(t *testing.T) {
	binary := string([]byte{0x00, 0xff, 0xfe, 0x80, 0x01})
	long := strings.Repeat("x", 300) // two length octets (0x82)
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("cn=group %03d,ou=groups,dc=example,dc=org", i)
	}
	cases := []struct {
		name  string
		dn    string
		attrs []testAttr
	}{
		{"two attributes", "uid=a,dc=example,dc=org", []testAttr{{"cn", []string{"A"}}, {"mail", []string{"a@example.org", "b@example.org"}}}},
		{"no attributes", "uid=a,dc=example,dc=org", nil},
		{"attribute without values (typesOnly)", "uid=a,dc=example,dc=org", []testAttr{{"cn", nil}, {"sn", nil}}},
		{"zero-length value", "uid=a,dc=example,dc=org", []testAttr{{"description", []string{""}}, {"cn", []string{"", "x", ""}}}},
		{"binary values", "uid=a,dc=example,dc=org", []testAttr{{"objectGUID", []string{binary}}, {"jpegPhoto", []string{binary, "\x00"}}}},
		{"long-form lengths", "uid=" + long + ",dc=example,dc=org", []testAttr{{"description", []string{long}}, {"memberOf", many}}},
		{"empty DN", "", []testAttr{{"cn", []string{"root"}}}},
		{"UTF-8", "cn=Zoë Ångström,dc=example,dc=org", []testAttr{{"cn", []string{"Zoë Ångström", "日本"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := envelope(1, entryOp(c.dn, c.attrs...))
			m := mustDecode(t, msg)
			if m.id != 1 || m.op != opSearchEntry || m.entry == nil {
				t.Fatalf("id %d op %d entry %v", m.id, m.op, m.entry)
			}
			res, err := goLDAPSearch(t, msg, envelope(1, resultOp(opSearchDone, 0, "", "")))
			if err != nil || len(res.Entries) != 1 {
				t.Fatalf("go-ldap: %v", err)
			}
			if diff := sameEntry(m.entry, res.Entries[0]); diff != "" {
				t.Errorf("differs from go-ldap's: %s", diff)
			}
			if c.name == "binary values" && m.entry.GetRawAttributeValue("objectGUID")[1] != 0xff {
				t.Error("binary value changed")
			}
		})
	}
}

// TestDecodedSlicesAreCapped: appending to one attribute's Values or
// ByteValues, or to a value's bytes, never overwrites another's (they share
// backing arrays).
func TestDecodedSlicesAreCapped(t *testing.T) {
	m := mustDecode(t, envelope(1, entryOp("uid=a", testAttr{"a", []string{"1", "2"}}, testAttr{"b", []string{"3"}})))
	a, b := m.entry.Attributes[0], m.entry.Attributes[1]
	a.Values = append(a.Values, "x")
	a.ByteValues = append(a.ByteValues, []byte("x"))
	a.ByteValues[0] = append(a.ByteValues[0], 'y', 'y', 'y')
	if b.Values[0] != "3" || string(b.ByteValues[0]) != "3" || string(a.ByteValues[1]) != "2" {
		t.Errorf("an append overwrote a neighbour: b %q %q, a[1] %q", b.Values, b.ByteValues, a.ByteValues[1])
	}
}

// TestDecodeNonMinimalLength: BER lets a length take more octets than it
// needs (X.690 §8.1.3.5, DER does not); a long form for a short length is read.
func TestDecodeNonMinimalLength(t *testing.T) {
	// LDAPMessage { 1, SearchResultEntry { "dc=x", { { "cn", { "a" } } } } }
	// with lengths of 1, 2 and 4 octets.
	msg := []byte{
		0x30, 0x84, 0, 0, 0, 0x23, // LDAPMessage: 35 octets
		0x02, 0x01, 0x01, // messageID 1
		0x64, 0x84, 0, 0, 0, 0x1a, // SearchResultEntry: 26 octets
		0x04, 0x04, 'd', 'c', '=', 'x', // objectName
		0x30, 0x84, 0, 0, 0, 0x0e, // attributes: 14 octets
		0x30, 0x0c, // PartialAttribute: 12 octets
		0x04, 0x82, 0, 2, 'c', 'n', // type
		0x31, 0x04, 0x04, 0x81, 1, 'a', // vals
	}
	m, err := decodeMessage(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if m.entry.DN != "dc=x" || m.entry.GetAttributeValue("cn") != "a" {
		t.Errorf("got %q %v", m.entry.DN, m.entry.Attributes)
	}
	if _, err := goLDAPSearch(t, msg, envelope(1, resultOp(opSearchDone, 0, "", ""))); err != nil {
		t.Errorf("go-ldap refuses it: %v", err)
	}
}

func TestDecodeReference(t *testing.T) {
	msg := envelope(1, referenceOp("ldap://a.example.org/dc=x", "ldap://b.example.org/dc=x"))
	m := mustDecode(t, msg)
	res, err := goLDAPSearch(t, msg, envelope(1, resultOp(opSearchDone, 0, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	if m.op != opSearchReference || m.ref != "ldap://a.example.org/dc=x" || !slices.Equal(res.Referrals, []string{m.ref}) {
		t.Errorf("reference %q, go-ldap %q", m.ref, res.Referrals)
	}
	if _, err := decodeMessage(envelope(1, referenceOp())); !errors.Is(err, errMalformed) {
		t.Errorf("a reference without a URI: %v", err)
	}
}

// TestDecodeResult: an LDAPResult's error is go-ldap's (ldap.GetLDAPError of
// the same message): code, matched DN and diagnostic message; nil for 0. The
// controls come with a failure too.
func TestDecodeResult(t *testing.T) {
	cases := []struct {
		name     string
		msg      []byte
		controls []string
	}{
		{"done, success", envelope(3, resultOp(opSearchDone, 0, "", "")), nil},
		{"done, success with controls", envelope(3, resultOp(opSearchDone, 0, "", ""), vlvResponseControl(5, 30, 0), sortResultControl(0)), []string{OIDVLVResponse, ldap.ControlTypeServerSideSortingResult}},
		{"done, VLV error with controls", envelope(3, resultOp(opSearchDone, 76, "ou=x,dc=example,dc=org", "VLV: offset out of range"), vlvResponseControl(31, 30, 61)), []string{OIDVLVResponse}},
		{"done, no such object", envelope(3, resultOp(opSearchDone, 32, "dc=example,dc=org", "")), nil},
		{"bind, invalid credentials", envelope(1, resultOp(opBindResponse, 49, "", "")), nil},
		{"extended, unavailable", envelope(1, resultOp(opExtendedResponse, 52, "", "not now")), nil},
		{"large code", envelope(1, resultOp(opSearchDone, 65535, "", "x")), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustDecode(t, c.msg)
			got, want := m.result.err(), ldap.GetLDAPError(ber.DecodePacket(c.msg))
			if (got == nil) != (want == nil) {
				t.Fatalf("error %v, go-ldap's %v", got, want)
			}
			if want != nil {
				var g, w *ldap.Error
				if !errors.As(got, &g) || !errors.As(want, &w) || g.ResultCode != w.ResultCode || g.MatchedDN != w.MatchedDN || g.Error() != w.Error() {
					t.Errorf("error %#v, go-ldap's %#v", got, want)
				}
			}
			var types []string
			for _, ctl := range m.controls {
				types = append(types, ctl.GetControlType())
			}
			if !slices.Equal(types, c.controls) {
				t.Errorf("controls %q, want %q", types, c.controls)
			}
			if target, n, code, ok := vlvResponse(m.controls); ok && c.name == "done, VLV error with controls" && (target != 31 || n != 30 || code != 61) {
				t.Errorf("VLV response %d %d %d, want 31 30 61", target, n, code)
			}
		})
	}
}

// malformedMessages are messages every decoder must refuse, each with why.
func malformedMessages() map[string][]byte {
	good := envelope(1, entryOp("dc=x", testAttr{"cn", []string{"a"}}))
	with := func(i int, b byte) []byte { m := slices.Clone(good); m[i] = b; return m }
	return map[string][]byte{
		"empty":                     {},
		"not a SEQUENCE":            with(0, 0x31),
		"indefinite length":         {0x30, 0x80, 0x02, 0x01, 0x01, 0x64, 0x80, 0, 0, 0, 0},
		"length 0xff":               {0x30, 0xff},
		"nine length octets":        {0x30, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 1, 1},
		"trailing octet":            append(slices.Clone(good), 0),
		"length overruns":           with(1, good[1]+1),
		"messageID not an INTEGER":  with(2, 0x04),
		"messageID negative":        envelopeRaw([]byte{0x02, 0x01, 0xff}, entryOp("dc=x").Bytes()),
		"messageID of 9 octets":     envelopeRaw([]byte{0x02, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 1}, entryOp("dc=x").Bytes()),
		"empty messageID":           envelopeRaw([]byte{0x02, 0x00}, entryOp("dc=x").Bytes()),
		"no protocolOp":             envelopeRaw([]byte{0x02, 0x01, 0x01}),
		"primitive entry":           envelopeRaw([]byte{0x02, 0x01, 0x01}, []byte{0x44, 0x00}),
		"high tag number":           envelopeRaw([]byte{0x02, 0x01, 0x01}, []byte{0x7f, 0x81, 0x00, 0x00}),
		"DN not an OCTET STRING":    with(7, 0x80),
		"value not an OCTET STRING": with(len(good)-3, 0x80),
		"vals not a SET":            with(len(good)-5, 0x30),
		"attributes not a SEQUENCE": with(13, 0x31),
		"entry without attributes":  envelope(1, func() *ber.Packet { p := entryOp("dc=x"); p.Children = p.Children[:1]; return rebuild(p) }()),
		"result without diagnostic": envelope(1, func() *ber.Packet {
			p := resultOp(opSearchDone, 0, "", "")
			p.Children = p.Children[:2]
			return rebuild(p)
		}()),
		"result code negative":    envelope(1, resultOp(opSearchDone, -1, "", "")),
		"result code above 65535": envelope(1, resultOp(opSearchDone, 65536, "", "")),
		"result code an OCTET STRING": envelope(1, func() *ber.Packet {
			p := resultOp(opSearchDone, 0, "", "")
			p.Children[0] = ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "0", "")
			return rebuild(p)
		}()),
		"controls not a Control":      envelopeRaw([]byte{0x02, 0x01, 0x01}, resultOp(opSearchDone, 0, "", "").Bytes(), []byte{0xa0, 0x03, 0x04, 0x01, 'x'}),
		"element after vals":          envelopeRaw([]byte{0x02, 0x01, 0x01}, []byte{0x64, 0x0e, 0x04, 0x00, 0x30, 0x0a, 0x30, 0x08, 0x04, 0x01, 'a', 0x31, 0x00, 0x04, 0x01, 'b'}),
		"element after attributes":    envelopeRaw([]byte{0x02, 0x01, 0x01}, []byte{0x64, 0x06, 0x04, 0x00, 0x30, 0x00, 0x04, 0x00}),
		"element after controls":      envelopeRaw([]byte{0x02, 0x01, 0x01}, resultOp(opSearchDone, 0, "", "").Bytes(), []byte{0xa0, 0x00, 0x04, 0x00}),
		"element instead of controls": envelopeRaw([]byte{0x02, 0x01, 0x01}, resultOp(opSearchDone, 0, "", "").Bytes(), []byte{0x04, 0x00}),
		"trailing element broken":     envelopeRaw([]byte{0x02, 0x01, 0x01}, resultOp(opSearchDone, 0, "", "").Bytes(), []byte{0x04, 0x05, 'a'}),
	}
}

// envelopeRaw is an LDAPMessage SEQUENCE around already encoded parts.
func envelopeRaw(parts ...[]byte) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.Data.Write(bytes.Join(parts, nil))
	return p.Bytes()
}

// rebuild re-encodes p after its children changed.
func rebuild(p *ber.Packet) *ber.Packet {
	q := ber.Encode(p.ClassType, p.TagType, p.Tag, nil, "")
	for _, c := range p.Children {
		q.AppendChild(c)
	}
	return q
}

func TestDecodeMalformed(t *testing.T) {
	for name, msg := range malformedMessages() {
		if m, err := decodeMessage(msg); !errors.Is(err, errMalformed) {
			t.Errorf("%s (% x): %+v, %v; want a malformed message error", name, msg, m, err)
		}
	}
}

// TestDecodeTruncatedAndMutated: every proper prefix of a message is refused
// (its outer length no longer fits); no prefix with its outer length fixed up
// and no octet changed to any of a few values makes the decoder panic.
func TestDecodeTruncatedAndMutated(t *testing.T) {
	msgs := [][]byte{
		envelope(1, entryOp("uid=a,dc=example,dc=org", testAttr{"cn", []string{"A", strings.Repeat("b", 200)}}, testAttr{"jpegPhoto", []string{"\x00\xff"}})),
		envelope(7, resultOp(opSearchDone, 76, "dc=x", "range"), vlvResponseControl(1, 2, 3)),
		envelope(1, referenceOp("ldap://x/")),
	}
	for _, msg := range msgs {
		for n := range len(msg) {
			if _, err := decodeMessage(msg[:n]); err == nil {
				t.Errorf("prefix of %d octets of % x decoded", n, msg)
			}
			if msg[1] < 0x80 && n > 2 { // the prefix with its outer length fixed: well-formed only at an element's end
				_, _ = decodeMessage(append([]byte{0x30, byte(n - 2)}, msg[2:n]...))
			}
		}
		for i := range msg {
			for _, b := range []byte{0x00, 0x01, 0x04, 0x30, 0x7f, 0x80, 0x81, 0x84, 0xff, msg[i] + 1, msg[i] - 1} {
				m := slices.Clone(msg)
				m[i] = b
				_, _ = decodeMessage(m)
			}
		}
	}
}

func TestReadMessage(t *testing.T) {
	a := envelope(1, entryOp("dc=a", testAttr{"cn", []string{strings.Repeat("v", 70000)}})) // 3 length octets
	b := envelope(1, resultOp(opSearchDone, 0, "", ""))
	r := bufio.NewReader(bytes.NewReader(append(slices.Clone(a), b...)))
	for i, want := range [][]byte{a, b} {
		got, err := readMessage(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d octets, %v; want %d", i, len(got), err, len(want))
		}
	}
	if _, err := readMessage(r); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	for n := 1; n < len(b); n++ {
		if _, err := readMessage(bufio.NewReader(bytes.NewReader(b[:n]))); err != io.ErrUnexpectedEOF {
			t.Errorf("%d of %d octets: %v, want io.ErrUnexpectedEOF", n, len(b), err)
		}
	}
	bad := map[string][]byte{
		"not a SEQUENCE":     {0x04, 0x00},
		"indefinite length":  {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},
		"nine length octets": {0x30, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		"above the maximum":  {0x30, 0x84, 0x80, 0, 0, 0},
		"2^64-1":             {0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, msg := range bad {
		if _, err := readMessage(bufio.NewReader(bytes.NewReader(msg))); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want a malformed message error", name, err)
		}
	}
	old := ber.MaxPacketLengthBytes
	defer func() { ber.MaxPacketLengthBytes = old }()
	ber.MaxPacketLengthBytes = 100
	if _, err := readMessage(bufio.NewReader(bytes.NewReader(a))); !errors.Is(err, errMalformed) {
		t.Errorf("a message above ber.MaxPacketLengthBytes: %v", err)
	}
}
