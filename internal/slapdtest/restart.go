package slapdtest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// Halt stops slapd but keeps its directory (data, config, certificate), as a
// directory outage would; Resume starts it again on the same ports with the same
// data. slapd-up.sh would wipe the data, so Resume runs slapd as it does.
func (s *Server) Halt() error {
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "slapd-down.sh"), s.Dir, "--keep").CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapd-down.sh --keep: %v: %s", err, out)
	}
	return nil
}

// Resume restarts a halted slapd and waits until it answers a bind (up to 10 s).
func (s *Server) Resume() error {
	urls := s.URL + "/ " + s.LDAPSURL + "/ " + s.ldapiURL()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
	}
	if out, err := exec.Command(slapd, "-F", filepath.Join(s.Dir, "slapd.d"), "-h", urls).CombinedOutput(); err != nil {
		return fmt.Errorf("slapd: %v: %s", err, out)
	}
	for i := 0; i < 200; i++ {
		if exec.Command("ldapsearch", "-x", "-LLL", "-H", s.URL, "-D", s.BindDN, "-w", s.Password, "-b", s.BaseDN, "-s", "base", "dn").Run() == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("slapd did not come back on %s", s.URL)
}
