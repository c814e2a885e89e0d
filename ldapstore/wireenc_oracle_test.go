package ldapstore

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"
)

// soupTokens are the pieces of RFC 4515's grammar and of go-ldap's leniencies
// (extensible matches, bad escapes, UTF-8, NUL, nesting): strings made of them
// reach the corners a byte fuzzer seldom finds.
var soupTokens = []string{"(", ")", "(", ")", "&", "|", "!", "=", "=", ">=", "<=", "~=", ">", "<", "~", "*", "*", "**",
	`\`, `\2a`, `\2A`, `\5c`, `\28`, `\29`, `\00`, `\ff`, `\c4\8d`, `\2`, `\zz`, `\g0`,
	"a", "cn", "1.2", ";x", "-", ".", ":", ":dn:", ":=", ":dn:=", " ", "\x00", "\x01", "é", "\xff", "\xc3", "\u00a0", "\ufffd",
	"(cn=x)", "(&", "(|", "(!", "(a=*)", "(a=b*c)", "=*", ")(",
}

// drawSoup is a string of soupTokens, sometimes with a run long enough for a
// long-form length (X.690 §8.1.3).
func drawSoup(t *rapid.T) string {
	var b strings.Builder
	for _, tok := range rapid.SliceOfN(rapid.SampledFrom(soupTokens), 1, 30).Draw(t, "toks") {
		b.WriteString(tok)
	}
	if rapid.IntRange(0, 9).Draw(t, "long") == 0 {
		s := b.String()
		i := rapid.IntRange(0, len(s)).Draw(t, "at")
		s = s[:i] + strings.Repeat(rapid.SampledFrom([]string{"x", `\2a`, "*", "a*"}).Draw(t, "rep"), rapid.IntRange(40, 300).Draw(t, "n")) + s[i:]
		return s
	}
	return b.String()
}

// mutate applies a few random edits to a well-formed filter.
func mutate(t *rapid.T, s string) string {
	for range rapid.IntRange(0, 3).Draw(t, "edits") {
		i := rapid.IntRange(0, len(s)).Draw(t, "pos")
		switch rapid.IntRange(0, 2).Draw(t, "edit") {
		case 0:
			s = s[:i] + rapid.SampledFrom(soupTokens).Draw(t, "ins") + s[i:]
		case 1:
			if i < len(s) {
				s = s[:i] + s[i+1:]
			}
		default:
			if i < len(s) {
				s = s[:i] + rapid.SampledFrom(soupTokens).Draw(t, "rep") + s[i+1:]
			}
		}
	}
	return s
}

// TestAppendFilterTokenSoup: on token soup and on mutated well-formed filters,
// whatever appendFilter writes go-ldap compiles to the same octets, and a
// filter it leaves to go-ldap leaves dst as it was.
func TestAppendFilterTokenSoup(t *testing.T) {
	own := 0
	rapid.Check(t, func(t *rapid.T) {
		var f string
		if rapid.Bool().Draw(t, "structured") {
			f = mutate(t, drawFilter(t, 0))
		} else {
			f = drawSoup(t)
		}
		got, ok := appendFilter([]byte{0xEE}, f)
		want, err := ldap.CompileFilter(f)
		if !ok {
			if !bytes.Equal(got, []byte{0xEE}) {
				t.Fatalf("%q: rejected but dst changed", f)
			}
			return
		}
		own++
		if err != nil {
			t.Fatalf("%q: written here, but go-ldap fails: %v", f, err)
		}
		if !bytes.Equal(got, append([]byte{0xEE}, want.Bytes()...)) {
			t.Fatalf("%q:\n got %x\nwant %x", f, got[1:], want.Bytes())
		}
	})
	t.Logf("written here: %d", own)
}

// TestAppendFilterLengthBoundaries: constructed elements (and, for substrings,
// SEQUENCE and value) whose contents lengths sit on each side of X.690
// §8.1.3's form changes (128, 256, 65,536 octets), nested so that close moves
// contents already moved by an inner close.
func TestAppendFilterLengthBoundaries(t *testing.T) {
	for _, n := range []int{126, 127, 128, 129, 255, 256, 257, 65535, 65536, 65537} {
		for _, shape := range []string{"(&(!(a=%s)))", "(|(a=x*%s*y)(b=*))", "(a>=%s)", `(&(a=\2a%s))`} {
			// pad so the innermost value makes the outer contents cross n
			for _, pad := range []int{n - 6, n - 5, n - 4, n - 3, n - 2} {
				if pad < 0 {
					continue
				}
				f := strings.Replace(shape, "%s", strings.Repeat("v", pad), 1)
				got, ok := appendFilter(nil, f)
				if !ok {
					t.Fatalf("len %d %s: left to go-ldap", pad, shape)
				}
				want, err := ldap.CompileFilter(f)
				if err != nil || !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("len %d %s: differs (err %v)", pad, shape, err)
				}
			}
		}
	}
}

// TestEncodeSearchMatchesGoLDAPConn: the oracle of TestEncodeSearchMatchesGoLDAP
// is a copy of go-ldap's SearchRequest encoding; this one takes the octets
// go-ldap's own Conn writes (its first message ID is 1) on a pipe. typesOnly
// is FALSE: go-ldap's TRUE is 01, not RFC 4511 §5.1's FF.
func TestEncodeSearchMatchesGoLDAPConn(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		req := drawSearchRequest(t, false, 30)
		client, server := net.Pipe()
		defer server.Close()
		c := ldap.NewConn(client, false)
		c.Start()
		defer c.Close()
		go func() { _ = c.SearchAsync(context.Background(), req, 0).Err() }()
		want, err := readMessage(bufio.NewReader(server))
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeSearchMessage(1, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("differs from what go-ldap's Conn writes\n got %x\nwant %x", got, want)
		}
	})
}
