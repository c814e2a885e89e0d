// Package ldapstore owns the gateway's LDAP connections and operations: a few
// long-lived shared connections (go-ldap multiplexes requests on one *ldap.Conn),
// redial and rebind with backoff when one dies, a timeout on every operation,
// LDAPS or StartTLS with a CA file, and the controls the gateway needs
// (paged results RFC 2696, assertion RFC 4528, server-side sort RFC 2891).
// Search, the bounded searches of reads, runs instead on a pool of connections
// of the package's own client, one search at a time each (rawpool.go).
//
// It knows nothing of SCIM: callers pass LDAP requests and get LDAP results.
package ldapstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Config says how to reach and bind to the directory.
type Config struct {
	// URL is ldap://host:port or ldaps://host:port, or an ordered list of them
	// separated by spaces or commas: servers of one replicated directory, the
	// preferred first (see SplitURLs, and servers.go for failover and failback).
	URL          string
	BindDN       string // empty: anonymous
	BindPassword string // never logged
	StartTLS     bool   // upgrade an ldap:// connection with StartTLS (RFC 4513 §3)
	CAFile       string // PEM bundle that verifies the server's certificate; empty: system roots
	// Conns is the number of shared connections (each multiplexes many
	// requests); Search uses up to searchConnsPerConn × Conns raw connections
	// per server (each one search at a time, dialled when first needed);
	// default 4.
	Conns   int
	Timeout time.Duration // per operation and per dial; default 10s
	// StartUnreachable lets Open succeed while the directory can't be reached:
	// the connections are dialled in the background (readiness fails until then).
	// A certificate or bind failure still fails Open.
	StartUnreachable bool
	// VLVConns bounds the VLV searches (SearchVLV) running at once, each on a
	// connection of its own; default 4. Keep it below slapd's olcSssVlvMax.
	VLVConns int

	// With several URLs: how often a store on any server but the first checks
	// whether an earlier one may take over again (default 5s), and, for
	// directories without an entryCSN (Active Directory), how long that server
	// must have answered first (default 60s). OnSwitch, if set, hears of every
	// change of server (for the log); it must not block.
	FailbackInterval time.Duration
	FailbackDelay    time.Duration
	OnSwitch         func(Switch)

	// PlanOnly makes the store send no write at all: one without a Plan in its
	// context fails with ErrPlanUnrecorded as one that a plan did not record
	// does (Store.doOp). A gateway whose every write is planned
	// (SCIM2LDAP_MODE=plan) opens its store so: a write path that lost the
	// request's context cannot reach the directory either.
	PlanOnly bool
}

// Store is a set of shared LDAP connections to the server in use. It is safe
// for concurrent use.
type Store struct {
	cfg     Config
	servers []*server              // Config.URL's list, in order
	active  atomic.Pointer[server] // the server in use (servers.go)
	// switching is held (one token) while a failover probes or a failback
	// commits; lastFailover is guarded by it.
	switching    chan struct{}
	lastFailover time.Time
	// writes is held shared by every write and exclusively by a failback while
	// it checks the earlier server has every write acknowledged so far.
	writes               sync.RWMutex
	failovers, failbacks atomic.Uint64
	failbackChecks       atomic.Uint64 // for tests: how many failback checks ran
	// written logs the DNs written while on any server but the first, for
	// the failback check (servers.go).
	writtenMu sync.Mutex
	written   []string
	// verified entries of written are known to be on verifiedOn, as new as
	// on the server in use.
	verified   int
	verifiedOn *server
	next       atomic.Uint64
	observer   atomic.Pointer[Observer] // see SetObserver (health.go)
	stop       chan struct{}            // closed by Close; ends the healer
	stopOnce   sync.Once
	// controls are the OIDs in the root DSE's supportedControl (see Supports);
	// nil until the root DSE was read.
	controls atomic.Pointer[map[string]bool]
	vlvSlots chan struct{} // one token per running SearchVLV
}

type slot struct {
	mu      sync.Mutex
	conn    *ldap.Conn
	lastErr time.Time // when the last dial failed (backoff)
	backoff time.Duration
	dialing chan struct{} // non-nil while a dial is in flight; closed when it ends
}

