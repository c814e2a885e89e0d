package ldapstore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// closedURL is an ldap:// URL on a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "ldap://" + l.Addr().String()
}

// A list whose first server is down: Open picks the next one that answers, and
// the store works there from the first request.
func TestListSkipsAServerThatIsDown(t *testing.T) {
	for _, sep := range []string{" ", ","} {
		s, err := ldapstore.Open(ldapstore.Config{URL: closedURL(t) + sep + slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 2})
		if err != nil {
			t.Fatalf("Open with the first server down: %v", err)
		}
		if url, pos := s.InUse(); url != slapd.URL || pos != 1 {
			t.Errorf("InUse = %s, %d; want %s, 1", url, pos, slapd.URL)
		}
		if _, err := s.Search(context.Background(), baseSearch()); err != nil {
			t.Errorf("Search: %v", err)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
		s.Close()
	}
	// Nothing reachable: Open fails as with one URL, naming the first server.
	first := closedURL(t)
	if _, err := ldapstore.Open(ldapstore.Config{URL: first + " " + closedURL(t), Timeout: time.Second}); err == nil {
		t.Error("Open with every server down succeeded")
	} else if want := "LDAP connect to " + first; !strings.Contains(err.Error(), want) {
		t.Errorf("Open: %v; want it to name %s", err, want)
	}
}

// clusterStore opens a store on the cluster's providers, in order, with
// failback checks every 100 ms.
func clusterStore(t *testing.T, c *slapdtest.Cluster, switches chan<- ldapstore.Switch) *ldapstore.Store {
	t.Helper()
	p := c.Providers[0]
	s, err := ldapstore.Open(ldapstore.Config{URL: c.URLs(), BindDN: p.BindDN, BindPassword: p.Password, Conns: 2,
		Timeout: 2 * time.Second, FailbackInterval: 100 * time.Millisecond,
		OnSwitch: func(sw ldapstore.Switch) {
			t.Logf("switch: %s -> %s: %s", sw.From, sw.To, sw.Reason)
			if switches != nil {
				switches <- sw
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func addPerson(ctx context.Context, s *ldapstore.Store, uid string) error {
	req := ldap.NewAddRequest(fmt.Sprintf("uid=%s,ou=people,dc=example,dc=org", uid), nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{uid})
	req.Attribute("cn", []string{uid})
	req.Attribute("sn", []string{uid})
	return s.Add(ctx, req)
}

func findPerson(ctx context.Context, s *ldapstore.Store, uid string) (bool, error) {
	res, err := s.Search(ctx, ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(uid="+ldap.EscapeFilter(uid)+")", []string{"1.1"}, nil))
	if err != nil {
		return false, err
	}
	return len(res.Entries) == 1, nil
}

// waitFor polls cond every 50 ms until it holds, failing the test after a
// generous bound (a liveness guard, not a timing requirement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after 60 s", what)
		}
	}
}

// The preferred provider dies: the store moves to the next, a write there is
// acknowledged; the preferred one comes back but takes no changes from its peer
// (its consumer is off), so it lacks that write and the store stays where the
// write is, check after check; once replication catches it up, the store fails
// back, and the write is read there.
func TestFailoverAndFailbackOnlyOnceCaughtUp(t *testing.T) {
	c, err := slapdtest.StartCluster(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx := context.Background()
	switches := make(chan ldapstore.Switch, 10)
	s := clusterStore(t, c, switches)
	if url, _ := s.InUse(); url != c.Providers[0].URL {
		t.Fatalf("InUse = %s, want the first provider %s", url, c.Providers[0].URL)
	}
	if err := addPerson(ctx, s, "before-failover"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReplication(0, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	// A read retries once on a fresh connection, which is on the next server.
	if ok, err := findPerson(ctx, s, "before-failover"); err != nil || !ok {
		t.Fatalf("read after the kill: found %v, %v", ok, err)
	}
	if sw := <-switches; sw.From != c.Providers[0].URL || sw.To != c.Providers[1].URL {
		t.Errorf("switch %+v, want from the first provider to the second", sw)
	}
	if err := addPerson(ctx, s, "during-failover"); err != nil {
		t.Fatalf("write on the second provider: %v", err)
	}
	if err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	checks := ldapstore.FailbackChecks(s)
	waitFor(t, "three failback checks", func() bool { return ldapstore.FailbackChecks(s) >= checks+3 })
	if url, _ := s.InUse(); url != c.Providers[1].URL {
		t.Fatalf("failed back to %s, which lacks a write acknowledged on %s", url, c.Providers[1].URL)
	}
	if err := c.SetReplication(0, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failback", func() bool { url, _ := s.InUse(); return url == c.Providers[0].URL })
	if sw := <-switches; sw.To != c.Providers[0].URL {
		t.Errorf("switch %+v, want back to the first provider", sw)
	}
	if ok, err := findPerson(ctx, s, "during-failover"); err != nil || !ok {
		t.Errorf("after the failback, the write made during the failover: found %v, %v", ok, err)
	}
	if fo, fb := s.Switches(); fo != 1 || fb != 1 {
		t.Errorf("Switches = %d failovers, %d failbacks; want 1, 1", fo, fb)
	}
}

// Writes keep going from several goroutines while the preferred provider is
// killed and resumed: every write is either acknowledged or answered with an
// unavailable error (never another error), and after the failback every
// acknowledged write is read through the store.
func TestWritesAcrossFailoverAndFailback(t *testing.T) {
	c, err := slapdtest.StartCluster(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	s := clusterStore(t, c, nil)
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				uid := fmt.Sprintf("w%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := addPerson(ctx, s, uid)
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					acked = append(acked, uid)
					mu.Unlock()
				case !ldapstore.IsUnavailable(err):
					t.Errorf("add %s: %v (want success or unavailable)", uid, err)
				}
				time.Sleep(5 * time.Millisecond) // an IdP's pace, not a flood

			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor(t, "some writes", func() bool { return count() >= 20 })
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	n := count()
	waitFor(t, "writes on the second provider", func() bool { return count() >= n+20 })
	if err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failback", func() bool { url, _ := s.InUse(); return url == c.Providers[0].URL })
	n = count()
	waitFor(t, "writes after the failback", func() bool { return count() >= n+20 })
	close(stop)
	wg.Wait()
	ctx := context.Background()
	for _, uid := range acked {
		if ok, err := findPerson(ctx, s, uid); err != nil || !ok {
			t.Errorf("acknowledged write %s: found %v, %v", uid, ok, err)
		}
	}
	t.Logf("%d writes acknowledged", len(acked))
}

// A request cancelled while it waited for a connection (a client gone, or a
// search of the same request that failed beside it) is no outage: it starts no
// failover, so none is paused when the server in use really goes down.
func TestCancelledRequestStartsNoFailover(t *testing.T) {
	s, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL + " " + closedURL(t), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ldapstore.FailoverCancelled(s, 20) {
		t.Error("a cancelled request's wait for a connection counted as a failover attempt")
	}
}
