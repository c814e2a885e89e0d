package ldapstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// TestSearchVLVReadsWhatGoLDAPReads: SearchVLV, which reads the directory's
// answer with the package's own decoder on a connection of its own, returns
// the entries, values (text and bytes) and list position that go-ldap reads
// from the same VLV search, over ldap://, StartTLS and ldaps://. The window
// holds an entry with 300 values of one attribute and a binary one.
func TestSearchVLVReadsWhatGoLDAPReads(t *testing.T) {
	base, _ := sortFixture(t, "wire", 12)
	admin := adminConn(t)
	photo := make([]byte, 3000) // long-form lengths, every octet value
	for i := range photo {
		photo[i] = byte(i * 7)
	}
	many := ldap.NewAddRequest("uid=many,"+base, nil)
	many.Attribute("objectClass", []string{"inetOrgPerson"})
	many.Attribute("uid", []string{"many"})
	many.Attribute("cn", []string{"Person 0055"}) // between Person 005 and 006
	many.Attribute("sn", []string{"Many"})
	many.Attribute("jpegPhoto", []string{string(photo)})
	var descs []string
	for i := range 300 {
		descs = append(descs, fmt.Sprintf("cn=group %03d,ou=groups,dc=example,dc=org", i))
	}
	many.Attribute("description", descs)
	if err := admin.Add(many); err != nil {
		t.Fatal(err)
	}

	byCN := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)",
		[]string{"cn", "description", "jpegPhoto", "entryUUID"}, nil)
	window := func() *ldapstore.VLVControl { return &ldapstore.VLVControl{Offset: 3, After: 9} }

	// go-ldap's reading of the same search, bound as the same service account.
	ref, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if err := ref.Bind(slapd.BindDN, slapd.Password); err != nil {
		t.Fatal(err)
	}
	r := *req
	r.Controls = []ldap.Control{byCN, window()}
	want, err := ref.Search(&r)
	if err != nil {
		t.Fatal(err)
	}
	wantTarget, wantCount := vlvPosition(t, want.Controls)
	if len(want.Entries) != 10 || wantCount != 13 || wantTarget != 3 {
		t.Fatalf("go-ldap: %d entries, target %d of %d; want 10, 3 of 13", len(want.Entries), wantTarget, wantCount)
	}

	for _, mode := range []struct {
		name string
		cfg  ldapstore.Config
	}{
		{"ldap", ldapstore.Config{URL: slapd.URL}},
		{"starttls", ldapstore.Config{URL: slapd.URL, StartTLS: true, CAFile: slapd.CAFile}},
		{"ldaps", ldapstore.Config{URL: slapd.LDAPSURL, CAFile: slapd.CAFile}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cfg := mode.cfg
			cfg.BindDN, cfg.BindPassword, cfg.Conns = slapd.BindDN, slapd.Password, 1
			s, err := ldapstore.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var ops []string
			s.SetObserver(func(op, result string, d time.Duration) { ops = append(ops, op+":"+result) })
			got, err := s.SearchVLV(context.Background(), req, byCN, window())
			if err != nil {
				t.Fatal(err)
			}
			if got.Target != wantTarget || got.ContentCount != wantCount {
				t.Errorf("target %d of %d, go-ldap %d of %d", got.Target, got.ContentCount, wantTarget, wantCount)
			}
			if len(got.Entries) != len(want.Entries) {
				t.Fatalf("%d entries, go-ldap %d", len(got.Entries), len(want.Entries))
			}
			for i, e := range got.Entries {
				if diff := entryDiff(e, want.Entries[i]); diff != "" {
					t.Errorf("entry %d: %s", i, diff)
				}
			}
			if e := got.Entries[4]; e.DN != "uid=many,"+base || len(e.GetAttributeValues("description")) != 300 || !bytes.Equal(e.GetRawAttributeValue("jpegPhoto"), photo) {
				t.Errorf("entry 5 is %s with %d descriptions, want uid=many with 300 and its photo", e.DN, len(e.GetAttributeValues("description")))
			}
			if strings.Join(ops, " ") != "connect:0 search:0" {
				t.Errorf("observer saw %q", ops)
			}
			// Past the end: 76, with the list's size from the response control
			// slapd sends with the error.
			past, err := s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 20, After: 1})
			if !ldap.IsErrorWithCode(err, ldap.LDAPResultVirtualListViewErrorOrControlError) || !errors.Is(err, ldapstore.ErrVLVRange) || past == nil || past.ContentCount != wantCount {
				t.Errorf("offset 20 of %d: %+v, %v; want ErrVLVRange with the count", wantCount, past, err)
			}
		})
	}
}