// Open dials and binds every connection once, so a wrong URL, certificate or
// password fails at start-up rather than on the first request.
func Open(cfg Config) (*Store, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.VLVConns <= 0 {
		cfg.VLVConns = 4
	}
	if cfg.FailbackInterval <= 0 {
		cfg.FailbackInterval = 5 * time.Second
	}
	if cfg.FailbackDelay <= 0 {
		cfg.FailbackDelay = time.Minute
	}
	urls, err := SplitURLs(cfg.URL)
	if err != nil {
		return nil, err
	}
	var pool *x509.CertPool
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("LDAP CA file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("LDAP CA file %s: no PEM certificate found", cfg.CAFile)
		}
	}
	s := &Store{cfg: cfg, stop: make(chan struct{}), vlvSlots: make(chan struct{}, cfg.VLVConns), switching: make(chan struct{}, 1)}
	for i, raw := range urls {
		u, _ := url.Parse(raw) // SplitURLs checked it
		if cfg.StartTLS && u.Scheme == "ldaps" {
			return nil, fmt.Errorf("LDAP URL %q is already ldaps://; StartTLS applies to ldap:// only", raw)
		}
		srv := &server{url: raw, pos: i, tlsCfg: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname(), RootCAs: pool}}
		for range cfg.Conns {
			srv.slots = append(srv.slots, &slot{})
		}
		srv.raw = newRawPool(searchConnsPerConn * cfg.Conns)
		s.servers = append(s.servers, srv)
	}
	// The first server that can be reached, in list order, is the one in use.
	s.active.Store(s.servers[0])
	var firstErr error
	for _, srv := range s.servers {
		err := s.connect(srv)
		if err == nil {
			s.active.Store(srv)
			firstErr = nil
			break
		}
		if !unreachable(err) {
			s.Close()
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil && !cfg.StartUnreachable {
		s.Close()
		return nil, firstErr
	}
	if c := s.cur().slots[0].conn; c != nil {
		s.setControls(readRootDSE(c))
	}
	go s.heal()
	return s, nil
}

// connect dials every shared connection of srv, stopping at the first failure.
func (s *Store) connect(srv *server) error {
	for _, sl := range srv.slots {
		c, err := s.dialServer(context.Background(), srv)
		if err != nil {
			return err
		}
		sl.conn = c
	}
	return nil
}

// unreachable reports whether a dial failed because the directory could not be
// reached (refused, timed out, no route, name not resolved), as opposed to a
// configuration error such as a certificate that doesn't verify or a wrong
// password, which must stop the start-up.
func unreachable(err error) bool {
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var ldapErr *ldap.Error
	if errors.As(err, &certErr) || (errors.As(err, &ldapErr) && ldapErr.ResultCode != ldap.ErrorNetwork) {
		return false
	}
	return errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// Close closes every connection (a Search in flight closes its own when it ends).
func (s *Store) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	for _, srv := range s.servers {
		for _, sl := range srv.slots {
			sl.mu.Lock()
			if sl.conn != nil {
				sl.conn.Close()
				sl.conn = nil
			}
			sl.mu.Unlock()
		}
		srv.raw.drain()
	}
}

// dialServer dials, upgrades and binds a connection to srv within the
// configured timeout, or less when ctx's deadline comes sooner.
func (s *Store) dialServer(ctx context.Context, srv *server) (*ldap.Conn, error) {
	limit := opTimeout(ctx, s.cfg.Timeout)
	d := &net.Dialer{Timeout: limit}
	c, err := ldap.DialURL(srv.url, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(srv.tlsCfg))
	if err != nil {
		return nil, fmt.Errorf("LDAP connect to %s: %w", srv.url, err)
	}
	c.SetTimeout(limit)
	defer c.SetTimeout(s.cfg.Timeout)
	if s.cfg.StartTLS {
		if err := c.StartTLS(srv.tlsCfg); err != nil {
			c.Close()
			return nil, fmt.Errorf("LDAP StartTLS with %s: %w", srv.url, err)
		}
	}
	if s.cfg.BindDN != "" {
		if err := c.Bind(s.cfg.BindDN, s.cfg.BindPassword); err != nil {
			c.Close()
			// The DN is configuration, not a secret; the password never appears.
			return nil, fmt.Errorf("LDAP bind as %q: %w", s.cfg.BindDN, err)
		}
	}
	return c, nil
}

// connCtx returns a live shared connection to the server in use, redialling a
// dead one with exponential backoff (100 ms doubling to 5 s) so a directory
// outage does not become a dial storm; a request waiting for another request's
// redial gives up at its deadline, and its own dial ends by then. When no
// connection can be had, the store fails over to the next server that answers
// (servers.go) and takes one of its connections.
func (s *Store) connCtx(ctx context.Context) (*ldap.Conn, error) {
	srv := s.cur()
	c, err := s.slotConn(ctx, srv, srv.slots[int(s.next.Add(1))%len(srv.slots)])
	if err != nil && s.failover(ctx, srv, err) {
		srv = s.cur()
		c, err = s.slotConn(ctx, srv, srv.slots[int(s.next.Add(1))%len(srv.slots)])
	}
	return c, err
}

func (s *Store) slotConn(ctx context.Context, srv *server, sl *slot) (*ldap.Conn, error) {
	for {
		sl.mu.Lock()
		if sl.conn != nil && !sl.conn.IsClosing() {
			c := sl.conn
			sl.mu.Unlock()
			return c, nil
		}
		if sl.dialing != nil { // someone else is redialling: wait for them, up to our deadline
			ch := sl.dialing
			sl.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, &UnavailableError{Err: fmt.Errorf("reconnecting: %w", ctx.Err())}
			}
		}
		if sl.conn != nil {
			sl.conn.Close()
			sl.conn = nil
		}
		if !sl.lastErr.IsZero() && time.Since(sl.lastErr) < sl.backoff {
			sl.mu.Unlock()
			return nil, &UnavailableError{Err: errors.New("reconnecting")}
		}
		ch := make(chan struct{})
		sl.dialing = ch
		sl.mu.Unlock()

		start := time.Now()
		c, err := s.dialServer(ctx, srv)

		sl.mu.Lock()
		sl.dialing = nil
		close(ch)
		if err != nil {
			sl.lastErr = time.Now()
			sl.backoff = min(max(2*sl.backoff, 100*time.Millisecond), 5*time.Second)
			sl.mu.Unlock()
			s.observe("connect", err, time.Since(start))
			return nil, &UnavailableError{Err: err}
		}
		sl.conn, sl.lastErr, sl.backoff = c, time.Time{}, 0
		sl.mu.Unlock()
		s.observe("connect", nil, time.Since(start))
		return c, nil
	}
}

