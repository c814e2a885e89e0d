package ldapstore_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

func TestSortControlEncodesTrueAsFF(t *testing.T) {
	ctl := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch", Reverse: true}, ldapstore.SortKey{Attr: "entryUUID"})
	p := ctl.Encode()
	if len(p.Children) != 3 || p.Children[0].Value != ldapstore.OIDServerSideSort {
		t.Fatalf("control shape: %d children", len(p.Children))
	}
	if crit := p.Children[1].Bytes(); !bytes.Equal(crit, []byte{0x01, 0x01, 0xff}) {
		t.Errorf("criticality encoded % x, want 01 01 ff", crit)
	}
	keys := ber.DecodePacket(p.Children[2].Data.Bytes())
	if len(keys.Children) != 2 {
		t.Fatalf("%d sort keys, want 2", len(keys.Children))
	}
	k1, k2 := keys.Children[0], keys.Children[1]
	if len(k1.Children) != 3 || k1.Children[0].Data.String() != "cn" || k1.Children[1].Tag != 0 || k1.Children[1].Data.String() != "caseIgnoreOrderingMatch" {
		t.Errorf("first key: %d parts", len(k1.Children))
	}
	if rev := k1.Children[2].Bytes(); !bytes.Equal(rev, []byte{0x81, 0x01, 0xff}) {
		t.Errorf("reverseOrder encoded % x, want 81 01 ff (Samba reads 0x01 as FALSE)", rev)
	}
	if len(k2.Children) != 1 || k2.Children[0].Data.String() != "entryUUID" {
		t.Errorf("second key: no rule and no reverseOrder (DEFAULT FALSE) expected, got %d parts", len(k2.Children))
	}
	if s := ctl.String(); s != "ServerSideSort -cn:caseIgnoreOrderingMatch entryUUID" {
		t.Errorf("String() = %q", s)
	}
}

// sortFixture adds n entries under their own OU with cn values in scrambled
// order and returns the OU's DN and the cn values in ascending order.
var fixtures atomic.Int64

func sortFixture(t *testing.T, ou string, n int) (string, []string) {
	t.Helper()
	c := adminConn(t)
	ou = fmt.Sprintf("%s%d", ou, fixtures.Add(1)) // its own OU each time, so -count=N reruns too
	base := "ou=" + ou + "," + slapd.BaseDN
	add := ldap.NewAddRequest(base, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{ou})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	var cns []string
	for i := 0; i < n; i++ {
		j := (i * 37) % n // a permutation of 0..n-1 (37 is prime to n)
		cn := fmt.Sprintf("Person %03d", j)
		a := ldap.NewAddRequest(fmt.Sprintf("uid=p%03d,%s", i, base), nil)
		a.Attribute("objectClass", []string{"inetOrgPerson"})
		a.Attribute("uid", []string{fmt.Sprintf("p%03d", i)})
		a.Attribute("cn", []string{cn})
		a.Attribute("sn", []string{"x"})
		if err := c.Add(a); err != nil {
			t.Fatal(err)
		}
		cns = append(cns, cn)
	}
	slices.Sort(cns)
	return base, cns
}

// TestSortedPagedWalk: slapd (sssvlv) sorts the whole result once and pages
// through it when the sort control rides on every paged request.
func TestSortedPagedWalk(t *testing.T) {
	base, want := sortFixture(t, "sortwalk", 50)
	s := adminStore(t, 1)
	if !s.Supports(ldapstore.OIDServerSideSort) || !s.Supports(ldap.ControlTypePaging) || s.Supports("1.2.3.4") {
		t.Errorf("Supports: sort %v, paging %v, bogus %v", s.Supports(ldapstore.OIDServerSideSort), s.Supports(ldap.ControlTypePaging), s.Supports("1.2.3.4"))
	}
	for _, reverse := range []bool{false, true} {
		req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"},
			[]ldap.Control{ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch", Reverse: reverse})})
		var got []string
		pages := 0
		err := s.SearchPages(context.Background(), req, 7, func(page []*ldap.Entry) bool {
			pages++
			for _, e := range page {
				got = append(got, e.GetAttributeValue("cn"))
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		exp := slices.Clone(want)
		if reverse {
			slices.Reverse(exp)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("reverse=%v: got %v, want %v", reverse, got, exp)
		}
		if pages != 8 {
			t.Errorf("reverse=%v: %d pages of 7 for 50 entries, want 8", reverse, pages)
		}
	}
	// No ordering rule for cn in the stock schema: slapd refuses (18), and the
	// error reaches the caller.
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=*)", []string{"cn"},
		[]ldap.Control{ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn"})})
	err := s.SearchPages(context.Background(), req, 7, func([]*ldap.Entry) bool { return true })
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInappropriateMatching) {
		t.Errorf("sort on cn without a rule: %v, want 18 inappropriateMatching", err)
	}
}

// TestSortedWalkReleasesServerState: sssvlv keeps an unfinished sorted paged
// walk until it is abandoned, and refuses the 17th on one connection with 51
// busy (olcSssVlvMaxPerConn 16). Walks stopped by the callback or by a
// cancelled context must release theirs.
func TestSortedWalkReleasesServerState(t *testing.T) {
	base, _ := sortFixture(t, "sortrelease", 20)
	s := adminStore(t, 1)
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"},
		[]ldap.Control{ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})})
	for i := 0; i < 40; i++ {
		if err := s.SearchPages(context.Background(), req, 5, func([]*ldap.Entry) bool { return false }); err != nil {
			t.Fatalf("walk %d stopped by the callback: %v", i, err)
		}
	}
	for i := 0; i < 40; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		err := s.SearchPages(ctx, req, 5, func([]*ldap.Entry) bool { cancel(); return true })
		if !ldapstore.IsUnavailable(err) {
			t.Fatalf("walk %d cancelled: %v", i, err)
		}
	}
	n := 0
	if err := s.SearchPages(context.Background(), req, 5, func(p []*ldap.Entry) bool { n += len(p); return true }); err != nil || n != 20 {
		t.Fatalf("a full sorted walk after 80 interrupted ones: %d entries, %v", n, err)
	}
}

