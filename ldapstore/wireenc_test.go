package ldapstore

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"
)

// goLDAPSearchMessage is the oracle: the LDAPMessage of req built as go-ldap
// builds a SearchRequest (one go-asn1-ber packet per field), except typesOnly,
// whose TRUE is FF as RFC 4511 §5.1 requires (go-ldap writes 01).
func goLDAPSearchMessage(id int64, req *ldap.SearchRequest) ([]byte, error) {
	filter, err := ldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "Search Request")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, req.BaseDN, "Base DN"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.Scope), "Scope"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.DerefAliases), "Deref Aliases"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.SizeLimit), "Size Limit"))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.TimeLimit), "Time Limit"))
	p.AppendChild(ber.NewLDAPBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, req.TypesOnly, "Types Only"))
	p.AppendChild(filter)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range req.Attributes {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	p.AppendChild(attrs)
	return goLDAPEnvelope(id, p, req.Controls), nil
}

// goLDAPEnvelope is go-ldap's LDAPMessage framing (conn.go, sendMessage).
func goLDAPEnvelope(id int64, op *ber.Packet, controls []ldap.Control) []byte {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	env.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	env.AppendChild(op)
	if len(controls) > 0 {
		ctls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, ctl := range controls {
			ctls.AppendChild(ctl.Encode())
		}
		env.AppendChild(ctls)
	}
	return env.Bytes()
}

// A value of any length: most short, some past the one- and two-octet
// lengths (128, 256, 65,536 octets: X.690 §8.1.3's long form).
func berString(t *rapid.T, label string) string {
	switch rapid.IntRange(0, 9).Draw(t, label+"Size") {
	case 0:
		return strings.Repeat("x", rapid.IntRange(120, 300).Draw(t, label+"Len"))
	case 1:
		return strings.Repeat("y", rapid.IntRange(65_500, 65_600).Draw(t, label+"Len"))
	default:
		return rapid.String().Draw(t, label)
	}
}

// A filter as the gateway writes them: nested &, |, ! over equality,
// presence, substrings, ordering, approximate and extensible (attr:rule:=) items,
// values escaped.
func drawFilter(t *rapid.T, depth int) string {
	attr := rapid.SampledFrom([]string{"uid", "cn", "objectClass", "entryUUID", "mail", "memberOf"}).Draw(t, "attr")
	value := func() string { return ldap.EscapeFilter(berString(t, "value")) }
	kind := rapid.IntRange(0, 9).Draw(t, "kind")
	if depth >= 3 {
		kind %= 6
	}
	switch kind {
	case 0:
		return "(" + attr + "=" + value() + ")"
	case 1:
		return "(" + attr + "=*)"
	case 2:
		return "(" + attr + "=" + value() + "*" + value() + "*)"
	case 3:
		return "(" + attr + ">=" + value() + ")"
	case 4:
		return "(" + attr + "~=" + value() + ")"
	case 5:
		return "(" + attr + ":" + rapid.SampledFrom([]string{"caseExactMatch", "dnSubtreeMatch", "1.2.840.113556.1.4.803"}).Draw(t, "rule") + ":=" + value() + ")"
	case 6:
		return "(!" + drawFilter(t, depth+1) + ")"
	default:
		op := "&"
		if kind == 7 {
			op = "|"
		}
		n := rapid.IntRange(1, 4).Draw(t, "n")
		var b strings.Builder
		b.WriteString("(" + op)
		for range n {
			b.WriteString(drawFilter(t, depth+1))
		}
		return b.String() + ")"
	}
}

func drawControls(t *rapid.T) []ldap.Control {
	var cs []ldap.Control
	for range rapid.IntRange(0, 3).Draw(t, "controls") {
		switch rapid.IntRange(0, 4).Draw(t, "control") {
		case 0:
			p := ldap.NewControlPaging(rapid.Uint32().Draw(t, "pageSize"))
			p.SetCookie([]byte(berString(t, "cookie")))
			cs = append(cs, p)
		case 1:
			cs = append(cs, NewSortControl(SortKey{Attr: "entryUUID", Reverse: rapid.Bool().Draw(t, "reverse")}))
		case 2:
			cs = append(cs, &VLVControl{Before: rapid.IntRange(0, 1000).Draw(t, "before"), After: rapid.IntRange(0, 1000).Draw(t, "after"),
				Offset: rapid.IntRange(1, math.MaxInt32).Draw(t, "offset"), ContentCount: rapid.IntRange(0, math.MaxInt32).Draw(t, "count")})
		case 3:
			cs = append(cs, &AssertionControl{Filter: drawFilter(t, 2)})
		default:
			cs = append(cs, PermissiveModify())
		}
	}
	return cs
}