// discard closes c if it is still a shared connection, so the next use redials.
func (s *Store) discard(c *ldap.Conn) {
	for _, srv := range s.servers {
		for _, sl := range srv.slots {
			sl.mu.Lock()
			if sl.conn == c {
				sl.conn.Close()
				sl.conn = nil
			}
			sl.mu.Unlock()
		}
	}
}

// do runs op on a shared connection. Reads are retried once on a fresh connection
// when the first one turned out dead; writes are not (an add that reached the
// server before the link died must not be sent twice).
func (s *Store) do(ctx context.Context, idempotent bool, op func(*ldap.Conn) error) error {
	return s.doOp(ctx, "other", idempotent, op)
}

// doOp is do with the operation's name for the observer (search, add, modify…).
// Each attempt is bounded by ctx (see run). Writes (not idempotent) hold the
// write lock shared, so a failback can wait for them (servers.go).
//
// doOp is the one way a write reaches a connection, and it never sends one
// while ctx carries a Plan, nor in a PlanOnly store: the write methods record
// into the plan before they get here, so a write that does is a path the plan
// does not know, and it fails (ErrPlanUnrecorded) instead of changing the
// directory.
func (s *Store) doOp(ctx context.Context, name string, idempotent bool, op func(*ldap.Conn) error) error {
	if !idempotent && (PlanOf(ctx) != nil || s.cfg.PlanOnly) {
		err := fmt.Errorf("%w: %s", ErrPlanUnrecorded, name)
		s.observe(name, err, 0)
		return err
	}
	if !idempotent {
		s.writes.RLock()
		defer s.writes.RUnlock()
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &UnavailableError{Err: err}
		}
		c, err := s.connCtx(ctx)
		if err != nil {
			s.observe(name, err, 0)
			return err
		}
		countOp(ctx)
		err = s.run(ctx, name, c, op)
		if err != nil && ctx.Err() != nil {
			return err // our deadline, not the link's fault: keep the connection
		}
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultTimeLimitExceeded) {
			return err // the server's answer on a healthy link (e.g. no free sort slot): keep it
		}
		if err != nil && IsUnavailable(err) {
			s.discard(c)
			if idempotent && attempt == 0 {
				continue
			}
		}
		return err
	}
}

