package directory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// flightGroups creates n groups and returns their DNs and ids, by DN.
func flightGroups(t *testing.T, e *testEnv, prefix string, n int) ([]string, map[string]string) {
	t.Helper()
	var dns []string
	ids := map[string]string{}
	for i := range n {
		id, dn := e.create(t, "Group", map[string]any{"displayName": fmt.Sprintf("%s %d", prefix, i)})
		dns = append(dns, dn)
		ids[dn] = id
	}
	return dns, ids
}

// holdLane makes e's lane look busy, as while another render resolves; the
// returned function ends that resolution (landed), which starts the flight
// that waits.
func holdLane(t *testing.T, e *testEnv) (lane *flightLane, release func()) {
	t.Helper()
	fl := &e.snap.d.flights
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.lanes == nil {
		fl.lanes = map[*mapping.Mapping]*flightLane{}
	}
	lane = &flightLane{running: true, readers: map[uint64]bool{}}
	fl.lanes[e.snap.m] = lane
	return lane, func() { e.snap.landed(lane) }
}

// waitJoined waits until the lane's next flight holds n DNs.
func waitJoined(t *testing.T, e *testEnv, lane *flightLane, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		e.snap.d.flights.mu.Lock()
		got := 0
		if lane.next != nil {
			got = len(lane.next.dns)
		}
		e.snap.d.flights.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the next flight holds %d DNs, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Renders that arrive while a resolution runs wait for the next flight, which
// searches the union of their DNs once; each gets the references of its own
// DNs (a dangling one absent), and the lane is forgotten when idle.
func TestSharedRefsOfOneFlightForWaitingRenders(t *testing.T) {
	e := newTestEnv(t)
	dns, ids := flightGroups(t, e, "Flight Union", 4)
	dangling := "cn=Flight Nobody,ou=groups,dc=example,dc=org"
	asks := [][]string{{dns[0], dns[1]}, {dns[1], dns[2]}, {dns[3], dangling}}

	lane, release := holdLane(t, e)
	var searches atomic.Int64
	e.snap.d.store.SetObserver(func(op, _ string, _ time.Duration) {
		if op == "search" {
			searches.Add(1)
		}
	})
	got := make([]map[string]mapping.Ref, len(asks))
	errs := make([]error, len(asks))
	var wg sync.WaitGroup
	for i, ask := range asks {
		wg.Go(func() { got[i], errs[i] = e.snap.sharedRefsOf(t.Context(), ask) })
		waitJoined(t, e, lane, map[int]int{0: 2, 1: 3, 2: 5}[i]) // one at a time: each adds a DN of its own
	}
	if n := searches.Load(); n != 0 {
		t.Fatalf("%d searches before the running resolution ended", n)
	}
	release()
	wg.Wait()
	if n := searches.Load(); n != 1 {
		t.Errorf("%d searches for the flight of 5 DNs of one type; want 1", n)
	}
	for i, ask := range asks {
		if errs[i] != nil {
			t.Fatalf("render %d: %v", i, errs[i])
		}
		want := map[string]mapping.Ref{}
		for _, dn := range ask {
			if id, ok := ids[dn]; ok {
				want[mapping.RefKey(dn)] = mapping.Ref{ID: id, Type: "Group", Endpoint: "/Groups"}
			}
		}
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("render %d asked %q: got %v, want %v", i, ask, got[i], want)
		}
	}
	waitNoLane(t, e)
}

// waitNoLane waits until e's lane is forgotten (a flight lands just after its
// renders got their answer).
func waitNoLane(t *testing.T, e *testEnv) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); laneOf(e) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lane is kept after every render and page ended")
		}
	}
}