// drawSearchRequest draws a search with a random base, scope, limits, filter
// (drawFilter), up to maxAttrs attributes and controls; typesOnly is drawn
// only when withTypesOnly.
func drawSearchRequest(t *rapid.T, withTypesOnly bool, maxAttrs int) *ldap.SearchRequest {
	return ldap.NewSearchRequest(berString(t, "base"),
		rapid.IntRange(0, 3).Draw(t, "scope"), rapid.IntRange(0, 3).Draw(t, "deref"),
		rapid.OneOf(rapid.IntRange(0, 1000), rapid.Int()).Draw(t, "sizeLimit"),
		rapid.OneOf(rapid.IntRange(0, 200), rapid.Int()).Draw(t, "timeLimit"),
		withTypesOnly && rapid.Bool().Draw(t, "typesOnly"), drawFilter(t, 0),
		rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom([]string{"uid", "cn", "entryUUID", "+", "*", "1.1"}), rapid.String()), 0, maxAttrs).Draw(t, "attrs"),
		drawControls(t))
}

// TestEncodeSearchMatchesGoLDAP holds encodeSearchMessage byte for byte equal
// to go-ldap's packet encoding of the same request, across lengths in every
// form of X.690 §8.1.3, negative and 8-octet integers, and message IDs up to
// 2^31-1.
func TestEncodeSearchMatchesGoLDAP(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		req := drawSearchRequest(t, true, 300)
		id := rapid.Int64Range(1, math.MaxInt32).Draw(t, "id")
		got, err := encodeSearchMessage(id, req)
		if err != nil {
			t.Fatalf("encodeSearchMessage(%q): %v", req.Filter, err)
		}
		want, err := goLDAPSearchMessage(id, req)
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encoding differs from go-ldap's\n got %x\nwant %x", got, want)
		}
	})
}

// An unparsable filter fails as ldap.CompileFilter fails, before anything is sent.
func TestEncodeSearchBadFilter(t *testing.T) {
	for _, f := range []string{"", "uid=x", "(uid=x", "(&(uid=x)", `(uid=\zz)`} {
		_, err := encodeSearchMessage(1, ldap.NewSearchRequest("", 0, 0, 0, 0, false, f, nil, nil))
		_, want := ldap.CompileFilter(f)
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("filter %q: error %v, want go-ldap's %v", f, err, want)
		}
	}
}

// The other requests (bind, StartTLS, unbind) keep their packets; their
// framing must equal go-ldap's.
func TestEncodeMessageMatchesGoLDAP(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, berString(t, "dn"), "User Name"))
		op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, berString(t, "password"), "Password"))
		if rapid.Bool().Draw(t, "unbind") {
			op = ber.Encode(ber.ClassApplication, ber.TypePrimitive, ldap.ApplicationUnbindRequest, nil, "Unbind Request")
		}
		id := rapid.Int64Range(1, math.MaxInt32).Draw(t, "id")
		controls := drawControls(t)
		if got, want := encodeMessage(id, op, controls), goLDAPEnvelope(id, op, controls); !bytes.Equal(got, want) {
			t.Fatalf("framing differs from go-ldap's\n got %x\nwant %x", got, want)
		}
	})
}

func TestNextMessageID(t *testing.T) {
	for _, c := range []struct{ id, want int64 }{{0, 1}, {1, 2}, {math.MaxInt32 - 1, math.MaxInt32}, {math.MaxInt32, 1}} {
		if got := nextMessageID(c.id); got != c.want {
			t.Errorf("nextMessageID(%d) = %d, want %d", c.id, got, c.want)
		}
	}
}

