package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// A resolution of more values than one window of batches (refBatch values a
// search, refParallel searches at once) finds every entry, delivers entries in
// the order of the values, costs one search per batch, and answers the same
// in plan mode; ids resolve to DNs the same way (idLookup, for writes).
func TestSearchBatchesManyWindows(t *testing.T) {
	e := newTestEnvConns(t, refParallel)
	const n = 2*refBatch*refParallel + 7 // 9 batches: three windows, the last one short
	users := e.m.ResourceType("User")
	var dns []string
	for i := range n {
		dn := fmt.Sprintf("uid=batch%04d,ou=people,dc=example,dc=org", i)
		add := ldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{fmt.Sprintf("batch%04d", i)})
		add.Attribute("cn", []string{"batch"})
		add.Attribute("sn", []string{"batch"})
		if err := e.conn.Add(add); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.conn.Del(ldap.NewDelRequest(dn, nil)) })
		dns = append(dns, dn)
	}
	dangling := "uid=batch-none,ou=people,dc=example,dc=org"
	values := append(append([]string(nil), dns...), dangling)

	for _, plan := range []bool{false, true} {
		ctx := ldapstore.WithOpCounter(t.Context())
		if plan {
			ctx = ldapstore.WithPlan(ctx, &ldapstore.Plan{})
		}
		d := users.Dialect()
		var got []string
		ids := map[string]string{}
		err := e.snap.searchBatches(ctx, users, func(dn string) (string, bool) { return d.DNFilter(dn), true }, values, []string{d.ID}, func(en *ldap.Entry) {
			got = append(got, en.DN)
			ids[d.EntryID(en)] = en.DN
		})
		if err != nil {
			t.Fatalf("plan %v: %v", plan, err)
		}
		if len(got) != n {
			t.Fatalf("plan %v: %d entries, want %d", plan, len(got), n)
		}
		// Within a batch the directory picks the order; batches come in order.
		batches := (len(values) + refBatch - 1) / refBatch
		size := (len(values) + batches - 1) / batches // even batches
		for i, dn := range got {
			if b := slices.Index(dns, dn) / size; b != i/size {
				t.Fatalf("plan %v: entry %d (%s) from batch %d, want batch %d", plan, i, dn, b, i/size)
			}
		}
		if ops, want := ldapstore.OpCount(ctx), int64(batches); ops != want {
			t.Errorf("plan %v: %d LDAP operations, want %d (one per batch)", plan, ops, want)
		}

		// The same entries by id, with ids that are no UUID (no match,
		// not an error) among them.
		var idList []string
		for id := range ids {
			idList = append(idList, id)
		}
		idList = append(idList, "not-a-uuid")
		found, err := e.snap.idLookup(ctx, nil)([]string{"User"}, idList)
		if err != nil {
			t.Fatalf("plan %v: idLookup: %v", plan, err)
		}
		if len(found) != n {
			t.Errorf("plan %v: idLookup found %d of %d", plan, len(found), n)
		}
		for id, dn := range ids {
			if found[id] != dn {
				t.Errorf("plan %v: idLookup %s = %q, want %q", plan, id, found[id], dn)
			}
		}
	}
}

// A batch that fails fails the resolution with its own error, not with the
// cancellation of the batches searched beside it; a base that does not exist
// is the directory's 32 noSuchObject, not "context canceled".
//
// The batches beside a failing one are not cancelled but searched to their
// end: a search cut short costs its connection (and a dial cut short with it)
// and counts as "deadline" in scim2ldap_ldap_operations_total, which tells an
// operator the directory was too slow when it was not.
func TestSearchBatchesFailingBatch(t *testing.T) {
	e := newTestEnvConns(t, refParallel)
	var mu sync.Mutex
	var cut []string
	e.snap.d.store.SetObserver(func(op, result string, _ time.Duration) {
		if result == "deadline" {
			mu.Lock()
			cut = append(cut, op)
			mu.Unlock()
		}
	})
	users := e.m.ResourceType("User")
	var values []string
	for i := range refBatch * refParallel {
		values = append(values, fmt.Sprintf("u%d", i))
	}
	values[refBatch+3] = "(" // an unbalanced filter in the second batch only
	clause := func(v string) (string, bool) {
		if v == "(" {
			return v, true
		}
		return "(uid=" + v + ")", true
	}
	err := e.snap.searchBatches(t.Context(), users, clause, values, []string{"uid"}, func(*ldap.Entry) {})
	if err == nil || errors.Is(err, context.Canceled) || ldapstore.IsUnavailable(err) {
		t.Errorf("a batch with a bad filter: %v; want the filter's error", err)
	}
	mu.Lock()
	if len(cut) > 0 {
		t.Errorf("operations cut short beside the failing batch: %v", cut)
	}
	mu.Unlock()

	users.Base = "ou=nowhere,dc=example,dc=org"
	clause = func(v string) (string, bool) { return "(uid=" + ldap.EscapeFilter(v) + ")", true }
	err = e.snap.searchBatches(t.Context(), users, clause, values, []string{"uid"}, func(*ldap.Entry) {})
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("searches under a base that does not exist: %v; want 32 noSuchObject", err)
	}
}