// Search runs a search and returns all of its entries; use it for searches whose
// result is bounded (by filter or by a size limit), and SearchPages otherwise.
// When req.SizeLimit entries came and the directory answers 4 sizeLimitExceeded
// (there are more), that is the answer the size limit asked for: no error, and
// the metrics count a success. A 4 with fewer entries is the directory's own
// limit (RFC 4511 §4.5.1.4): an error, with res holding the entries that came.
// A sort control's failure reported in a sortResult control (RFC 2891 §1.2) is
// an error, as in SearchPages.
//
// The search runs on one of the server in use's raw connections (rawpool.go),
// one search per connection at a time and at most Config.Conns at once, on the
// caller's goroutine; it is retried once on a fresh connection when the link
// turns out dead, and fails over as every operation does (servers.go).
func (s *Store) Search(ctx context.Context, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	if p := PlanOf(ctx); p != nil && req.Scope == ldap.ScopeBaseObject {
		if res, ok, err := s.planSearch(ctx, p, req); ok {
			return res, err
		}
	}
	res, err := s.rawSearch(ctx, req)
	if err == nil {
		err = sortFailure(res.Controls) // the server's answer: the connection is fine
	}
	return res, err
}

// Add adds an entry (with a Plan in ctx: records it, see plan.go).
func (s *Store) Add(ctx context.Context, req *ldap.AddRequest) error {
	if p := PlanOf(ctx); p != nil {
		return s.planAdd(ctx, p, req)
	}
	err := s.doOp(ctx, "add", false, func(c *ldap.Conn) error { return c.Add(req) })
	if err == nil {
		s.noteWrite(req.DN)
	}
	return err
}

// Modify modifies an entry (with a Plan in ctx: records it).
func (s *Store) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	if p := PlanOf(ctx); p != nil {
		return s.planModify(ctx, p, req)
	}
	err := s.doOp(ctx, "modify", false, func(c *ldap.Conn) error { return c.Modify(req) })
	if err == nil {
		s.noteWrite(req.DN)
	}
	return err
}

// ModifyDN renames or moves an entry (modrdn, RFC 4511 §4.9).
func (s *Store) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	if p := PlanOf(ctx); p != nil {
		return s.planModifyDN(ctx, p, req)
	}
	err := s.doOp(ctx, "modifydn", false, func(c *ldap.Conn) error { return c.ModifyDN(req) })
	if err == nil {
		s.noteWrite(req.DN, renamedDN(req))
	}
	return err
}

// Compare reports whether the entry dn holds attr=value (RFC 4511 §4.10).
func (s *Store) Compare(ctx context.Context, dn, attr, value string) (bool, error) {
	var ok bool
	err := s.doOp(ctx, "compare", true, func(c *ldap.Conn) (err error) {
		ok, err = c.Compare(dn, attr, value)
		return err
	})
	return ok, err
}

// SetPassword sets an entry's password with the Password Modify extended
// operation (RFC 3062): the directory hashes it under its own policy (OpenLDAP:
// olcPasswordHash, {SSHA} by default), so no clear text is ever stored.
func (s *Store) SetPassword(ctx context.Context, dn, password string) error {
	if p := PlanOf(ctx); p != nil { // the value never reaches the plan
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Replace("userPassword", []string{PasswordMarker})
		p.modify(mod, "Password Modify extended operation (RFC 3062), shown as the change it makes; the directory hashes the password")
		return nil
	}
	err := s.do(ctx, false, func(c *ldap.Conn) error {
		_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", password))
		return err
	})
	if err == nil {
		s.noteWrite(dn)
	}
	return err
}

// Delete deletes an entry (with a Plan in ctx: records it).
func (s *Store) Delete(ctx context.Context, req *ldap.DelRequest) error {
	if p := PlanOf(ctx); p != nil {
		return s.planDelete(ctx, p, req)
	}
	err := s.doOp(ctx, "delete", false, func(c *ldap.Conn) error { return c.Del(req) })
	if err == nil {
		s.noteWrite(req.DN)
	}
	return err
}