// BenchmarkEncodeSearch encodes, with encodeSearchMessage and with go-ldap's
// packets (the oracle above), the SearchRequest of an IdP's userName lookup
// asking for 20 attributes, and one batch of a list page's reference
// resolution: the entryUUID of 50 groups named by DN (directory.refBatch).
func BenchmarkEncodeSearch(b *testing.B) {
	attrs := []string{"uid", "cn", "sn", "givenName", "displayName", "mail", "title", "telephoneNumber", "mobile", "employeeNumber",
		"departmentNumber", "o", "manager", "pwdAccountLockedTime", "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp", "objectClass", "memberOf"}
	var dns strings.Builder
	for i := range 50 {
		fmt.Fprintf(&dns, "(entryDN=cn=group-%03d,ou=groups,dc=example,dc=org)", i)
	}
	for _, c := range []struct {
		name string
		req  *ldap.SearchRequest
	}{
		{"lookup", ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 101, 0, false,
			"(&(objectClass=inetOrgPerson)(uid=user-000123))", attrs, nil)},
		{"50-DNs", ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=groupOfNames)(|"+dns.String()+"))", []string{"entryUUID"}, nil)},
	} {
		b.Run(c.name+"/wire", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeSearchMessage(5, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/go-ldap", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := goLDAPSearchMessage(5, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// RFC 4515 §4's examples, and whether appendFilter writes them itself (the
// extensible matches are left to go-ldap).
var rfc4515Examples = []struct {
	filter string
	own    bool
}{
	{"(cn=Babs Jensen)", true},
	{"(!(cn=Tim Howes))", true},
	{"(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))", true},
	{"(o=univ*of*mich*)", true},
	{"(seeAlso=)", true},
	{"(cn:caseExactMatch:=Fred Flintstone)", true},
	{"(cn:=Betty Rubble)", false},
	{"(sn:dn:2.4.6.8.10:=Barney Rubble)", false},
	{"(o:dn:=Ace Industry)", false},
	{"(:1.2.3:=Wilma Flintstone)", false},
	{"(:DN:2.4.6.8.10:=Dino)", false},
	{`(o=Parens R Us \28for all your parenthetical needs\29)`, true},
	{`(cn=*\2A*)`, true},
	{`(filename=C:\5cMyFile)`, true},
	{`(bin=\00\00\00\04)`, true},
	{`(sn=Lu\c4\8di\c4\87)`, true},
	{`(1.3.6.1.4.1.1466.0=\04\02\48\69)`, true},
	// RFC 4526's absolute true and false, and the shapes of substrings.
	{"(&)", true}, {"(|)", true},
	{"(cn=*)", true}, {"(cn=a*)", true}, {"(cn=*a)", true}, {"(cn=**)", true}, {"(cn=a**b)", true},
	{"(uidNumber>=1000)", true}, {"(uidNumber<=1000)", true}, {"(cn~=Jensen)", true},
	// Extensible matches the gateway writes (slapd's caseExactMatch and
	// dnSubtreeMatch, AD's LDAP_MATCHING_RULE_BIT_AND), and those left to go-ldap.
	{"(uniqueIdentifier:caseExactMatch:=abc)", true}, {"(entryDN:dnSubtreeMatch:=ou=people,dc=example,dc=org)", true},
	{"(userAccountControl:1.2.840.113556.1.4.803:=2)", true}, {`(cn:caseExactMatch:=aab)`, true}, {"(cn:caseExactMatch:=)", true},
	{"(cn:caseExactMatch:=a*b)", false}, {"(cn:DN:=x)", false}, {"(cn:dn:caseExactMatch:=x)", false}, {"(cn::=x)", false},
	// go-ldap's leniencies and errors: left to it.
	{"(!cn=x)", false}, {"((cn=x))", false}, {"(cn>=*)", false}, {"(cn=Lu\u010di)", false}, {`(cn=\2)`, false},
	{"(cn=x", false}, {"(cn=x))", false}, {"cn=x", false}, {"(cn(=x)", false}, {"()", false}, {"", false},
}

func TestAppendFilterRFC4515Examples(t *testing.T) {
	for _, c := range rfc4515Examples {
		got, own := appendFilter(nil, c.filter)
		if own != c.own {
			t.Errorf("%q: written here %v, want %v", c.filter, own, c.own)
			continue
		}
		if !own {
			continue
		}
		want, err := ldap.CompileFilter(c.filter)
		if err != nil {
			t.Errorf("%q: written here, but go-ldap fails: %v", c.filter, err)
			continue
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%q:\n got %x\nwant %x", c.filter, got, want.Bytes())
		}
	}
}

// Every filter the gateway's shape produces is written here, not by go-ldap
// (TestEncodeSearchMatchesGoLDAP checks the bytes).
func TestAppendFilterCoversEscapedFilters(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		if f := drawFilter(t, 0); !filterOwn(f) {
			t.Fatalf("%q left to go-ldap", f)
		}
	})
}

func filterOwn(f string) bool { _, ok := appendFilter(nil, f); return ok }

// FuzzAppendFilter: whatever appendFilter writes, go-ldap compiles to the
// same octets. Run for a while with
//
//	go test -run '^$' -fuzz FuzzAppendFilter -fuzztime 60s ./ldapstore/
func FuzzAppendFilter(f *testing.F) {
	for _, c := range rfc4515Examples {
		f.Add(c.filter)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		got, own := appendFilter([]byte("prefix"), filter)
		if !own {
			return
		}
		want, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("%q: written here, but go-ldap fails: %v", filter, err)
		}
		if !bytes.Equal(got, append([]byte("prefix"), want.Bytes()...)) {
			t.Fatalf("%q:\n got %x\nwant prefix+%x", filter, got, want.Bytes())
		}
	})
}
