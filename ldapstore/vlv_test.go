package ldapstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// TestVLV: windows by offset and by value over a sorted list, with the list's
// size, in one search each; an offset past the end is ErrVLVRange; and many
// more VLV searches than slapd's sort slots (olcSssVlvMax 16) run one after the
// other, because each closes its own connection and with it slapd's list.
func TestVLV(t *testing.T) {
	base, want := sortFixture(t, "vlv", 30)
	s := adminStore(t, 1)
	if !s.Supports(ldapstore.OIDVLVRequest) {
		t.Fatal("slapd with sssvlv does not list the VLV control in its root DSE")
	}
	byCN := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "cn", OrderingRule: "caseIgnoreOrderingMatch"})
	req := ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"cn", "entryUUID"}, nil)
	cns := func(es []*ldap.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.GetAttributeValue("cn"))
		}
		return out
	}
	ctx := ldapstore.WithOpCounter(context.Background())
	for _, off := range []int{1, 11, 28, 30} {
		res, err := s.SearchVLV(ctx, req, byCN, &ldapstore.VLVControl{Offset: off, After: 4})
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if exp := want[off-1 : min(off+4, 30)]; !slices.Equal(cns(res.Entries), exp) || res.Target != off || res.ContentCount != 30 {
			t.Errorf("offset %d: %v target %d count %d, want %v target %d count 30", off, cns(res.Entries), res.Target, res.ContentCount, exp, off)
		}
	}
	if n := ldapstore.OpCount(ctx); n != 8 {
		t.Errorf("4 VLV searches counted %d operations, want 8 (bind + search each)", n)
	}
	_, err := s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 31, After: 4})
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultVirtualListViewErrorOrControlError) || !strings.Contains(err.Error(), ldapstore.ErrVLVRange.Error()) {
		t.Errorf("offset 31 of 30: %v, want ErrVLVRange", err)
	}

	// By value on entryUUID (UUIDOrderingMatch): the window starts at the first
	// entry ≥ the value, so a deleted entry's id still positions a walk.
	byID := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "entryUUID", OrderingRule: "UUIDOrderingMatch"})
	all, err := s.SearchVLV(context.Background(), req, byID, &ldapstore.VLVControl{Offset: 1, After: 29})
	if err != nil || len(all.Entries) != 30 {
		t.Fatalf("whole list by id: %d entries, %v", len(all.Entries), err)
	}
	ids := make([]string, 30)
	for i, e := range all.Entries {
		ids[i] = e.GetAttributeValue("entryUUID")
	}
	if !slices.IsSorted(ids) {
		t.Errorf("entryUUIDs not in ascending order: %v", ids)
	}
	v := ids[9]
	res, err := s.SearchVLV(context.Background(), req, byID, &ldapstore.VLVControl{Value: &v, After: 2})
	if err != nil || res.Target != 10 || len(res.Entries) != 3 || res.Entries[0].GetAttributeValue("entryUUID") != v {
		t.Errorf("value %s: target %d, %d entries, %v; want target 10, 3 entries starting at it", v, res.Target, len(res.Entries), err)
	}
	past := "ffffffff-ffff-ffff-ffff-ffffffffffff"
	res, err = s.SearchVLV(context.Background(), req, byID, &ldapstore.VLVControl{Value: &past, After: 2})
	if err != nil || res.Target != 31 || res.ContentCount != 30 {
		t.Errorf("value past the end: target %d count %d, %v; want target 31 count 30", res.Target, res.ContentCount, err)
	}

	for i := 0; i < 40; i++ {
		if _, err := s.SearchVLV(context.Background(), req, byCN, &ldapstore.VLVControl{Offset: 5, After: 1}); err != nil {
			t.Fatalf("VLV search %d of 40: %v", i, err)
		}
	}
	// The shared connection's sorted walks are not starved by them.
	walk := *req
	walk.Controls = []ldap.Control{byCN}
	n := 0
	if err := s.SearchPages(context.Background(), &walk, 7, func(p []*ldap.Entry) bool { n += len(p); return true }); err != nil || n != 30 {
		t.Errorf("sorted paged walk after 40 VLV searches: %d entries, %v", n, err)
	}
}
