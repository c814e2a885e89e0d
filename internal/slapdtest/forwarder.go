package slapdtest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Forwarder is a TCP forwarder to a directory that a test can cut and restore:
// a directory outage at a fixed address, with the real directory's bytes (no
// LDAP mock).
type Forwarder struct {
	Addr   string // host:port the forwarder listens on (or will, after Up)
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

// NewForwarder forwards a free loopback port to target (an ldap:// URL or
// host:port) until the test ends.
func NewForwarder(t testing.TB, target string) *Forwarder {
	f := Unreachable(t, target)
	f.Up(t)
	return f
}

// Unreachable reserves a free loopback address where nothing listens until Up.
func Unreachable(t testing.TB, target string) *Forwarder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Forwarder{Addr: l.Addr().String(), target: strings.TrimPrefix(target, "ldap://")}
	l.Close()
	t.Cleanup(f.Down)
	return f
}

// URL is the forwarder's ldap:// URL.
func (f *Forwarder) URL() string { return "ldap://" + f.Addr }

// Up listens again at Addr (the test is skipped if another process took the
// port meanwhile) and forwards each new connection to the target.
func (f *Forwarder) Up(t testing.TB) {
	l, err := net.Listen("tcp", f.Addr)
	if err != nil {
		t.Skipf("the port %s was taken meanwhile: %v", f.Addr, err)
	}
	f.mu.Lock()
	f.l = l
	f.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// Cut closes the forwarded connections; new ones are still accepted.
func (f *Forwarder) Cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// Down stops listening and cuts the forwarded connections: the directory is gone.
func (f *Forwarder) Down() {
	f.mu.Lock()
	if f.l != nil {
		f.l.Close()
		f.l = nil
	}
	f.mu.Unlock()
	f.Cut()
}