// TestBackToBackSortedWalks: right after a sorted walk ends, slapd's sssvlv may
// still be cleaning up its session and answer the next sorted search on the
// same connection with 51 busy ("Other sort requests already in progress");
// SearchPages retries a first page that got busy.
func TestBackToBackSortedWalks(t *testing.T) {
	base, want := sortFixture(t, "sortbacktoback", 12)
	s := adminStore(t, 1)
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"},
		[]ldap.Control{ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})})
	for i := 0; i < 300; i++ {
		var got []string
		err := s.SearchPages(context.Background(), req, 5, func(page []*ldap.Entry) bool {
			for _, e := range page {
				got = append(got, e.GetAttributeValue("cn"))
			}
			return true
		})
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("walk %d: %v, %v", i, err, got)
		}
	}
}

// A sorted search that finds every sort slot of slapd's sssvlv taken
// (olcSssVlvMax 16) gets 51 busy: the server's answer on a healthy link, so
// the store keeps its connections (before, Search closed two of them).
func TestBusySortKeepsConnections(t *testing.T) {
	base, _ := sortFixture(t, "sortbusy", 3)
	holder := adminConn(t)
	sorted := func(controls ...ldap.Control) *ldap.SearchRequest {
		return ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"},
			append([]ldap.Control{ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})}, controls...))
	}
	for i := 0; i < 16; i++ { // unfinished sorted walks hold their slots until the connection closes
		if _, err := holder.Search(sorted(ldap.NewControlPaging(1))); err != nil {
			t.Fatalf("holding sort slot %d: %v", i, err)
		}
	}
	s := adminStore(t, 4)
	if _, err := s.Search(context.Background(), sorted()); !ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
		t.Fatalf("a sorted search with every slot taken: %v, want 51 busy", err)
	}
	if up, down := s.Stats(); up != 4 || down != 0 {
		t.Errorf("after 51 busy: %d connections up, %d down; want 4 and 0", up, down)
	}
	holder.Close()
	eventuallyOK := false
	for i := 0; i < 50 && !eventuallyOK; i++ { // slapd frees the slots as it notices the closed connection
		_, err := s.Search(context.Background(), sorted())
		eventuallyOK = err == nil
		time.Sleep(20 * time.Millisecond)
	}
	if !eventuallyOK {
		t.Error("sorted searches still refused after the slots were freed")
	}
}

// Search with a size limit: reaching the limit the request set is the answer
// asked for (no error, counted as a success); the entries are those that came.
// The searches share one connection of Search's (one "connect").
func TestSearchReachingItsSizeLimit(t *testing.T) {
	base, _ := sortFixture(t, "sizelimit", 3)
	s := adminStore(t, 1)
	var results []string
	s.SetObserver(func(op, result string, _ time.Duration) { results = append(results, op+" "+result) })
	for _, c := range []struct{ limit, want int }{{2, 2}, {3, 3}, {4, 3}, {0, 3}} {
		req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, c.limit, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"}, nil)
		res, err := s.Search(context.Background(), req)
		if err != nil || len(res.Entries) != c.want {
			t.Errorf("size limit %d: %v, want %d entries and no error", c.limit, err, c.want)
			continue
		}
	}
	if want := []string{"connect 0", "search 0", "search 0", "search 0", "search 0"}; !slices.Equal(results, want) {
		t.Errorf("observed %q, want %q", results, want)
	}
}