// vlvPosition reads a VirtualListViewResponse control's targetPosition and
// contentCount (draft-ietf-ldapext-ldapv3-vlv-09 §6.2).
func vlvPosition(t *testing.T, controls []ldap.Control) (target, count int) {
	t.Helper()
	cs, ok := ldap.FindControl(controls, ldapstore.OIDVLVResponse).(*ldap.ControlString)
	if !ok {
		t.Fatal("no VLV response control")
	}
	p := ber.DecodePacket([]byte(cs.ControlValue))
	return int(p.Children[0].Value.(int64)), int(p.Children[1].Value.(int64))
}

func entryDiff(got, want *ldap.Entry) string {
	if got.DN != want.DN || len(got.Attributes) != len(want.Attributes) {
		return fmt.Sprintf("%s with %d attributes, want %s with %d", got.DN, len(got.Attributes), want.DN, len(want.Attributes))
	}
	for i, a := range got.Attributes {
		w := want.Attributes[i]
		if a.Name != w.Name || !slices.Equal(a.Values, w.Values) || !slices.EqualFunc(a.ByteValues, w.ByteValues, bytes.Equal) {
			return fmt.Sprintf("attribute %s differs from go-ldap's %s", a.Name, w.Name)
		}
	}
	return ""
}

// TestSearchVLVBindFailure: when the VLV connection's bind fails (the service
// account's password changed after the store opened), SearchVLV fails with
// the directory's 49 as an unavailable error naming the bind DN, never the
// password; the metrics see a failed connect and no search.
func TestSearchVLVBindFailure(t *testing.T) {
	base, _ := sortFixture(t, "wirebind", 2)
	admin := adminConn(t)
	dn := "uid=vlvbind," + base
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"vlvbind"})
	add.Attribute("cn", []string{"vlvbind"})
	add.Attribute("sn", []string{"x"})
	add.Attribute("userPassword", []string{"first-secret-4711"})
	if err := admin.Add(add); err != nil {
		t.Fatal(err)
	}
	s, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: dn, BindPassword: "first-secret-4711", Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("userPassword", []string{"second-secret-4712"})
	if err := admin.Modify(mod); err != nil {
		t.Fatal(err)
	}
	var ops []string
	s.SetObserver(func(op, result string, d time.Duration) { ops = append(ops, op+":"+result) })
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn"}, nil)
	byCN := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})
	res, err := s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 1, After: 1})
	var ue *ldapstore.UnavailableError
	if res != nil || !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || !errors.As(err, &ue) || !strings.Contains(err.Error(), "LDAP bind as \""+dn+"\"") {
		t.Fatalf("got %v, %v; want an unavailable error wrapping 49 that names the bind DN", res, err)
	}
	if strings.Contains(err.Error(), "secret-47") {
		t.Errorf("a password is in the error: %v", err)
	}
	if strings.Join(ops, " ") != "connect:49" {
		t.Errorf("observer saw %q", ops)
	}
}

// TestSearchVLVDirectoryGone: with the directory gone, SearchVLV fails at
// once with an unavailable error that the metrics count as "network"; with
// the directory hung, it fails at the request's deadline, counted as "deadline".
func TestSearchVLVDirectoryGone(t *testing.T) {
	req := ldap.NewSearchRequest(slapd.BaseDN, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	byCN := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})

	p := slapdtest.NewForwarder(t, slapd.URL)
	s, err := ldapstore.Open(ldapstore.Config{URL: p.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 1}); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	var ops []string
	s.SetObserver(func(op, result string, d time.Duration) { ops = append(ops, op+":"+result) })
	p.Down()
	_, err = s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 1})
	if !ldapstore.IsUnavailable(err) || ldapstore.ResultLabel(err) != "network" {
		t.Errorf("directory gone: %v (%s), want an unavailable network error", err, ldapstore.ResultLabel(err))
	}
	if strings.Join(ops, " ") != "connect:network" {
		t.Errorf("observer saw %q", ops)
	}

	f := newFreezer(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	hung, err := ldapstore.Open(ldapstore.Config{URL: "ldap://" + f.l.Addr().String(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	f.frozen.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := hung.SearchVLV(ctx, req, byCN, &ldapstore.VLVControl{Offset: 1}); done <- err }()
	select {
	case err := <-done:
		if !ldapstore.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) || ldapstore.ResultLabel(err) != "deadline" {
			t.Errorf("directory hung: %v (%s), want an unavailable error at the deadline", err, ldapstore.ResultLabel(err))
		}
	case <-time.After(10 * time.Second): // far beyond the 300 ms deadline, far below the 30 s timeout
		t.Fatal("SearchVLV ignored the caller's deadline")
	}
	// A request without a deadline whose client went away.
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { _, err := hung.SearchVLV(cctx, req, byCN, &ldapstore.VLVControl{Offset: 1}); done <- err }()
	time.Sleep(100 * time.Millisecond)
	ccancel()
	select {
	case err := <-done:
		if !ldapstore.IsUnavailable(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("request cancelled: %v, want an unavailable error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SearchVLV ignored the request's cancellation")
	}
}
