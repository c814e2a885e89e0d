package ldapstore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// benchResponse is a VLV search's answer as slapd sends it for a list page of
// 100 users who are each in 300 groups: 100 SearchResultEntry messages (a
// dozen attributes, 300 memberOf DNs) and a SearchResultDone with the sort
// and VLV response controls, message ID 1. About 4 MB, ~30,000 values.
func benchResponse() []byte {
	var out []byte
	for u := range 100 {
		uid := fmt.Sprintf("user%05d", u)
		groups := make([]string, 300)
		for g := range groups {
			groups[g] = fmt.Sprintf("cn=group %03d with a longer name,ou=groups,dc=example,dc=org", g)
		}
		out = append(out, envelope(1, entryOp("uid="+uid+",ou=people,dc=example,dc=org",
			testAttr{"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"}},
			testAttr{"uid", []string{uid}},
			testAttr{"cn", []string{"User " + uid}},
			testAttr{"sn", []string{"User"}},
			testAttr{"givenName", []string{uid}},
			testAttr{"displayName", []string{"User " + uid}},
			testAttr{"mail", []string{uid + "@example.org"}},
			testAttr{"employeeNumber", []string{fmt.Sprint(u)}},
			testAttr{"entryUUID", []string{fmt.Sprintf("8c1d4a52-1f0e-4b4b-9a1c-%012d", u)}},
			testAttr{"entryCSN", []string{"20261206080000.000000Z#000000#000#000000"}},
			testAttr{"memberOf", groups},
		))...)
	}
	return append(out, envelope(1, resultOp(opSearchDone, 0, "", ""), sortResultControl(0), vlvResponseControl(1, 3000, 0))...)
}

// BenchmarkDecode compares reading benchResponse (one op = the whole page):
//
//   - packets/go-asn1-ber: go-asn1-ber's ReadPacket of each message and the
//     entry go-ldap builds from the packet tree (its unpackAttributes, copied);
//
//   - packets/wire: readMessage and decodeMessage;
//
//   - conn/go-ldap: a go-ldap Conn.Search whose answer comes from a pipe
//     (go-ldap's reader goroutine, message channels and decoding);
//
//   - conn/wire: wireConn.search reading the same pipe.
//
//     go test -run '^$' -bench 'Decode' -benchmem ./ldapstore/
func BenchmarkDecode(b *testing.B) {
	resp := benchResponse()
	b.Run("packets/go-asn1-ber", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			r := bufio.NewReader(bytes.NewReader(resp))
			n := 0
			for {
				p, err := ber.ReadPacket(r)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if op := p.Children[1]; op.Tag == opSearchEntry {
					if e := goLDAPEntry(op); len(e.Attributes) == 11 {
						n++
					}
				}
			}
			if n != 100 {
				b.Fatalf("%d entries", n)
			}
		}
	})
	b.Run("packets/wire", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			r := bufio.NewReader(bytes.NewReader(resp))
			n := 0
			for {
				msg, err := readMessage(r)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				m, err := decodeMessage(msg)
				if err != nil {
					b.Fatal(err)
				}
				if m.op == opSearchEntry && len(m.entry.Attributes) == 11 {
					n++
				}
			}
			if n != 100 {
				b.Fatalf("%d entries", n)
			}
		}
	})
	req := ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", nil, nil)
	b.Run("conn/go-ldap", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			res, err := goLDAPSearch(b, resp)
			if err != nil || len(res.Entries) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("conn/wire", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(resp)))
		for b.Loop() {
			client, server := net.Pipe()
			go replay(server, resp)
			c := &wireConn{conn: client, r: bufio.NewReaderSize(client, 32<<10)}
			res, err := c.search(req, time.Minute, nil)
			if err != nil || len(res.Entries) != 100 {
				b.Fatal(err)
			}
			c.close()
		}
	})
}

// replay answers one request on server with resp, then reads until closed.
func replay(server net.Conn, resp []byte) {
	defer server.Close()
	if _, err := ber.ReadPacket(server); err != nil {
		return
	}
	if _, err := server.Write(resp); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, server)
}

// goLDAPEntry is what go-ldap v3.4.15's Conn.Search builds from a
// SearchResultEntry packet (search.go, unpackAttributes), its checks left out.
func goLDAPEntry(op *ber.Packet) *ldap.Entry {
	children := op.Children[1].Children
	attrs := make([]*ldap.EntryAttribute, 0, len(children))
	for _, child := range children {
		values := child.Children[1].Children
		a := &ldap.EntryAttribute{
			Name:       child.Children[0].Value.(string),
			Values:     make([]string, len(values)),
			ByteValues: make([][]byte, len(values)),
		}
		for i, v := range values {
			a.ByteValues[i] = v.ByteValue
			a.Values[i] = v.Value.(string)
		}
		attrs = append(attrs, a)
	}
	return &ldap.Entry{DN: op.Children[0].Value.(string), Attributes: attrs}
}
