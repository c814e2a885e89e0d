package directory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Shared reference resolution. Pages of users read at the same time name the
// same groups, and resolving a group's DN loads the group's whole entry in the
// directory (slapd: 15 µs of CPU per DN of a group of 1,000 members), so
// concurrent renders resolve their DNs together, as a database commits the
// transactions that wait for the log together (group commit):
//
//   - a render that finds no resolution running and no other page being read
//     resolves its own DNs at once, on its own goroutine, as if there were no
//     sharing;
//   - a render that finds one running adds its DNs to the next flight and
//     waits; when the running resolution ends, the next flight searches the
//     union of its renders' DNs once and every render takes its own;
//   - a list page with at least gatherFrom DNs that finds none running but
//     other list pages being read (their entries still arriving from the
//     directory) starts the next flight and waits for those pages to join it,
//     at most flightWait, as PostgreSQL's commit_delay waits only when
//     commit_siblings other transactions are active. Pages that begin reading
//     later are not waited for. A page with fewer DNs (an IdP's userName
//     lookup) and a single resource's read (GET /Users/{id}) never wait for
//     pages: their resolution costs less than the wait.
//
// A flight is searched only after every render in it arrived, so each render
// sees the directory as fresh as its own search would have: nothing is reused
// from before a request, and nothing outlives the flight (the gateway keeps no
// cache). Reads in a plan (plan.go) see their plan's state and never share.
// Flights are per mapping: a reloaded mapping never answers for another. Each
// render's request counts the flight's searches in its ldap_ops (the
// operations it waited for); scim2ldap_ldap_operations_total counts them once.

// maxFlightDNs bounds the DNs of one flight (the union of its renders'); a
// render whose DNs would pass it resolves alone instead of waiting, so that a
// flight's searches stay few and its memory small.
const maxFlightDNs = 2000

// gatherFrom is the number of DNs from which a page waits for the pages read
// beside it (a batch's worth: fewer resolve in one small search).
const gatherFrom = refBatch

// flightWait bounds how long a flight that waits for the list pages being
// read beside it (see above) waits for them before it starts without the
// late ones: about two reads of a 100-user page of users in 300 groups under
// load.
const flightWait = 25 * time.Millisecond

// refFlights is the Directory's shared resolution, per mapping.
type refFlights struct {
	mu    sync.Mutex
	lanes map[*mapping.Mapping]*flightLane
	wait  time.Duration // flightWait, unless a test sets another
	// gatherFrom, unless a test sets another
	gatherFrom int
}

// flightLane is one mapping's state: whether a resolution runs, the flight
// that gathers the next renders, and the list pages being read (readers,
// each known by the number it got from seq).
type flightLane struct {
	running bool
	next    *flight
	readers map[uint64]bool
	seq     uint64
}

// flight is one shared resolution: the union of its renders' DNs (by
// mapping.RefKey), and once done is closed, the result. A flight gathered
// while no resolution ran waits for the readers it names in awaits (nil for
// a flight that waits for the running resolution instead).
type flight struct {
	dns    map[string]string
	done   chan struct{}
	out    map[string]mapping.Ref
	err    error
	ops    int64 // LDAP operations the flight sent
	awaits map[uint64]bool
	timer  *time.Timer
}

// readerKey is the context key of a list page's reader number (reading).
type readerKey struct{}

// lane returns m's lane, made when missing. Call with fl.mu held.
func (fl *refFlights) lane(m *mapping.Mapping) *flightLane {
	if fl.lanes == nil {
		fl.lanes = map[*mapping.Mapping]*flightLane{}
	}
	lane := fl.lanes[m]
	if lane == nil {
		lane = &flightLane{readers: map[uint64]bool{}}
		fl.lanes[m] = lane
	}
	return lane
}

// reading announces a list page whose entries are being read and will be
// rendered with references: a flight that starts meanwhile waits for it. The
// context returned carries the announcement to the page's render; done ends
// it when the page goes no further (an error), and is harmless after the
// render (call it in a defer). Plan mode never shares, so never announces.
func (s *Snapshot) reading(ctx context.Context) (_ context.Context, done func()) {
	if planning(ctx) {
		return ctx, func() {}
	}
	fl := &s.d.flights
	fl.mu.Lock()
	lane := fl.lane(s.m)
	lane.seq++
	id := lane.seq
	lane.readers[id] = true
	fl.mu.Unlock()
	return context.WithValue(ctx, readerKey{}, id), func() {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		lane.leave(id)
		s.startIfReady(lane)
		fl.forgetIdle(s.m, lane)
	}
}

// forgetIdle drops m's lane when it is idle: no resolution running or
// gathering, no page being read. Call with fl.mu held.
func (fl *refFlights) forgetIdle(m *mapping.Mapping, lane *flightLane) {
	if fl.lanes[m] == lane && !lane.running && lane.next == nil && len(lane.readers) == 0 {
		delete(fl.lanes, m)
	}
}

// alone reports whether the page that ctx announced (reading) is read with no
// resolution running or gathering and no other page being read: it then has
// no flight to share (prefetch.go).
func (s *Snapshot) alone(ctx context.Context) bool {
	id, _ := ctx.Value(readerKey{}).(uint64)
	fl := &s.d.flights
	fl.mu.Lock()
	defer fl.mu.Unlock()
	lane := fl.lanes[s.m]
	if lane == nil {
		return true
	}
	others := len(lane.readers)
	if lane.readers[id] {
		others--
	}
	return !lane.running && lane.next == nil && others == 0
}