// PageFunc receives one page of entries; returning false stops the walk (the
// server-side paging state is then released).
type PageFunc func(entries []*ldap.Entry) (more bool)

// SearchPages walks a search with the paged-results control (RFC 2696), pageSize
// entries at a time, handing each page to fn. Memory is bounded by one page. The
// whole walk stays on one connection, because the paging cookie is bound to it.
func (s *Store) SearchPages(ctx context.Context, req *ldap.SearchRequest, pageSize uint32, fn PageFunc) error {
	c, err := s.connCtx(ctx)
	if err != nil {
		s.observe("search", err, 0)
		return err
	}
	paging := ldap.NewControlPaging(pageSize)
	r := *req
	r.Controls = append(append([]ldap.Control(nil), req.Controls...), paging)
	// Page size 0 with the cookie abandons the server-side result set. With a
	// sort control, slapd's sssvlv keeps each unfinished sorted walk until then
	// (at most olcSssVlvMaxPerConn per connection, then 51 busy), so every early
	// exit releases it.
	// The release meets the same 51 busy as a page (below) when it reaches
	// slapd before the previous page's thread let go of the session; given up,
	// it would leave the walk's sort state on the connection for good.
	release := func(cookie []byte) {
		paging.PagingSize = 0
		paging.SetCookie(cookie)
		_ = whileBusy(ctx, func() error {
			countOp(ctx)
			_, err := c.Search(&r)
			return err
		})
	}
	var cookie []byte
	for {
		if err := ctx.Err(); err != nil {
			if len(cookie) > 0 {
				release(cookie)
			}
			return &UnavailableError{Err: err}
		}
		var res *ldap.SearchResult
		search := func() error {
			return s.run(ctx, "search", c, func(c *ldap.Conn) (err error) {
				res, err = c.Search(&r)
				return err
			})
		}
		err := whileBusy(ctx, func() error {
			countOp(ctx)
			return search()
		})
		if err != nil {
			// 51 busy (e.g. too many concurrent sorts) is the server's answer on a
			// healthy link: keep the shared connection.
			if IsUnavailable(err) && ctx.Err() == nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
				s.discard(c)
			}
			return err
		}
		cookie = nil
		if ctl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
			cookie = ctl.Cookie
		}
		if err := sortFailure(res.Controls); err != nil {
			if len(cookie) > 0 {
				release(cookie)
			}
			return err
		}
		more := fn(res.Entries)
		if len(cookie) == 0 {
			return nil
		}
		if !more {
			release(cookie)
			return nil
		}
		paging.SetCookie(cookie)
	}
}

// UnavailableError is the store's own answer when it cannot get an operation
// to the directory: no connection could be (re)established, the link died, or
// the request's deadline passed before the operation could be sent or
// finished. Err is why (a dial or bind failure, context.DeadlineExceeded…);
// IsUnavailable reports it, as it does the directory's own "try later"
// answers.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "directory unavailable: " + e.Err.Error() }

// Unwrap returns why.
func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err means the directory could not be reached, the
// link died, or the server is busy (network errors, 51 busy, 52 unavailable, time
// limits): the client may retry later (SCIM 503 with Retry-After).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ue *UnavailableError
	if errors.As(err, &ue) || ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultTimeout, ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError) {
		return true
	}
	// go-ldap reports a dead link with plain errors from its reader goroutine.
	msg := err.Error()
	return strings.Contains(msg, "connection closed") || strings.Contains(msg, "unable to read LDAP response packet") ||
		strings.Contains(msg, "unable to send request") || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// whileBusy runs op and, while slapd's sssvlv answers 51 busy ("Other sort
// requests already in progress"), runs it again: that answer comes when a
// request reaches slapd before the thread that sent the previous page of a
// sorted walk on the same connection has let go of the session, and the same
// request a moment later succeeds. Waits double from 1 ms, about 2 s in all,
// within ctx's deadline (a loaded 2-core machine needed more than 127 ms, and
// once, running the Samba tests alongside, more than 1 s). When every sort slot
// is taken, the 51 comes back that late.
func whileBusy(ctx context.Context, op func() error) error {
	err := op()
	for wait := time.Millisecond; err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) && wait <= 1024*time.Millisecond && ctx.Err() == nil; wait *= 2 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		err = op()
	}
	return err
}
