package adtest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

func TestEntraGroupLifecycleAD(t *testing.T) {
	e := newEnv(t, "")
	u1 := e.MustCreate("/Users", user("eg-u1", nil))
	u2 := e.MustCreate("/Users", user("eg-u2", nil))
	u3 := e.MustCreate("/Users", user("eg-u3", nil))
	q := "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(`displayName eq "Entra Group"`)
	if l := e.Do("GET", q, nil); l.Body["totalResults"] != 0.0 {
		t.Fatalf("match: %s", l.Raw)
	}
	gid := e.MustCreate("/Groups", map[string]any{
		"schemas":    []string{grpSchema, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Entra Group", "meta": map[string]any{"resourceType": "Group"}})
	g := e.byID(gid)
	if g == nil || len(g.GetAttributeValues("member")) != 0 || g.GetAttributeValue("sAMAccountName") != "Entra Group" {
		t.Fatalf("an empty AD group has no member value at all: %+v", g)
	}
	if r := e.Do("GET", "/Groups/"+gid, nil); r.Body["members"] != nil || r.Body["displayName"] != "Entra Group" {
		t.Errorf("GET empty group: %s", r.Raw)
	}
	if l := e.Do("GET", q, nil); l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "members") != nil {
		t.Errorf("match after create: %s", l.Raw)
	}
	// Two members in one PATCH, with "$ref": null.
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{
		map[string]any{"$ref": nil, "value": u1}, map[string]any{"$ref": nil, "value": u2}})))
	if m := sorted(memberDNs(e.byID(gid))); !slices.Equal(m, []string{dnOf("eg-u1"), dnOf("eg-u2")}) {
		t.Errorf("members after add: %q", m)
	}
	// The user's read-only groups, from AD's own memberOf.
	if r := e.Do("GET", "/Users/"+u1, nil); get(r.Body, "groups", "0", "value") != gid {
		t.Errorf("user groups: %s", r.Raw)
	}
	// Re-adding is a no-op; default-mode remove by value list removes only those.
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": u1}})))
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": u3}})))
	e.MustPatch("/Groups/"+gid, patchBody(op("Remove", "members", []any{map[string]any{"$ref": nil, "value": u1}})))
	if m := sorted(memberDNs(e.byID(gid))); !slices.Equal(m, []string{dnOf("eg-u2"), dnOf("eg-u3")}) {
		t.Errorf("after remove by value list: %q", m)
	}
	// Flag mode: remove by filter; removing a non-member is a no-op.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil)))
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u1), nil)))
	if m := memberDNs(e.byID(gid)); !slices.Equal(m, []string{dnOf("eg-u3")}) {
		t.Errorf("after remove by filter: %q", m)
	}
	// Removing the last member leaves an empty group.
	e.MustPatch("/Groups/"+gid, patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, u3), nil)))
	if m := e.byID(gid).GetAttributeValues("member"); len(m) != 0 {
		t.Errorf("after removing the last member: %q", m)
	}
	// Rename: modrdn, objectGUID kept, sAMAccountName follows; 204 on request.
	r := e.MustPatch("/Groups/"+gid, patchBody(op("Replace", "displayName", "Entra Group 2")), "Prefer", "return=minimal")
	if g := e.byID(gid); r.Status != 204 || g == nil || strings.ToLower(g.DN) != dnOf("Entra Group 2") || g.GetAttributeValue("sAMAccountName") != "Entra Group 2" {
		t.Errorf("rename: %d %+v", r.Status, g)
	}
	// A renamed member stays a member (AD rewrites member values itself).
	e.MustPatch("/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": u1}})))
	e.MustPatch("/Users/"+u1, patchBody(op("Replace", "userName", "eg-u1-renamed")))
	if m := memberDNs(e.byID(gid)); !slices.Equal(m, []string{dnOf("eg-u1-renamed")}) {
		t.Errorf("member after the user's rename: %q", m)
	}
	// Unknown member id → 400, nothing changes.
	wantError(t, e.Do("PATCH", "/Groups/"+gid, patchBody(op("Add", "members", []any{map[string]any{"value": "7d3bcbf1-0000-0000-0000-000000000000"}}))), 400, "invalidValue", "7d3bcbf1")
	if d := e.Do("DELETE", "/Groups/"+gid, nil); d.Status != 204 || e.byID(gid) != nil {
		t.Errorf("delete: %d", d.Status)
	}
}

func TestOktaGroupPushAD(t *testing.T) {
	e := newEnv(t, "")
	u1 := e.MustCreate("/Users", user("og-u1", nil))
	u2 := e.MustCreate("/Users", user("og-u2", nil))
	gid := e.MustCreate("/Groups", map[string]any{"schemas": []string{grpSchema}, "displayName": "Test SCIMv2", "members": []any{}})
	// Rename no-op before membership, then remove + add in one PATCH.
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "", map[string]any{"id": gid, "displayName": "Test SCIMv2"})))
	e.MustPatch("/Groups/"+gid, patchBody(
		op("remove", fmt.Sprintf(`members[value eq "%s"]`, u2), nil),
		op("add", "members", []any{map[string]any{"value": u1, "display": "og-u1"}, map[string]any{"value": u2}})))
	g := e.Do("GET", "/Groups/"+gid, nil)
	var ids []string
	for _, m := range g.Body["members"].([]any) {
		mm := m.(map[string]any)
		ids = append(ids, mm["value"].(string))
		if mm["type"] != "User" || !strings.HasSuffix(mm["$ref"].(string), "/Users/"+mm["value"].(string)) {
			t.Errorf("member shape: %v", mm)
		}
	}
	if !slices.Equal(sorted(ids), sorted([]string{u1, u2})) {
		t.Errorf("members %v, want %v", ids, []string{u1, u2})
	}
	// Full push: replace sets exactly the list; [] empties the group.
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "members", []any{map[string]any{"value": u2}})))
	if m := memberDNs(e.byID(gid)); !slices.Equal(m, []string{dnOf("og-u2")}) {
		t.Errorf("after replace: %q", m)
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("replace", "members", []any{})))
	if m := e.byID(gid).GetAttributeValues("member"); len(m) != 0 {
		t.Errorf("after replace []: %q", m)
	}
	// AIW: PUT with displayName and full members; a nested group as a member
	// (users and groups share one OU: members are told apart by their entries).
	sub := e.MustCreate("/Groups", map[string]any{"displayName": "Nested"})
	p := e.Do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{grpSchema}, "displayName": "Test SCIMv2",
		"members": []any{map[string]any{"value": u1}, map[string]any{"value": sub}}})
	if p.Status != 200 || len(p.Body["members"].([]any)) != 2 {
		t.Fatalf("PUT: %s", p.Raw)
	}
	types := map[string]string{}
	for _, m := range p.Body["members"].([]any) {
		types[m.(map[string]any)["value"].(string)] = m.(map[string]any)["type"].(string)
	}
	if types[u1] != "User" || types[sub] != "Group" {
		t.Errorf("member types %v", types)
	}
	if l := e.Do("GET", "/Groups"+filterQ(`members.value eq "`+sub+`"`), nil); l.Body["totalResults"] != 1.0 || get(l.Body, "Resources", "0", "id") != gid {
		t.Errorf("filter by member: %s", l.Raw)
	}
	wantError(t, e.Do("POST", "/Groups", map[string]any{"displayName": "test scimv2"}), 409, "uniqueness", "displayName")
}

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
