package ldapstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// This file runs Store.Search on a pool of raw connections (wireConn,
// wireconn.go) per server: each connection serves one search at a time,
// written and read on the caller's goroutine, its responses decoded by
// wire.go. go-ldap's connections multiplex requests through a reader
// goroutine per connection that hands every message to its requester over a
// channel, and decode each message into a packet tree; for the short
// searches of a read (an entry by id, a filter lookup, a reference, the root
// DSE) that costs the gateway more CPU than the directory spends answering.
// Everything else (writes, paged searches, Ping, the failover and failback
// checks) stays on go-ldap's shared connections.

// searchConnsPerConn is how many raw search connections a server gets per
// shared connection (Config.Conns). A raw connection is idle while its caller
// encodes, decodes and renders, so it takes several to keep the directory busy:
// with 4 shared connections, 4 raw ones gave get-by-id 71–77 % of the direct
// LDAP throughput and member-add 50–54 %; 16 gave 86–95 % and 60–75 %; 32 no
// more (make perf's harness, -only group-create,member-add,get-by-id, 32 clients).
const searchConnsPerConn = 4

// rawPool is one server's raw connections for Search: at most
// searchConnsPerConn × Config.Conns searches run on it at once (tokens), each on a connection of its own; a
// connection is dialled when no idle one is left and returns to idle when its
// search read its answer to the end. A connection that failed is closed, not
// returned. A failed dial backs off like a shared connection's (100 ms doubling
// to 5 s): requests meanwhile fail at once instead of dialling. A dial cut short
// by its request's cancellation is no failure of the server and backs off nothing.
type rawPool struct {
	tokens chan struct{} // one per search in flight
	mu     sync.Mutex
	idle   []*wireConn // most recently used last
	// lastErr is when the last dial failed; backoff how long after it no dial
	// is tried.
	lastErr time.Time
	backoff time.Duration
}

func newRawPool(size int) *rawPool { return &rawPool{tokens: make(chan struct{}, size)} }

// drain closes the idle connections. Those in use are closed when their
// search ends (putRaw), as the pool's server is no longer the one in use or
// the store is closed.
func (p *rawPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// takeIdle takes the most recently used idle connection, nil when there is
// none; p.mu is held.
func (p *rawPool) takeIdle() *wireConn {
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return c
}

// answered clears the dial backoff: the server just answered a probe.
func (p *rawPool) answered() {
	p.mu.Lock()
	p.lastErr, p.backoff = time.Time{}, 0
	p.mu.Unlock()
}

// rawConn takes one of srv's search slots, waiting for one up to ctx's end,
// and returns an idle connection or a new one (dialled and bound within the
// configured timeout or ctx's deadline, whichever comes first). Errors are
// *UnavailableError. The caller gives the connection back with putRaw.
func (s *Store) rawConn(ctx context.Context, srv *server) (*wireConn, error) {
	p := srv.raw
	select {
	case p.tokens <- struct{}{}:
	default:
		select {
		case p.tokens <- struct{}{}:
		case <-ctx.Done():
			return nil, &UnavailableError{Err: fmt.Errorf("waiting for a directory connection: %w", ctx.Err())}
		}
	}
	p.mu.Lock()
	if c := p.takeIdle(); c != nil {
		p.mu.Unlock()
		return c, nil
	}
	if !p.lastErr.IsZero() && time.Since(p.lastErr) < p.backoff {
		p.mu.Unlock()
		<-p.tokens
		return nil, &UnavailableError{Err: errors.New("reconnecting")}
	}
	p.mu.Unlock()
	start := time.Now()
	c, err := s.dialWire(ctx, srv)
	s.observe("connect", err, time.Since(start))
	p.mu.Lock()
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) { // a cancelled request (its client gone) says nothing of the server
		p.lastErr = time.Now()
		p.backoff = min(max(2*p.backoff, 100*time.Millisecond), 5*time.Second)
	} else if err == nil {
		p.lastErr, p.backoff = time.Time{}, 0
	}
	p.mu.Unlock()
	if err != nil {
		<-p.tokens
		return nil, &UnavailableError{Err: err}
	}
	return c, nil
}

