package ldapstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// BenchmarkSearchVLVManyValues reads one VLV page of 100 entries with 300
// values each (description: DNs as long as memberOf's) from slapd, as
// SearchVLV does (a connection of its own: dial, bind, search, close) and as
// the same steps on a go-ldap connection do (what SearchVLV did before):
//
//	go test -run '^$' -bench SearchVLVManyValues -benchmem ./ldapstore/
func BenchmarkSearchVLVManyValues(b *testing.B) {
	const users, values = 100, 300
	admin := adminConn(b)
	ou := "ou=vlvbench," + slapd.BaseDN
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{"vlvbench"})
	if err := admin.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		b.Fatal(err)
	}
	descs := make([]string, values)
	for i := range descs {
		descs[i] = fmt.Sprintf("cn=group %03d with a longer name,ou=groups,dc=example,dc=org", i)
	}
	for u := range users {
		uid := fmt.Sprintf("bench%03d", u)
		a := ldap.NewAddRequest("uid="+uid+","+ou, nil)
		a.Attribute("objectClass", []string{"inetOrgPerson"})
		a.Attribute("uid", []string{uid})
		a.Attribute("cn", []string{"User " + uid})
		a.Attribute("sn", []string{"User"})
		a.Attribute("mail", []string{uid + "@example.org"})
		a.Attribute("description", descs)
		if err := admin.Add(a); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			b.Fatal(err)
		}
	}
	s := adminStore(b, 1)
	byID := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "entryUUID", OrderingRule: "UUIDOrderingMatch"})
	req := ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)",
		[]string{"uid", "cn", "sn", "mail", "description", "entryUUID"}, nil)
	vlv := func() *ldapstore.VLVControl { return &ldapstore.VLVControl{Offset: 1, After: users - 1} }
	b.Run("go-ldap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := ldap.DialURL(slapd.URL)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
				b.Fatal(err)
			}
			r := *req
			r.Controls = []ldap.Control{byID, vlv()}
			res, err := c.Search(&r)
			c.Close()
			if err != nil || len(res.Entries) != users || len(res.Entries[0].GetAttributeValues("description")) != values {
				b.Fatalf("%v", err)
			}
		}
	})
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := s.SearchVLV(context.Background(), req, byID, vlv())
			if err != nil || len(res.Entries) != users || len(res.Entries[0].GetAttributeValues("description")) != values {
				b.Fatalf("%v", err)
			}
		}
	})
}
