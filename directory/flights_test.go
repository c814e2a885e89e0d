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
	lane = &flightLane{running: true}
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
	e.snap.d.flights.mu.Lock()
	defer e.snap.d.flights.mu.Unlock()
	if len(e.snap.d.flights.lanes) != 0 {
		t.Errorf("lanes left after the flights: %v", e.snap.d.flights.lanes)
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