// A render that stops waiting (its client went away) returns its context's
// error at once; the flight still serves the renders beside it. A render
// whose DNs would pass maxFlightDNs does not wait: it resolves alone.
func TestSharedRefsOfLeavingAndOversized(t *testing.T) {
	e := newTestEnv(t)
	dns, ids := flightGroups(t, e, "Flight Leave", 2)
	lane, release := holdLane(t, e)

	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() { _, err := e.snap.sharedRefsOf(ctx, dns[:1]); left <- err }()
	waitJoined(t, e, lane, 1)
	var stayed map[string]mapping.Ref
	var stayErr error
	var wg sync.WaitGroup
	wg.Go(func() { stayed, stayErr = e.snap.sharedRefsOf(t.Context(), dns) })
	waitJoined(t, e, lane, 2)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) || !ldapstore.IsUnavailable(err) {
		t.Errorf("the render that left: %v, want context.Canceled as the directory unavailable (503, not 500)", err)
	}

	big := make([]string, maxFlightDNs)
	for i := range big {
		big[i] = fmt.Sprintf("cn=Flight Absent %d,ou=groups,dc=example,dc=org", i)
	}
	refs, err := e.snap.sharedRefsOf(t.Context(), big) // returns while the lane is still held
	if err != nil || len(refs) != 0 {
		t.Errorf("oversized render: %v, %v", refs, err)
	}

	release()
	wg.Wait()
	if stayErr != nil || len(stayed) != 2 || stayed[mapping.RefKey(dns[1])].ID != ids[dns[1]] {
		t.Errorf("the render that stayed: %v, %v", stayed, stayErr)
	}
}

// Renders at the same time, each of a random part of a set of groups, each get
// exactly their part's references, however they share flights (run with -race).
func TestSharedRefsOfConcurrentRenders(t *testing.T) {
	e := newTestEnvConns(t, 4)
	dns, ids := flightGroups(t, e, "Flight Many", 30)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for range 20 {
				var ask []string
				for _, dn := range dns {
					if rnd.IntN(3) == 0 {
						ask = append(ask, dn)
					}
				}
				got, err := e.snap.sharedRefsOf(t.Context(), ask)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) != len(ask) {
					t.Errorf("asked %d DNs, got %d references", len(ask), len(got))
				}
				for _, dn := range ask {
					if got[mapping.RefKey(dn)].ID != ids[dn] {
						t.Errorf("%s: got %+v, want id %s", dn, got[mapping.RefKey(dn)], ids[dn])
					}
				}
			}
		})
	}
	wg.Wait()
}

// laneOf returns e's lane (nil when there is none).
func laneOf(e *testEnv) *flightLane {
	e.snap.d.flights.mu.Lock()
	defer e.snap.d.flights.mu.Unlock()
	return e.snap.d.flights.lanes[e.snap.m]
}

// waitGathering waits until e's lane has a flight that gathers renders.
func waitGathering(t *testing.T, e *testEnv) *flightLane {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		e.snap.d.flights.mu.Lock()
		lane := e.snap.d.flights.lanes[e.snap.m]
		ok := lane != nil && lane.next != nil
		e.snap.d.flights.mu.Unlock()
		if ok {
			return lane
		}
		if time.Now().After(deadline) {
			t.Fatal("no flight gathers")
		}
		time.Sleep(time.Millisecond)
	}
}

// countSearches counts the searches e's store sends from now on.
func countSearches(e *testEnv) *atomic.Int64 {
	var n atomic.Int64
	e.snap.d.store.SetObserver(func(op, _ string, _ time.Duration) {
		if op == "search" {
			n.Add(1)
		}
	})
	return &n
}

// A list page that finds no resolution running but other pages being read
// waits for those pages, and they share one flight; a page that began
// reading after the flight gathered is not waited for, and a single
// resource's render (no page) resolves alone at once.
func TestSharedRefsOfWaitsForPagesBeingRead(t *testing.T) {
	e := newTestEnv(t)
	e.snap.d.flights.wait = time.Hour // only the pages' arrival starts the flight
	e.snap.d.flights.gatherFrom = 1
	dns, ids := flightGroups(t, e, "Flight Sibling", 4)
	ctxA, doneA := e.snap.reading(t.Context())
	ctxB, doneB := e.snap.reading(t.Context())
	searches := countSearches(e)

	var gotA map[string]mapping.Ref
	var errA error
	var wg sync.WaitGroup
	wg.Go(func() { defer doneA(); gotA, errA = e.snap.sharedRefsOf(ctxA, dns[:2]) })
	lane := waitGathering(t, e)
	waitJoined(t, e, lane, 2)
	_, doneLate := e.snap.reading(t.Context()) // begins after the flight gathered: not waited for
	single, err := e.snap.sharedRefsOf(t.Context(), dns[3:])
	if err != nil || single[mapping.RefKey(dns[3])].ID != ids[dns[3]] {
		t.Fatalf("a single resource's render while pages gather: %v, %v", single, err)
	}
	if n := searches.Load(); n != 1 {
		t.Fatalf("%d searches while the flight waits for page B; want 1 (the single resource's own)", n)
	}
	gotB, errB := e.snap.sharedRefsOf(ctxB, dns[1:3]) // B arrives: the flight starts
	doneB()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if n := searches.Load(); n != 2 {
		t.Errorf("%d searches in all; want 2 (one flight for pages A and B, one single resource)", n)
	}
	for name, c := range map[string]struct {
		got map[string]mapping.Ref
		ask []string
	}{"A": {gotA, dns[:2]}, "B": {gotB, dns[1:3]}} {
		if len(c.got) != len(c.ask) {
			t.Errorf("page %s: %d references for %d DNs", name, len(c.got), len(c.ask))
		}
		for _, dn := range c.ask {
			if c.got[mapping.RefKey(dn)].ID != ids[dn] {
				t.Errorf("page %s, %s: %+v, want id %s", name, dn, c.got[mapping.RefKey(dn)], ids[dn])
			}
		}
	}
	doneLate()
	waitNoLane(t, e)
}

