package ldapstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// freezer forwards TCP to slapd until frozen; then it keeps every link open but
// passes nothing, as a hung directory or a black-holed network would.
type freezer struct {
	l      net.Listener
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			if f.frozen.Load() {
				continue // swallowed
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return f
}

// TestDeadlineBoundsOperations: with the directory hung, an operation returns an
// unavailable error at the caller's deadline, not after the 30 s per-operation
// timeout, and the metrics observer sees "deadline".
func TestDeadlineBoundsOperations(t *testing.T) {
	f := newFreezer(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	s, err := ldapstore.Open(ldapstore.Config{URL: "ldap://" + f.l.Addr().String(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var results []string
	s.SetObserver(func(op, result string, d time.Duration) { results = append(results, op+":"+result) })
	if _, err := s.Search(context.Background(), baseSearch()); err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := s.Search(ctx, baseSearch()); done <- err }()
	select {
	case err := <-done:
		if !ldapstore.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want an unavailable deadline error, got %v", err)
		}
	case <-time.After(10 * time.Second): // far beyond the 300 ms deadline, far below the 30 s timeout
		t.Fatal("the search ignored the caller's deadline")
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer pcancel()
	if err := s.Ping(pctx); err == nil {
		t.Error("Ping succeeded against a hung directory")
	}
	if got := strings.Join(results, " "); got != "connect:0 search:0 search:deadline search:deadline" {
		t.Errorf("observer saw %q", got)
	}
}
