package ldapstore

import (
	"context"

	"github.com/go-ldap/ldap/v3"
)

// FailbackChecks counts the failback checks s has finished (each looks at every
// server before the one in use).
func FailbackChecks(s *Store) uint64 { return s.failbackChecks.Load() }

// RawIdle counts the idle connections of Search's pool for the server at pos
// in the list (rawpool.go).
func RawIdle(s *Store, pos int) int {
	p := s.servers[pos].raw
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// SendWrite sends op as a write (an LDAP add, modify… on a connection of s),
// bypassing the write methods' own plan hooks: the path a write the plan
// doesn't know would take.
func SendWrite(ctx context.Context, s *Store, op func(*ldap.Conn) error) error {
	return s.doOp(ctx, "add", false, op)
}

// DialCancelled has Search's pool of the server in use dial a connection for
// a request cancelled meanwhile (its idle connections closed first, so that it
// dials), and returns the dial's error.
func DialCancelled(s *Store) error {
	srv := s.cur()
	srv.raw.drain()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := s.rawConn(ctx, srv)
	if err == nil {
		s.putRaw(srv, c, true)
	}
	return err
}

// FailoverCancelled runs the failover a search runs when it could not have a
// connection, for a request cancelled meanwhile, times times, and reports
// whether any of them counted as an attempt (which pauses the next one for
// failoverPause).
func FailoverCancelled(s *Store, times int) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range times {
		s.failover(ctx, s.cur(), &UnavailableError{Err: ctx.Err()})
	}
	s.switching <- struct{}{}
	defer func() { <-s.switching }()
	return !s.lastFailover.IsZero()
}