// A page being read that fails (its render never comes) releases the flight
// that waited for it; so does one that has nothing left to resolve (its
// references resolved early: prefetch.go), and flightWait passing, for a page
// that is slow.
func TestSharedRefsOfPageThatNeverComes(t *testing.T) {
	e := newTestEnv(t)
	dns, ids := flightGroups(t, e, "Flight Gone", 1)
	e.snap.d.flights.gatherFrom = 1
	for _, how := range []string{"fails", "resolved early", "slow"} {
		t.Run(how, func(t *testing.T) {
			e.snap.d.flights.wait = time.Hour
			if how == "slow" {
				e.snap.d.flights.wait = time.Millisecond
			}
			ctxA, doneA := e.snap.reading(t.Context())
			ctxB, doneB := e.snap.reading(t.Context())
			defer doneB()
			got := make(chan map[string]mapping.Ref, 1)
			go func() {
				defer doneA()
				refs, err := e.snap.sharedRefsOf(ctxA, dns)
				if err != nil {
					t.Error(err)
				}
				got <- refs
			}()
			switch how {
			case "fails":
				waitGathering(t, e)
				doneB()
			case "resolved early":
				waitGathering(t, e)
				if refs, err := e.snap.sharedRefsOf(ctxB, nil); err != nil || len(refs) != 0 {
					t.Errorf("nothing to resolve: %v, %v", refs, err)
				}
			}
			if refs := <-got; refs[mapping.RefKey(dns[0])].ID != ids[dns[0]] {
				t.Errorf("got %v, want id %s", refs, ids[dns[0]])
			}
		})
	}
}

// A page's render that resolves alone, because its DNs would pass
// maxFlightDNs or are too few to wait for others, was perhaps the last page a
// gathering flight waited for: that flight starts then, not at flightWait's
// end (here an hour).
func TestRenderResolvingAloneReleasesTheFlightWaitingForIt(t *testing.T) {
	e := newTestEnv(t)
	dns, _ := flightGroups(t, e, "Alone Release", 2)
	e.snap.d.flights.wait = time.Hour
	for _, how := range []string{"oversized", "small"} {
		t.Run(how, func(t *testing.T) {
			e.snap.d.flights.gatherFrom = 1
			ctx1, done1 := e.snap.reading(t.Context())
			defer done1()
			ctx2, done2 := e.snap.reading(t.Context())
			defer done2()
			got := make(chan error, 1)
			go func() { _, err := e.snap.sharedRefsOf(ctx1, dns[:1]); got <- err }() // gathers, waiting for page 2
			waitJoined(t, e, waitGathering(t, e), 1)
			second := dns[1:]
			if how == "oversized" {
				second = make([]string, maxFlightDNs+1)
				for i := range second {
					second[i] = fmt.Sprintf("cn=Alone Nobody %d,ou=groups,dc=example,dc=org", i)
				}
			} else {
				e.snap.d.flights.mu.Lock()
				e.snap.d.flights.gatherFrom = 2 // page 2's one DN is too few to wait
				e.snap.d.flights.mu.Unlock()
			}
			if _, err := e.snap.sharedRefsOf(ctx2, second); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the flight still waits for page 2 after its render resolved alone")
			}
		})
	}
}