// putRaw gives c, taken from srv's pool, back: to the idle connections when
// keep is set, srv is still the server in use and the store is open; else it
// is closed.
func (s *Store) putRaw(srv *server, c *wireConn, keep bool) {
	p := srv.raw
	if keep {
		p.mu.Lock() // drain runs after a switch or Close, so either it or this sees the change
		select {
		case <-s.stop:
			keep = false
		default:
			keep = s.cur() == srv
		}
		if keep {
			p.idle = append(p.idle, c)
		}
		p.mu.Unlock()
	}
	if !keep {
		c.close()
	}
	<-p.tokens
}

// rawSearch is Store.Search's trip to the directory: req on a raw connection
// to the server in use, bounded by Config.Timeout and ctx, retried once on a
// fresh connection when the link turns out dead, failing over (servers.go)
// when no connection to the server in use can be had. It keeps doOp's rules:
// each attempt counts as one operation (countOp) and is observed as "search";
// an error that ctx's end caused is an *UnavailableError wrapping ctx.Err()
// and is not retried; the directory's busy and time limit answers are not
// retried either. A size limit reached (4 with req.SizeLimit entries) is
// success; like go-ldap's Search, a failure's response controls are dropped.
func (s *Store) rawSearch(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, &UnavailableError{Err: err}
		}
		srv := s.cur()
		c, err := s.rawConn(ctx, srv)
		if err != nil && s.failover(ctx, srv, err) {
			srv = s.cur()
			c, err = s.rawConn(ctx, srv)
		}
		if err != nil {
			s.observe("search", err, 0)
			return nil, err
		}
		countOp(ctx)
		start := time.Now()
		res, err, keep := s.searchOn(ctx, c, req)
		s.observe("search", err, time.Since(start))
		if err != nil && IsUnavailable(err) && !ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultTimeLimitExceeded) {
			var ue *UnavailableError
			if errors.As(err, &ue) { // ctx's end: not the link's fault
				s.putRaw(srv, c, keep)
				return res, err
			}
			// The link died (or the server said it is unavailable): its
			// idle siblings likely went with it (a restart), so they go too
			// and the retry dials.
			s.putRaw(srv, c, false)
			srv.raw.drain()
			if attempt == 0 {
				continue
			}
			return res, err
		}
		s.putRaw(srv, c, keep)
		return res, err
	}
}

// searchOn runs req on c within Config.Timeout, or less when ctx's deadline
// comes sooner; ctx's end (cancellation included) cuts the wait short through
// the connection's deadline. keep reports whether c may serve another search.
func (s *Store) searchOn(ctx context.Context, c *wireConn, req *ldap.SearchRequest) (res *ldap.SearchResult, err error, keep bool) {
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	}
	res, err = c.search(req, opTimeout(ctx, s.cfg.Timeout), nil)
	keep = stop() && !c.broken // a deadline cut short by ctx's end may still be set
	if err == nil {
		return res, nil, keep
	}
	cause := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cause == nil && !time.Now().Before(dl) {
		cause = context.DeadlineExceeded // the connection's deadline, which is ctx's, fired before ctx's timer
	}
	if cause != nil && c.broken {
		return res, &UnavailableError{Err: fmt.Errorf("LDAP search abandoned at the request's deadline: %w", cause)}, false
	}
	if res != nil {
		res.Controls = res.Controls[:0]
	}
	if req.SizeLimit > 0 && res != nil && len(res.Entries) >= req.SizeLimit && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		err = nil
	}
	return res, err, keep
}

// idleRootDSE reads the root DSE's supportedControl on an idle raw connection
// to the server in use, if one is free; nil when none is or the read fails.
// It never dials or waits (see Supports).
func (s *Store) idleRootDSE() map[string]bool {
	srv := s.cur()
	p := srv.raw
	select {
	case p.tokens <- struct{}{}:
	default:
		return nil
	}
	p.mu.Lock()
	c := p.takeIdle()
	p.mu.Unlock()
	if c == nil {
		<-p.tokens
		return nil
	}
	res, err := c.search(rootDSEControlsRequest(), s.cfg.Timeout, nil)
	s.putRaw(srv, c, err == nil && !c.broken)
	return supportedControls(res, err)
}
