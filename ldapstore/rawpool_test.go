package ldapstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// opLog records what a store's observer sees, safely for concurrent searches.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func observe(s *ldapstore.Store) *opLog {
	l := &opLog{}
	s.SetObserver(func(op, result string, _ time.Duration) {
		l.mu.Lock()
		l.ops = append(l.ops, op+":"+result)
		l.mu.Unlock()
	})
	return l
}

func (l *opLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.ops, " ")
}

func (l *opLog) count(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.ops {
		if o == op {
			n++
		}
	}
	return n
}

// Searches reuse the pool's connections: one dial for many searches in a row,
// and never more connections than Config.Conns however many searches run at
// once (run with -race: the pool is shared by every request).
func TestSearchReusesItsConnections(t *testing.T) {
	s := adminStore(t, 2)
	log := observe(s)
	for i := range 10 {
		res, err := s.Search(context.Background(), baseSearch())
		if err != nil || len(res.Entries) != 1 || res.Entries[0].DN != slapd.BaseDN {
			t.Fatalf("search %d: %v, %v", i, res, err)
		}
	}
	if got := log.count("connect:0"); got != 1 {
		t.Errorf("10 searches in a row dialled %d connections, want 1 (%s)", got, log)
	}
	if n := ldapstore.RawIdle(s, 0); n != 1 {
		t.Errorf("%d idle connections after searches in a row, want 1", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				res, err := s.Search(context.Background(), baseSearch())
				if err == nil && (len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("dc") == "") {
					err = errors.New("wrong answer")
				}
				if err != nil {
					errs <- err
					t.Errorf("goroutine %d, search %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got, most := log.count("connect:0"), 4*2; got > most { // searchConnsPerConn × Conns
		t.Errorf("concurrent searches dialled %d connections in all, want at most %d", got, most)
	}
	if got := log.count("search:0"); got != 10+8*25 {
		t.Errorf("observed %d successful searches, want %d", got, 10+8*25)
	}
	if n := ldapstore.RawIdle(s, 0); n < 1 || n > 4*2 {
		t.Errorf("%d idle connections, want 1 to %d", n, 4*2)
	}
	s.Close()
	if n := ldapstore.RawIdle(s, 0); n != 0 {
		t.Errorf("%d idle connections after Close, want 0", n)
	}
}

// The directory's links die (a restart): the search that finds its
// connection dead is retried once on a fresh one and succeeds. With the
// directory gone, Search reports it unavailable (503 upstream), at once while
// the dial backs off, and works again once the directory is back.
func TestSearchRetriesOnAFreshConnection(t *testing.T) {
	p := slapdtest.NewForwarder(t, slapd.URL)
	s, err := ldapstore.Open(ldapstore.Config{URL: p.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	log := observe(s)
	p.Cut()
	ctx := ldapstore.WithOpCounter(context.Background())
	if _, err := s.Search(ctx, baseSearch()); err != nil {
		t.Fatalf("search after the links died: %v", err)
	}
	if got := log.String(); got != "search:network connect:0 search:0" {
		t.Errorf("observer saw %q, want the dead link, a dial and the retry", got)
	}
	if n := ldapstore.OpCount(ctx); n != 2 {
		t.Errorf("op count %d, want 2 (the attempt and its retry)", n)
	}
	p.Down()
	for i := range 2 {
		if _, err := s.Search(context.Background(), baseSearch()); !ldapstore.IsUnavailable(err) {
			t.Fatalf("search %d with the directory gone: %v, want unavailable", i, err)
		} else if ldapstore.ResultLabel(err) != "network" {
			t.Errorf("search %d with the directory gone: result label %q, want network", i, ldapstore.ResultLabel(err))
		}
	}
	p.Up(t)
	waitFor(t, "a search once the directory is back", func() bool {
		_, err := s.Search(context.Background(), baseSearch())
		return err == nil
	})
}

// A hung directory: the caller's deadline, and its cancellation, end the
// search at once (not at Config.Timeout), and the connection, whose answer
// may still come, is closed rather than reused; Config.Timeout ends a search
// whose caller set no deadline, as a network failure that is retried once.
func TestSearchDeadlineAndTimeout(t *testing.T) {
	f := newFreezer(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	s, err := ldapstore.Open(ldapstore.Config{URL: "ldap://" + f.l.Addr().String(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.Search(ctx, baseSearch()); !ldapstore.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want an unavailable deadline error, got %v", err)
	}
	if n := ldapstore.RawIdle(s, 0); n != 0 {
		t.Errorf("%d idle connections after a search cut short, want 0", n)
	}
	f.frozen.Store(false)
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatalf("search on a fresh connection: %v", err)
	}
	f.frozen.Store(true)
	cctx, ccancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, ccancel)
	done := make(chan error, 1)
	go func() { _, err := s.Search(cctx, baseSearch()); done <- err }()
	select {
	case err := <-done:
		if !ldapstore.IsUnavailable(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("want an unavailable cancellation error, got %v", err)
		}
	case <-time.After(10 * time.Second): // far below the 30 s timeout
		t.Fatal("the search ignored its cancellation")
	}

	// Config.Timeout, with no deadline on the request.
	f2 := newFreezer(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	s2, err := ldapstore.Open(ldapstore.Config{URL: "ldap://" + f2.l.Addr().String(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	log := observe(s2)
	f2.frozen.Store(true)
	if _, err := s2.Search(context.Background(), baseSearch()); !ldapstore.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want an unavailable network error, got %v", err)
	}
	if got := log.String(); got != "search:network connect:network search:network" {
		t.Errorf("observer saw %q, want the timed-out search, a failed redial and its report", got)
	}
}

// A switch of server drains the idle connections of the one left: after a
// failback, the later server keeps none and reads go to the first; after a
// failover, the first keeps none and reads go to the later one.
func TestSearchFollowsTheServerInUse(t *testing.T) {
	a := slapdtest.Unreachable(t, slapd.URL) // the preferred server, down at first
	b := slapdtest.NewForwarder(t, slapd.URL)
	s, err := ldapstore.Open(ldapstore.Config{URL: a.URL() + " " + b.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 2,
		Timeout: 2 * time.Second, FailbackInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, pos := s.InUse(); pos != 1 {
		t.Fatalf("in use: server %d, want 1", pos)
	}
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	if n := ldapstore.RawIdle(s, 1); n != 1 {
		t.Fatalf("%d idle connections on server 1, want 1", n)
	}
	a.Up(t)
	waitFor(t, "the failback", func() bool { _, pos := s.InUse(); return pos == 0 })
	if n := ldapstore.RawIdle(s, 1); n != 0 {
		t.Errorf("%d idle connections on the server left, want 0", n)
	}
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	if a0, b1 := ldapstore.RawIdle(s, 0), ldapstore.RawIdle(s, 1); a0 != 1 || b1 != 0 {
		t.Errorf("idle connections after a search: %d on server 0, %d on server 1; want 1, 0", a0, b1)
	}
	a.Down()
	waitFor(t, "a search after the preferred server died", func() bool {
		_, err := s.Search(context.Background(), baseSearch())
		return err == nil
	})
	if _, pos := s.InUse(); pos != 1 {
		t.Errorf("in use: server %d, want 1 after the failover", pos)
	}
	if a0, b1 := ldapstore.RawIdle(s, 0), ldapstore.RawIdle(s, 1); a0 != 0 || b1 != 1 {
		t.Errorf("idle connections after the failover: %d on server 0, %d on server 1; want 0, 1", a0, b1)
	}
}

// A dial cut short by its request's cancellation (a client gone, or a search
// of the same request that failed beside it) says nothing of the server: the
// next search dials at once, not "reconnecting" through the dial backoff.
func TestCancelledDialIsNoServerFailure(t *testing.T) {
	s := adminStore(t, 1)
	if err := ldapstore.DialCancelled(s); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial for a cancelled request: %v; want it cancelled", err)
	}
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatalf("search after a cancelled dial: %v", err)
	}
}
