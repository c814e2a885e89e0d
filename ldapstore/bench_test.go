package ldapstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// BenchmarkFirstPageProbe compares the two ways to ask for a list's first page
// when it may hold every match (an IdP's `userName eq` lookup): a search with a
// size limit of count+1 (what the gateway sends) and one with the paged results
// control of count+1 (what it sent before). 32 goroutines over the store's 4
// connections, one matching entry of 2,000 each time:
//
//	go test -run '^$' -bench FirstPageProbe -benchtime 20000x ./ldapstore/
func BenchmarkFirstPageProbe(b *testing.B) {
	const n, prefix = 2000, "probe"
	c := adminConn(b)
	ou := "ou=" + prefix + "," + slapd.BaseDN
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{prefix})
	if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		b.Fatal(err)
	}
	for i := range n {
		uid := fmt.Sprintf("%s%05d", prefix, i)
		add := ldap.NewAddRequest("uid="+uid+","+ou, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{uid})
		add.Attribute("cn", []string{uid})
		add.Attribute("sn", []string{"Probe"})
		add.Attribute("mail", []string{uid + "@example.org"})
		if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			b.Fatal(err)
		}
	}
	store := adminStore(b, 4)
	const count = 100
	req := func(i int64) *ldap.SearchRequest {
		return ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			fmt.Sprintf("(&(objectClass=inetOrgPerson)(uid=%s%05d))", prefix, i%n), []string{"uid", "cn", "sn", "mail", "entryUUID"}, nil)
	}
	probes := []struct {
		name string
		run  func(ctx context.Context, r *ldap.SearchRequest) (int, error)
	}{
		{"sizelimit", func(ctx context.Context, r *ldap.SearchRequest) (int, error) {
			r.SizeLimit = count + 1
			res, err := store.Search(ctx, r)
			if err != nil {
				return 0, err
			}
			return len(res.Entries), nil
		}},
		{"paged", func(ctx context.Context, r *ldap.SearchRequest) (int, error) {
			got := 0
			err := store.SearchPages(ctx, r, count+1, func(page []*ldap.Entry) bool { got = len(page); return false })
			return got, err
		}},
	}
	for _, p := range probes {
		b.Run(p.name, func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(16) // 32 goroutines on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if got, err := p.run(ctx, req(next.Add(1))); err != nil || got != 1 {
						b.Errorf("%d entries, %v", got, err)
						return
					}
				}
			})
		})
	}
}
