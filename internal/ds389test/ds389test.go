// Package ds389test starts a throwaway 389 Directory Server (Debian's
// 389-ds-base, 2.3) for integration tests: a temp dir, free loopback ports,
// the suffix dc=example,dc=org with ou=people and ou=groups, and the MemberOf,
// Referential Integrity and USN plugins enabled; stopped when the test binary
// is done. No LDAP mocks anywhere.
//
// It runs scripts/ds389-up.sh, which creates the instance with dscreate as a
// prefix install (no systemd, nothing under /etc/dirsrv) and keeps a copy as
// a template (/var/cache/scim2ldap/ds389-template as root): creating one
// takes about 15 s, a start from the template about 2.5 s. As root the server
// runs as the package's user dirsrv; as another user, that user must be in
// group dirsrv for the first creation.
//
// BindDN is the gateway's service account, with rights only below ou=people
// and ou=groups (ACIs) and subject to the password syntax policy
// (passwordCheckSyntax on, passwordMinLength 8; passwordMinTokenLength 20), which the Directory Manager
// (RootDN, for setting tests up) bypasses.
package ds389test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
)

// Server is a running 389 Directory Server.
type Server struct {
	Dir      string // instance dir (the whole prefix install)
	URL      string // ldap://127.0.0.1:PORT (StartTLS available)
	LDAPSURL string // ldaps://localhost:PORT (the certificate names DNS:localhost only)
	BaseDN   string // dc=example,dc=org
	BindDN   string // cn=scim2ldap,ou=services,dc=example,dc=org: the gateway's service account
	Password string
	RootDN   string // cn=Directory Manager (no access control, no password policy), for test set-up only
	RootPW   string
	CAFile   string // PEM of the instance's self-signed CA
	PID      int    // ns-slapd's process id
}

// ErrUnavailable wraps the reasons 389 DS cannot run on this machine at all
// (389-ds-base not installed, no usable user): Main skips the tests then,
// unless required.
var ErrUnavailable = errors.New("no 389 Directory Server on this machine")

// Start starts an instance, or returns an error saying why it cannot
// (wrapping ErrUnavailable when this machine cannot run one). Call Stop when done.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "scim2ldap-ds389-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(slapdtest.RepoRoot(), "scripts", "ds389-up.sh")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		cmd := exec.Command("bash", script, dir, fmt.Sprint(slapdtest.FreePort()), fmt.Sprint(slapdtest.FreePort()))
		// The watchdog stops the server if this test binary dies without cleaning up.
		cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin", fmt.Sprintf("DS389_WATCH_PID=%d", os.Getpid()))
		out, err := cmd.CombinedOutput()
		if err == nil {
			env := slapdtest.ParseEnv(filepath.Join(dir, "env"))
			pid, _ := strconv.Atoi(env["DS389_PID"])
			return &Server{Dir: dir, URL: env["DS389_URL"], LDAPSURL: env["DS389_LDAPS_URL"], BaseDN: env["DS389_BASE"],
				BindDN: env["DS389_BIND_DN"], Password: env["DS389_BIND_PW"], RootDN: strings.Trim(env["DS389_ROOT_DN"], "'"),
				RootPW: strings.Trim(env["DS389_ROOT_PW"], "'"), CAFile: env["DS389_CACERT"], PID: pid}, nil
		}
		exec.Command("bash", filepath.Join(slapdtest.RepoRoot(), "scripts", "ds389-down.sh"), dir, "--keep").Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.TrimSpace(string(out)))
		}
		lastErr = fmt.Errorf("ds389-up.sh: %v: %s", err, out)
		// A port taken between freePort and the server's bind: try again, in an empty dir.
		os.RemoveAll(dir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// Stacks is every ns-slapd thread's stack (gdb's `thread apply all bt`), to
// tell where a server that stopped answering waits: which threads hold and
// which wait for the back end's and the plugins' locks. Without gdb, or
// when it may not attach (ptrace), it says so instead.
func (s *Server) Stacks() string {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		return "ns-slapd's thread stacks: no gdb on this machine (apt-get install gdb)"
	}
	out, err := exec.Command(gdb, "-p", strconv.Itoa(s.PID), "-batch", "-ex", "thread apply all bt").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("ns-slapd's thread stacks: gdb -p %d: %v\n%s", s.PID, err, out)
	}
	return fmt.Sprintf("ns-slapd's thread stacks (gdb -p %d):\n%s", s.PID, out)
}

// Stop stops the server and removes its directory.
func (s *Server) Stop() {
	exec.Command("bash", filepath.Join(slapdtest.RepoRoot(), "scripts", "ds389-down.sh"), s.Dir).Run()
}

// Main is for TestMain: it starts an instance, runs setup (if not nil), runs
// the tests, stops the instance. When this machine cannot run 389 DS (the
// 389-ds-base package is missing) the package's tests are skipped with a
// message saying why, unless SCIM2LDAP_REQUIRE_389DS=1 (CI sets it), which
// makes that a failure; so does any other start failure.
func Main(m *testing.M, srv **Server, setup func() error) {
	s, err := Start()
	if err != nil {
		if errors.Is(err, ErrUnavailable) && os.Getenv("SCIM2LDAP_REQUIRE_389DS") != "1" {
			fmt.Fprintln(os.Stderr, "ds389test: SKIPPING the 389 Directory Server integration tests:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "ds389test:", err)
		os.Exit(1)
	}
	*srv = s
	if setup != nil {
		if err := setup(); err != nil {
			s.Stop()
			fmt.Fprintln(os.Stderr, "ds389test: setup:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	s.Stop()
	os.Exit(code)
}
