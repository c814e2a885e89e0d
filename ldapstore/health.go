package ldapstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Observer receives one call per LDAP operation, for metrics. Op is "search",
// "add", "modify", "modifydn", "compare", "delete", "connect" (dial, StartTLS and
// bind of a new connection) or "other"; result is ResultLabel(err); d is the
// operation's wall time (0 when no connection could be had).
type Observer func(op, result string, d time.Duration)

// SetObserver installs fn (nil removes it). Safe to call at any time; the last
// call wins.
func (s *Store) SetObserver(fn Observer) {
	if fn == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&fn)
}

func (s *Store) observe(op string, err error, d time.Duration) {
	if fn := s.observer.Load(); fn != nil {
		(*fn)(op, ResultLabel(err), d)
	}
}

// ResultLabel names an operation's outcome for metrics: "0" for success, the
// LDAP result code in decimal ("32", "68", "122"…) for a server's answer,
// "network" when the directory could not be reached or the link died, and
// "deadline" when the request's deadline (or cancellation) cut the operation short.
func ResultLabel(err error) string {
	if err == nil {
		return "0"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "deadline"
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return "network"
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork {
		return strconv.Itoa(int(le.ResultCode))
	}
	if IsUnavailable(err) {
		return "network"
	}
	if errors.As(err, &le) {
		return strconv.Itoa(int(le.ResultCode))
	}
	return "error"
}

// opTimeout is the time an operation may take: the configured per-operation
// timeout, or less when ctx's deadline comes sooner (never below 1 ms).
func opTimeout(ctx context.Context, limit time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if rem := time.Until(dl); rem < limit {
			return max(rem, time.Millisecond)
		}
	}
	return limit
}

// run executes op on c, bounded by ctx: go-ldap has no context on most calls, so
// the operation runs in a goroutine and, when ctx ends first, the caller gets an
// unavailable error at once (503 upstream) while go-ldap finishes or times out
// the abandoned operation on its own (Config.Timeout). The connection is kept: a
// slow answer is not a dead link.
//
// When ctx's deadline lies beyond the connection's own per-operation timeout
// (Config.Timeout, the usual case: a request gets 30 s, an operation 10 s),
// go-ldap's timeout ends the operation first, so it runs on the caller's
// goroutine: one goroutine and two context switches less per LDAP operation. A
// request cancelled meanwhile (the client went away) then waits for the answer.
func (s *Store) run(ctx context.Context, name string, c *ldap.Conn, op func(*ldap.Conn) error) error {
	start := time.Now()
	var err error
	if dl, ok := ctx.Deadline(); ctx.Done() == nil || ok && time.Until(dl) > s.cfg.Timeout && ctx.Err() == nil {
		err = op(c)
	} else {
		done := make(chan error, 1)
		go func() { done <- op(c) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = &UnavailableError{Err: fmt.Errorf("LDAP %s abandoned at the request's deadline: %w", name, ctx.Err())}
		}
	}
	s.observe(name, err, time.Since(start))
	return err
}

// healInterval is how often the background healer looks for dead connections.
const healInterval = time.Second

// heal redials the dead connections of the server in use in the background
// (respecting each one's backoff), so the gateway is connected again soon after
// the directory comes back, even with no traffic; when that fails it fails over
// (servers.go). While it uses any server but the first, it checks for a failback
// every Config.FailbackInterval. It ends when the store is closed.
func (s *Store) heal() {
	t := time.NewTicker(healInterval)
	defer t.Stop()
	var lastFailback time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		srv := s.cur()
		for _, sl := range srv.slots {
			sl.mu.Lock()
			dead := sl.dialing == nil && (sl.conn == nil || sl.conn.IsClosing())
			sl.mu.Unlock()
			if dead {
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
				_, err := s.slotConn(ctx, srv, sl)
				if err != nil {
					s.failover(ctx, srv, err)
				}
				cancel()
				if err != nil {
					break
				}
			}
		}
		if srv = s.cur(); srv.pos > 0 && time.Since(lastFailback) >= s.cfg.FailbackInterval {
			lastFailback = time.Now()
			s.failback(srv)
		}
	}
}

// Ping checks that every shared connection is up and answers: dead ones are
// redialled (respecting backoff) and each live one reads the root DSE. It returns
// the first failure (an unavailable error, see IsUnavailable) or nil. Bounded by
// ctx; for readiness probes.
//
// Ping checks the server in use; when it cannot be reached, the store fails over
// (servers.go) and Ping checks the new one.
func (s *Store) Ping(ctx context.Context) error {
	srv := s.cur()
	err := s.ping(ctx, srv)
	if err != nil && s.failover(ctx, srv, err) {
		err = s.ping(ctx, s.cur())
	}
	return err
}

func (s *Store) ping(ctx context.Context, srv *server) error {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	for _, sl := range srv.slots {
		c, err := s.slotConn(ctx, srv, sl)
		if err != nil {
			return err
		}
		err = s.run(ctx, "search", c, func(c *ldap.Conn) error { _, err := c.Search(req); return err })
		if err != nil {
			if IsUnavailable(err) && ctx.Err() == nil {
				s.discard(c)
			}
			return err
		}
	}
	return nil
}

// Stats counts the shared connections to the server in use that are up
// (connected, not closing) and down (dead, never redialled yet, or being
// redialled). Cheap; for metrics.
func (s *Store) Stats() (up, down int) {
	for _, sl := range s.cur().slots {
		sl.mu.Lock()
		if sl.conn != nil && !sl.conn.IsClosing() {
			up++
		} else {
			down++
		}
		sl.mu.Unlock()
	}
	return up, down
}