// leave takes reader id off lane (id 0: none), and off the reader list of
// the flight that gathers. Call with fl.mu held.
func (lane *flightLane) leave(id uint64) {
	delete(lane.readers, id)
	if f := lane.next; f != nil && f.awaits != nil {
		delete(f.awaits, id)
	}
}

// startIfReady starts the flight that gathers on lane once no reader it waits
// for is left. Call with fl.mu held.
func (s *Snapshot) startIfReady(lane *flightLane) {
	if f := lane.next; f != nil && f.awaits != nil && len(f.awaits) == 0 && !lane.running {
		s.start(lane, f)
	}
}

// start makes f the running resolution of lane. Call with fl.mu held.
func (s *Snapshot) start(lane *flightLane, f *flight) {
	lane.running = true
	lane.next = nil
	if f.timer != nil {
		f.timer.Stop()
	}
	go s.fly(lane, f)
}

// sharedRefsOf is refsOf, shared with the renders running at the same time
// (see above). The map returned is the caller's own.
func (s *Snapshot) sharedRefsOf(ctx context.Context, dns []string) (map[string]mapping.Ref, error) {
	id, _ := ctx.Value(readerKey{}).(uint64)
	if planning(ctx) || id == 0 && len(dns) == 0 {
		return s.refsOf(ctx, dns) // (nothing to resolve, and no page to take off the readers)
	}
	fl := &s.d.flights
	fl.mu.Lock()
	lane := fl.lane(s.m)
	lane.leave(id) // this page is read: a flight waiting for it starts below, with its DNs
	if len(dns) == 0 {
		// All resolved early, or none to resolve: nothing to share, and no
		// flight waits for this page any longer.
		s.startIfReady(lane)
		fl.forgetIdle(s.m, lane)
		fl.mu.Unlock()
		return map[string]mapping.Ref{}, nil
	}
	f := lane.next
	gathering := !lane.running && f != nil
	small := len(dns) < cmp.Or(fl.gatherFrom, gatherFrom)
	switch {
	case !lane.running && f == nil && (id == 0 || small || len(lane.readers) == 0):
		lane.running = true
		fl.mu.Unlock()
		return s.resolveAlone(ctx, lane, dns)
	case gathering && (id == 0 || small):
		// A single resource's read, or a small page, does not wait for the
		// pages being read.
		s.startIfReady(lane)
		fl.mu.Unlock()
		return s.refsOf(ctx, dns)
	}
	joined := 0 // DNs already in the next flight
	if f != nil {
		joined = len(f.dns)
	}
	if joined+len(dns) > maxFlightDNs {
		s.startIfReady(lane) // it may have been the last page the flight waited for
		fl.mu.Unlock()
		return s.refsOf(ctx, dns)
	}
	if f == nil {
		f = &flight{dns: map[string]string{}, done: make(chan struct{})}
		lane.next = f
		if !lane.running { // other pages are being read: wait for them
			f.awaits = maps.Clone(lane.readers)
			f.timer = time.AfterFunc(cmp.Or(fl.wait, flightWait), func() {
				fl.mu.Lock()
				defer fl.mu.Unlock()
				if lane.next == f && !lane.running {
					s.start(lane, f)
				}
			})
		}
	}
	for _, dn := range dns {
		f.dns[mapping.RefKey(dn)] = dn
	}
	s.startIfReady(lane)
	fl.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		// The flight goes on for the others. The request's deadline passed
		// before the directory answered it, as a search's would have: 503.
		return nil, &ldapstore.UnavailableError{Err: fmt.Errorf("waiting for a shared reference resolution: %w", ctx.Err())}
	}
	ldapstore.CountOps(ctx, f.ops) // the request log's ldap_ops: what it waited for, shared or not
	if f.err != nil {
		return nil, f.err
	}
	out := make(map[string]mapping.Ref, len(dns))
	for _, dn := range dns {
		key := mapping.RefKey(dn)
		if ref, ok := f.out[key]; ok {
			out[key] = ref
		}
	}
	return out, nil
}

// resolveAlone is refsOf as lane's running resolution, which it ends however
// refsOf returns (a panic too: the request's recovery answers it, and the
// lane must not stay running).
func (s *Snapshot) resolveAlone(ctx context.Context, lane *flightLane, dns []string) (map[string]mapping.Ref, error) {
	defer s.landed(lane)
	return s.refsOf(ctx, dns)
}

// landed ends lane's running resolution: the flight waiting for it, if any,
// starts now on a goroutine of its own (its renders wait for it), else the
// lane is idle and forgotten.
func (s *Snapshot) landed(lane *flightLane) {
	fl := &s.d.flights
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if f := lane.next; f != nil {
		s.start(lane, f)
		return
	}
	lane.running = false
	fl.forgetIdle(s.m, lane)
}

// fly resolves flight f's DNs, for every render waiting in it. It runs on no
// request's context: a render that stops waiting leaves the others theirs
// (each operation still ends within the store's timeout). A panic becomes the
// flight's error, for its renders to answer, instead of ending the process.
func (s *Snapshot) fly(lane *flightLane, f *flight) {
	defer s.landed(lane)
	defer close(f.done)
	defer func() {
		if v := recover(); v != nil {
			f.out, f.err = nil, fmt.Errorf("resolving references: panic: %v", v)
			s.d.log.Error().Err(f.err).Msg("shared reference resolution failed")
		}
	}()
	dns := make([]string, 0, len(f.dns))
	for _, dn := range f.dns {
		dns = append(dns, dn)
	}
	ctx := ldapstore.WithOpCounter(context.Background())
	f.out, f.err = s.refsOf(ctx, dns)
	f.ops = ldapstore.OpCount(ctx)
}
