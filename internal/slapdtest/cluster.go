package slapdtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is two or more slapd providers of dc=example,dc=org in N-way
// multi-provider replication, each a Server of its own (temp dir, loopback
// ports, the layout Start builds), on the same data.
//
// Each provider has a serverID (1, 2, 3…; olcServerID), the syncprov overlay,
// the accesslog overlay writing successful writes to a cn=accesslog database of
// its own, and one olcSyncrepl per peer in delta-syncrepl mode
// (syncdata=accesslog, refreshAndPersist, retry every second), with
// olcMultiProvider TRUE: the OpenLDAP 2.5 Administrator's Guide, "N-Way
// Multi-Provider" and "Delta-syncrepl replication". Each consumer binds as its
// peer's rootDN: replication must read every attribute, passwords included.
// Delta-syncrepl sends each write's own modifications rather than whole
// entries, so two writes to different attributes of one entry, made on two
// providers before they saw each other's, can both be kept; plain syncrepl
// sends the entry whole.
type Cluster struct {
	Providers []*Server
}

// StartCluster starts n providers (2 or 3 make sense on a laptop) and waits
// until a write on each has reached every other one. Call Stop when done.
func StartCluster(n int) (*Cluster, error) {
	if n < 2 {
		return nil, fmt.Errorf("a cluster needs at least 2 providers, not %d", n)
	}
	c := &Cluster{}
	fail := func(err error) (*Cluster, error) { c.Stop(); return nil, err }
	for range n {
		s, err := Start()
		if err != nil {
			return fail(err)
		}
		c.Providers = append(c.Providers, s)
	}
	// The same entries (entryUUID and entryCSN included) on every provider
	// before they replicate: slapd-up.sh loaded the base entries into each
	// separately, so copy the first provider's database over the others'.
	dump, err := exec.Command(sbin("slapcat"), "-n", "1", "-F", filepath.Join(c.Providers[0].Dir, "slapd.d")).Output()
	if err != nil {
		return fail(fmt.Errorf("slapcat: %v", err))
	}
	for _, s := range c.Providers[1:] {
		if err := s.Halt(); err != nil {
			return fail(err)
		}
		if err := os.RemoveAll(filepath.Join(s.Dir, "data")); err != nil {
			return fail(err)
		}
		if err := os.Mkdir(filepath.Join(s.Dir, "data"), 0o700); err != nil {
			return fail(err)
		}
		cmd := exec.Command(sbin("slapadd"), "-q", "-n", "1", "-F", filepath.Join(s.Dir, "slapd.d"))
		cmd.Stdin = bytes.NewReader(dump)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fail(fmt.Errorf("slapadd: %v: %s", err, out))
		}
		if err := s.Resume(); err != nil {
			return fail(err)
		}
	}
	for i, s := range c.Providers {
		if err := os.Mkdir(filepath.Join(s.Dir, "accesslog"), 0o700); err != nil {
			return fail(err)
		}
		if err := s.ldapmodify(replicationLDIF(c.Providers, i)); err != nil {
			return fail(fmt.Errorf("provider %d: replication config: %w", i+1, err))
		}
	}
	if err := c.WaitConverged(30 * time.Second); err != nil {
		return fail(err)
	}
	return c, nil
}

