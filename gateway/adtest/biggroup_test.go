package adtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// A group with 3,000 members: the gateway writes them in one modify, reads them
// back completely through ranged retrieval (member;range=0-1499, 1500-2999,
// 3000-*) and filters by member.
func TestBigGroupAD(t *testing.T) {
	const n = 3000
	e := newEnv(t, "")
	dns := addUsers(t, "big", n)
	ids := make([]string, n)
	res, err := e.ldap.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(sAMAccountName=big-*)", []string{"objectGUID"}, nil), 500)
	if err != nil || len(res.Entries) != n {
		t.Fatalf("read back %d users: %v", len(res.Entries), err)
	}
	index := map[string]int{}
	for i, dn := range dns {
		index[strings.ToLower(dn)] = i
	}
	for _, ent := range res.Entries {
		id, _ := mapping.GUIDString(ent.GetRawAttributeValue("objectGUID"))
		ids[index[strings.ToLower(ent.DN)]] = id
	}
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "Big AD Group"})
	var members []any
	for _, id := range ids {
		members = append(members, map[string]any{"value": id})
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", members)), "Prefer", "return=minimal")

	g := e.Do("GET", "/Groups/"+gid, nil)
	var got []string
	for _, m := range g.Body["members"].([]any) {
		got = append(got, m.(map[string]any)["value"].(string))
	}
	if len(got) != n || !slices.Equal(sorted(got), sorted(ids)) {
		t.Fatalf("GET returned %d members, want all %d", len(got), n)
	}
	// The DC answers member;range=0-1499 first: the rest came from further ranged reads.
	r, err := e.ldap.Search(ldap.NewSearchRequest(e.byID(gid).DN, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"member;range=0-1499"}, nil))
	if err != nil || len(r.Entries[0].Attributes) != 1 || r.Entries[0].Attributes[0].Name != "member;range=0-1499" {
		t.Errorf("the DC does not answer in ranges: %v %v", err, r)
	}
	// ldapstore.CompleteRanges turns that first range into the whole list.
	store, err := ldapstore.Open(ldapstore.Config{URL: dc.LDAPSURL, BindDN: dc.BindDN, BindPassword: dc.Password, CAFile: dc.CAFile, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CompleteRanges(context.Background(), r.Entries); err != nil || len(r.Entries[0].GetAttributeValues("member")) != n {
		t.Errorf("CompleteRanges: %v, %d values", err, len(r.Entries[0].GetAttributeValues("member")))
	}
	// The list endpoint reads every range too.
	if l := e.Do("GET", "/Groups"+filterQ(`displayName eq "Big AD Group"`), nil); len(get(l.Body, "Resources", "0", "members").([]any)) != n {
		t.Errorf("list: %d members", len(get(l.Body, "Resources", "0", "members").([]any)))
	}
	// Members filter correctly: the last one and one from the middle range.
	for _, i := range []int{n - 1, 1700} {
		if l := e.Do("GET", "/Groups"+filterQ(`members.value eq "`+ids[i]+`"`)+"&excludedAttributes=members", nil); l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "id") != gid {
			t.Errorf("filter by member %d: %s", i, l.Raw)
		}
	}
	if r := e.Do("GET", "/Users/"+ids[n-1], nil); get(r.Body, "groups", "0", "value") != gid {
		t.Errorf("user's groups: %s", r.Raw)
	}
	// Removing one member and adding it back touches only that value.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", `members[value eq "`+ids[42]+`"]`, nil)), "Prefer", "return=minimal")
	if l := e.Do("GET", "/Groups/"+gid, nil); len(l.Body["members"].([]any)) != n-1 {
		t.Errorf("after removing one: %d members", len(l.Body["members"].([]any)))
	}
}

// addUsers adds n users straight to the DC over 3 connections (AD adds are
// slow: ~200/s) and returns their DNs.
func addUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	dns := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := dial()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := w; i < n; i += 3 {
				name := fmt.Sprintf("%s-%04d", prefix, i)
				dns[i] = "CN=" + name + "," + ou
				add := ldap.NewAddRequest(dns[i], nil)
				add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
				add.Attribute("sAMAccountName", []string{name})
				if err := c.Add(add); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return dns
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
