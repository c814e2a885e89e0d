package directory

import (
	"context"
	"fmt"
	"sync"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Shared reference resolution. Pages of users read at the same time name the
// same groups, and resolving a group's DN loads the group's whole entry in the
// directory (slapd: 15 µs of CPU per DN of a group of 1,000 members), so
// concurrent renders resolve their DNs together, as a database commits the
// transactions that wait for the log together (group commit):
//
//   - a render that finds no resolution running resolves its own DNs at once,
//     on its own goroutine, as if there were no sharing;
//   - a render that finds one running adds its DNs to the next flight and
//     waits; when the running resolution ends, the next flight searches the
//     union of its renders' DNs once and every render takes its own.
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

// refFlights is the Directory's shared resolution, per mapping.
type refFlights struct {
	mu    sync.Mutex
	lanes map[*mapping.Mapping]*flightLane
}

// flightLane is one mapping's state: whether a resolution runs, and the
// flight that waits for it to end.
type flightLane struct {
	running bool
	next    *flight
}

// flight is one shared resolution: the union of its renders' DNs (by
// mapping.RefKey), and once done is closed, the result.
type flight struct {
	dns  map[string]string
	done chan struct{}
	out  map[string]mapping.Ref
	err  error
	ops  int64 // LDAP operations the flight sent
}

// sharedRefsOf is refsOf, shared with the renders running at the same time
// (see above). The map returned is the caller's own.
func (s *Snapshot) sharedRefsOf(ctx context.Context, dns []string) (map[string]mapping.Ref, error) {
	if len(dns) == 0 || planning(ctx) {
		return s.refsOf(ctx, dns)
	}
	fl := &s.d.flights
	fl.mu.Lock()
	if fl.lanes == nil {
		fl.lanes = map[*mapping.Mapping]*flightLane{}
	}
	lane := fl.lanes[s.m]
	if lane == nil {
		lane = &flightLane{}
		fl.lanes[s.m] = lane
	}
	if !lane.running {
		lane.running = true
		fl.mu.Unlock()
		out, err := s.refsOf(ctx, dns)
		s.landed(lane)
		return out, err
	}
	f := lane.next
	joined := 0 // DNs already in the next flight
	if f != nil {
		joined = len(f.dns)
	}
	if joined+len(dns) > maxFlightDNs {
		fl.mu.Unlock()
		return s.refsOf(ctx, dns)
	}
	if f == nil {
		f = &flight{dns: map[string]string{}, done: make(chan struct{})}
		lane.next = f
	}
	for _, dn := range dns {
		f.dns[mapping.RefKey(dn)] = dn
	}
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

// landed ends lane's running resolution: the flight waiting for it, if any,
// starts now on a goroutine of its own (its renders wait for it), else the
// lane is idle and forgotten.
func (s *Snapshot) landed(lane *flightLane) {
	fl := &s.d.flights
	fl.mu.Lock()
	f := lane.next
	lane.next = nil
	if f == nil {
		lane.running = false
		delete(fl.lanes, s.m)
		fl.mu.Unlock()
		return
	}
	fl.mu.Unlock()
	go s.fly(lane, f)
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
