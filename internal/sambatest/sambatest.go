// Package sambatest starts a throwaway Samba Active Directory domain controller
// for integration tests (scripts/samba-ad-up.sh: domain EXAMPLE.TEST, base
// DC=example,DC=test, LDAP service only, loopback only) and stops it when the
// test binary is done. No LDAP mocks anywhere.
//
// Samba's LDAP server always binds ports 389 and 636, so only one DC can run on
// a host: Start holds an exclusive lock (/run/lock/scim2ldap-samba-ad.lock, or
// the temp dir) until Stop, and test packages that use it run one after the
// other even under `go test ./...`. It needs root; the script installs samba
// from Debian's packages when missing and caches a provisioned domain in
// /var/cache/scim2ldap/ad-template, so a start takes about a second after the first.
package sambatest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
)

// Server is a running Samba AD DC.
type Server struct {
	Dir      string // instance dir
	URL      string // ldap://127.0.0.1:389 (simple binds allowed; StartTLS available)
	LDAPSURL string // ldaps://127.0.0.1:636
	BaseDN   string // DC=example,DC=test
	BindDN   string // Administrator@EXAMPLE.TEST
	Password string
	CAFile   string // PEM of the DC's certificate (127.0.0.1, localhost)
	lock     *os.File
}

// ErrUnavailable wraps the reasons a DC cannot be started here at all (not
// root, samba not installable): Main skips the tests then, unless required.
var ErrUnavailable = errors.New("no Samba AD DC on this machine")

// Start starts the DC, or returns an error saying why it cannot (wrapping
// ErrUnavailable when this machine cannot run one). Call Stop when done.
func Start() (*Server, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: a Samba AD DC needs root (it binds ports 389 and 636)", ErrUnavailable)
	}
	lock, err := acquireLock()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "scim2ldap-samba-")
	if err != nil {
		lock.Close()
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(slapdtest.RepoRoot(), "scripts", "samba-ad-up.sh"), dir)
	// AD_MAX_RUNTIME: a safety net, samba exits by itself if the test binary dies.
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin", "AD_MAX_RUNTIME=1800")
	out, err := cmd.CombinedOutput()
	if err != nil {
		exec.Command("bash", filepath.Join(slapdtest.RepoRoot(), "scripts", "samba-ad-down.sh"), dir).Run()
		lock.Close()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.TrimSpace(string(out)))
		}
		return nil, fmt.Errorf("samba-ad-up.sh: %v: %s", err, out)
	}
	env := slapdtest.ParseEnv(filepath.Join(dir, "env"))
	return &Server{Dir: dir, URL: env["AD_LDAP_URL"], LDAPSURL: env["AD_LDAPS_URL"], BaseDN: env["AD_BASE"],
		BindDN: env["AD_BIND_DN"], Password: strings.Trim(env["AD_BIND_PW"], "'"), CAFile: env["AD_CACERT"], lock: lock}, nil
}

// Stop stops the DC, removes its directory and releases the lock.
func (s *Server) Stop() {
	exec.Command("bash", filepath.Join(slapdtest.RepoRoot(), "scripts", "samba-ad-down.sh"), s.Dir).Run()
	if s.lock != nil {
		s.lock.Close()
	}
}

// Required reports whether the Active Directory tests must run
// (SCIM2LDAP_REQUIRE_AD=1, set by CI): a machine that cannot run a DC is then a
// failure, not a skip.
func Required() bool { return os.Getenv("SCIM2LDAP_REQUIRE_AD") == "1" }

// StartForTest starts a DC for one test and stops it when the test ends. When
// this machine cannot run one the test is skipped, unless Required.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if errors.Is(err, ErrUnavailable) && !Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Main is for TestMain: it starts the DC, runs setup (if not nil; e.g. to
// create the OU the tests use), runs the tests, stops the DC. When
// this machine cannot run one (not root, samba not installable) the package's
// tests are skipped with a message saying why, unless SCIM2LDAP_REQUIRE_AD=1
// (CI sets it), which makes that a failure; so does any other start failure.
func Main(m *testing.M, srv **Server, setup func() error) {
	s, err := Start()
	if err != nil {
		if errors.Is(err, ErrUnavailable) && !Required() {
			fmt.Fprintln(os.Stderr, "sambatest: SKIPPING the Active Directory integration tests:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sambatest:", err)
		os.Exit(1)
	}
	*srv = s
	if setup != nil {
		if err := setup(); err != nil {
			s.Stop()
			fmt.Fprintln(os.Stderr, "sambatest: setup:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// acquireLock takes the host-wide lock that serialises Samba DCs (blocking
// while another test package holds it).
func acquireLock() (*os.File, error) {
	dir := "/run/lock"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, "scim2ldap-samba-ad.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
