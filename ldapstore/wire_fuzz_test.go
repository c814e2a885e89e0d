package ldapstore

import (
	"bufio"
	"bytes"
	"testing"
)

// Run either for a while with, e.g.:
//
//	go test -run '^$' -fuzz FuzzDecodeMessage -fuzztime 60s ./ldapstore/
//	go test -run '^$' -fuzz FuzzDecodeEntryAsGoLDAP -fuzztime 60s ./ldapstore/
//
// Under plain `go test` they run their seeds (f.Add and testdata/fuzz) only.

// FuzzDecodeMessage: arbitrary octets never make readMessage or
// decodeMessage panic; what decodeMessage accepts, readMessage frames exactly;
// and an entry decodeMessage accepts (message ID 1) go-ldap decodes alike.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(envelope(1, entryOp("uid=a,dc=example,dc=org", testAttr{"cn", []string{"A"}}, testAttr{"memberOf", []string{"cn=g1", "cn=g2"}})))
	f.Add(envelope(1, entryOp("", testAttr{"jpegPhoto", []string{"\x00\xff", ""}}, testAttr{"sn", nil})))
	f.Add(envelope(2, resultOp(opSearchDone, 76, "dc=x", "VLV"), vlvResponseControl(31, 30, 61), sortResultControl(0)))
	f.Add(envelope(1, resultOp(opBindResponse, 49, "", "")))
	f.Add(envelope(1, referenceOp("ldap://a/", "ldap://b/")))
	for _, m := range malformedMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		framed, rerr := readMessage(bufio.NewReader(bytes.NewReader(msg)))
		m, err := decodeMessage(msg)
		if err != nil {
			return
		}
		if rerr != nil || !bytes.Equal(framed, msg) {
			t.Fatalf("decoded, but framed as %d octets of %d: %v", len(framed), len(msg), rerr)
		}
		if m.op != opSearchEntry {
			return
		}
		if m.entry == nil {
			t.Fatal("an entry decoded as nil")
		}
		if m.id != 1 {
			return // goLDAPSearch's go-ldap waits for message ID 1
		}
		res, gerr := goLDAPSearch(t, msg, envelope(1, resultOp(opSearchDone, 0, "", "")))
		if gerr != nil || len(res.Entries) != 1 {
			t.Fatalf("decoded % x, go-ldap did not: %v", msg, gerr)
		}
		if diff := sameEntry(m.entry, res.Entries[0]); diff != "" {
			t.Fatalf("differs from go-ldap's decoding of % x: %s", msg, diff)
		}
	})
}

// FuzzDecodeEntryAsGoLDAP: for any entry (its attributes cut from spec: 0xff
// ends an attribute, 0xfe ends its type and each value), the
// SearchResultEntry go-asn1-ber encodes decodes to exactly what go-ldap's
// decoding of the same octets gives: DN, attribute types, Values, ByteValues.
func FuzzDecodeEntryAsGoLDAP(f *testing.F) {
	f.Add("uid=a,dc=example,dc=org", []byte("cn\xfeA\xffmemberOf\xfecn=g1\xfecn=g2\xff"))
	f.Add("", []byte{})
	f.Add("cn=Zoë", []byte("jpegPhoto\xfe\x00\x01\x80\xfe\xfe\xffsn\xff\xff"))
	f.Add("dc=x", bytes.Repeat([]byte("description\xfe"+string(bytes.Repeat([]byte("v"), 200))+"\xff"), 3))
	f.Fuzz(func(t *testing.T, dn string, spec []byte) {
		var attrs []testAttr
		for _, a := range bytes.Split(spec, []byte{0xff}) {
			if len(a) == 0 {
				continue
			}
			parts := bytes.Split(a, []byte{0xfe})
			ta := testAttr{name: string(parts[0])}
			for _, v := range parts[1:] {
				ta.vals = append(ta.vals, string(v))
			}
			attrs = append(attrs, ta)
		}
		msg := envelope(1, entryOp(dn, attrs...))
		m, err := decodeMessage(msg)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		res, err := goLDAPSearch(t, msg, envelope(1, resultOp(opSearchDone, 0, "", "")))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("go-ldap: %v", err)
		}
		if diff := sameEntry(m.entry, res.Entries[0]); diff != "" {
			t.Fatalf("differs from go-ldap's: %s", diff)
		}
	})
}
