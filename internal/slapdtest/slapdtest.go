// Package slapdtest starts a private, throwaway OpenLDAP slapd for integration
// tests: a temp dir, free loopback ports, the base entries of dc=example,dc=org
// (ou=people, ou=groups), torn down when the test binary is done.
//
// It runs scripts/slapd-up.sh (the same script `make dev` uses), so tests and the
// quick start exercise one directory layout. No LDAP mocks anywhere. StartWith
// builds the same layout with fewer overlays (Options), e.g. without refint and
// memberof, to see what the gateway itself keeps consistent.
//
// BindDN is the gateway's least-privilege service account, as docs/directory.md
// sets it up (it writes below ou=people and ou=groups and nothing else): a test
// binds the gateway as it, so what passes here passes with those rights. RootDN
// is for setting a test up beyond them (other branches, ou=policies).
package slapdtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Server is a running slapd.
type Server struct {
	Dir      string // instance dir (config, data, TLS files)
	URL      string // ldap://127.0.0.1:PORT (StartTLS available)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	BaseDN   string // dc=example,dc=org
	BindDN   string // cn=scim2ldap,ou=services,dc=example,dc=org: the gateway's service account
	Password string
	RootDN   string // cn=admin,dc=example,dc=org: the rootDN (no access control), for test set-up only
	RootPW   string
	CAFile   string // PEM of the server's self-signed certificate
}

// Options changes the directory StartWith builds.
type Options struct {
	// Overlays are the overlays to configure (scripts/slapd-up.sh's SLAPD_OVERLAYS):
	// any of "memberof", "refint", "ppolicy", "sssvlv". Nil: all four, the layout
	// Start and `make dev` use; empty but not nil: none. E.g. []string{"ppolicy"}
	// is a directory that keeps no referential integrity of its own (no refint,
	// no memberof): what a gateway writes is all there is.
	Overlays []string
}

// Start starts slapd or returns an error saying what is missing. Call Stop when done.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith starts a slapd built with opts (see Options) or returns an error
// saying what is missing. Call Stop when done.
func StartWith(opts Options) (*Server, error) {
	if _, err := exec.LookPath("slapd"); err != nil {
		if _, err2 := os.Stat("/usr/sbin/slapd"); err2 != nil {
			return nil, fmt.Errorf("slapd is not installed (apt-get install slapd ldap-utils, or run `make deps`)")
		}
	}
	dir, err := os.MkdirTemp("", "scim2ldap-slapd-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p1, p2 := freePort(), freePort()
		cmd := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "slapd-up.sh"), dir, fmt.Sprint(p1), fmt.Sprint(p2))
		// The watchdog stops slapd if this test binary dies without cleaning up (a panic).
		cmd.Env = append(overlayEnv(opts.Overlays), "PATH="+os.Getenv("PATH")+":/usr/sbin", fmt.Sprintf("SLAPD_WATCH_PID=%d", os.Getpid()))
		out, err := cmd.CombinedOutput()
		if err != nil {
			lastErr = fmt.Errorf("slapd-up.sh: %v: %s", err, out)
			continue
		}
		env := parseEnv(filepath.Join(dir, "env"))
		return &Server{Dir: dir, URL: env["LDAP_URL"], LDAPSURL: env["LDAPS_URL"], BaseDN: env["LDAP_BASE"],
			BindDN: env["LDAP_BIND_DN"], Password: env["LDAP_BIND_PW"], RootDN: env["LDAP_ROOT_DN"], RootPW: env["LDAP_ROOT_PW"],
			CAFile: env["LDAPTLS_CACERT"]}, nil
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// Stop stops slapd and removes its directory.
func (s *Server) Stop() {
	exec.Command("bash", filepath.Join(repoRoot(), "scripts", "slapd-down.sh"), s.Dir).Run()
}

// Main is for TestMain: it starts slapd, runs the tests, stops slapd. When slapd
// cannot be started the tests fail (CI installs it), unless SCIM2LDAP_SKIP_LDAP=1.
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	if err != nil {
		if os.Getenv("SCIM2LDAP_SKIP_LDAP") == "1" {
			fmt.Fprintln(os.Stderr, "slapdtest: skipping integration tests:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "slapdtest:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// overlayEnv is the environment for slapd-up.sh: SLAPD_OVERLAYS from overlays,
// or, for nil, none at all, so a SLAPD_OVERLAYS in the developer's shell does not
// change the layout the tests expect.
func overlayEnv(overlays []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLAPD_OVERLAYS=") {
			env = append(env, kv)
		}
	}
	if overlays != nil {
		env = append(env, "SLAPD_OVERLAYS="+strings.Join(overlays, " "))
	}
	return env
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RepoRoot is the repository's root directory (where scripts/ lives).
func RepoRoot() string { return repoRoot() }

// FreePort is a loopback TCP port free at the time of the call.
func FreePort() int { return freePort() }

// ParseEnv reads the `export K=V` lines an up script writes (DIR/env).
func ParseEnv(path string) map[string]string { return parseEnv(path) }

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func parseEnv(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}