// replicationLDIF configures provider i of ps (serverID i+1) as a delta-syncrepl
// multi-provider consuming from every other provider.
func replicationLDIF(ps []*Server, i int) string {
	s := ps[i]
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
changetype: modify
replace: olcServerID
olcServerID: %d

dn: cn=module{0},cn=config
changetype: modify
add: olcModuleLoad
olcModuleLoad: syncprov
olcModuleLoad: accesslog

dn: olcDatabase={2}mdb,cn=config
changetype: add
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {2}mdb
olcSuffix: cn=accesslog
olcRootDN: %[2]s
olcDbDirectory: %[3]s
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcDbIndex: default eq
olcDbIndex: entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN
olcAccess: {0}to * by dn.exact="%[2]s" read by * none

dn: olcOverlay=syncprov,olcDatabase={2}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: syncprov
olcSpNoPresent: TRUE
olcSpReloadHint: TRUE

dn: olcOverlay=syncprov,olcDatabase={1}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: syncprov
olcSpCheckpoint: 1 1

dn: olcOverlay=accesslog,olcDatabase={1}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: accesslog
olcAccessLogDB: cn=accesslog
olcAccessLogOps: writes
olcAccessLogSuccess: TRUE
olcAccessLogPurge: 24:00 01+00:00

dn: olcDatabase={1}mdb,cn=config
changetype: modify
`, i+1, s.RootDN, filepath.Join(s.Dir, "accesslog"))
	for j, p := range ps {
		if j == i {
			continue
		}
		fmt.Fprintf(&b, "add: olcSyncrepl\nolcSyncrepl: rid=%03d provider=%s bindmethod=simple binddn=%q credentials=%s"+
			" searchbase=%q type=refreshAndPersist retry=\"1 +\" timeout=3 network-timeout=3"+
			" logbase=\"cn=accesslog\" logfilter=\"(&(objectClass=auditWriteObject)(reqResult=0))\" syncdata=accesslog\n-\n",
			j+1, p.URL, p.RootDN, p.RootPW, p.BaseDN)
	}
	b.WriteString("replace: olcMultiProvider\nolcMultiProvider: TRUE\n")
	return b.String()
}

// URLs is the providers' ldap:// URLs in order, separated by spaces: the value
// of SCIM2LDAP_LDAP_URL for a gateway in front of the cluster.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Providers {
		urls = append(urls, s.URL)
	}
	return strings.Join(urls, " ")
}

// Kill stops provider i with SIGKILL, as a crash would: no shutdown, no last
// checkpoint. Its data stays; Resume starts it again.
func (c *Cluster) Kill(i int) error {
	s := c.Providers[i]
	b, err := os.ReadFile(filepath.Join(s.Dir, "slapd.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	// Gone once its port refuses connections (a dead process's sockets close
	// at once, though it may linger as a zombie where nothing reaps it).
	addr := strings.TrimPrefix(s.URL, "ldap://")
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("slapd %d still answers on %s after SIGKILL", pid, addr)
}

// Resume starts provider i again (after Kill or Halt) on its ports with its data.
func (c *Cluster) Resume(i int) error { return c.Providers[i].Resume() }

// Stop stops every provider and removes their directories.
func (c *Cluster) Stop() {
	for _, s := range c.Providers {
		s.Stop()
	}
}

// WaitConverged waits until replication has settled: a marker entry written
// on each provider in turn (and then deleted) has reached every other one.
// Replication carries each provider's changes in order, so everything written
// on a provider before its marker has reached every provider too. It fails
// after timeout per marker.
func (c *Cluster) WaitConverged(timeout time.Duration) error {
	for i, s := range c.Providers {
		dn := fmt.Sprintf("cn=cluster-check-%d,%s", i+1, s.BaseDN)
		if err := s.ldapmodify(fmt.Sprintf("dn: %s\nchangetype: add\nobjectClass: organizationalRole\ncn: cluster-check-%d\n", dn, i+1)); err != nil {
			return err
		}
		if err := c.waitEverywhere(dn, true, timeout); err != nil {
			return err
		}
		if err := s.ldapmodify(fmt.Sprintf("dn: %s\nchangetype: delete\n", dn)); err != nil {
			return err
		}
		if err := c.waitEverywhere(dn, false, timeout); err != nil {
			return err
		}
	}
	return nil
}

// waitEverywhere waits until dn exists (or, with exists false, no longer
// exists) on every provider.
func (c *Cluster) waitEverywhere(dn string, exists bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i, s := range c.Providers {
		for {
			err := exec.Command("ldapsearch", "-x", "-LLL", "-H", s.URL, "-D", s.RootDN, "-w", s.RootPW, "-b", dn, "-s", "base", "1.1").Run()
			var ee *exec.ExitError
			found := err == nil
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 32) {
				return fmt.Errorf("ldapsearch on provider %d: %v", i+1, err)
			}
			if found == exists {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("provider %d: %s exists=%v after %s: replication is not working", i+1, dn, found, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// ldapmodify applies ldif through the provider's ldapi:// socket as the
// socket's owner (SASL EXTERNAL: manage rights on cn=config and the data).
func (s *Server) ldapmodify(ldif string) error {
	sock := "ldapi://" + strings.ReplaceAll(url.PathEscape(filepath.Join(s.Dir, "ldapi")), "/", "%2F")
	cmd := exec.Command("ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", sock)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ldapmodify: %v: %s", err, out)
	}
	return nil
}

// sbin finds a slapd tool on PATH or in /usr/sbin (Debian's place for them).
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}

// SetReplication turns provider i's consumers on (one olcSyncrepl per peer, as
// StartCluster configured them) or off, online: with it off, provider i keeps
// serving and providing but takes no changes from its peers, as a provider
// behind a cut link would. Turned on again, it catches up from its cookie.
func (c *Cluster) SetReplication(i int, on bool) error {
	// slapd refuses to start a database with olcMultiProvider and no
	// olcSyncrepl ("database is not a shadow"): the two go together.
	ldif := "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcMultiProvider\n-\ndelete: olcSyncrepl\n"
	if on {
		full := replicationLDIF(c.Providers, i)
		ldif = full[strings.LastIndex(full, "dn: olcDatabase={1}mdb,cn=config\n"):]
	}
	return c.Providers[i].ldapmodify(ldif)
}
