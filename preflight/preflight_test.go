package preflight_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/preflight"
)

var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

func exampleMapping(t *testing.T, edit func(string) string) *mapping.Mapping {
	t.Helper()
	src, err := os.ReadFile("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		if text = edit(text); text == string(src) {
			t.Fatal("the edit changed nothing: the example mapping changed; update this test")
		}
	}
	path := filepath.Join(t.TempDir(), "mapping.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	m, err := mapping.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func options(s *slapdtest.Server, m *mapping.Mapping, bindDN, password string) preflight.Options {
	return preflight.Options{Mapping: m, LDAP: ldapstore.Config{URL: s.URL, BindDN: bindDN, BindPassword: password}}
}

// find returns the findings of a check with a severity.
func find(rep *preflight.Report, check string, sev preflight.Severity) []preflight.Finding {
	var out []preflight.Finding
	for _, f := range rep.Findings {
		if f.Check == check && f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}

func errorsOf(rep *preflight.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		if f.Severity == preflight.Error {
			b.WriteString(f.Check + ": " + f.Message + "\n")
		}
	}
	return b.String()
}

// adminConn binds as the directory's administrator.
func adminConn(t *testing.T, s *slapdtest.Server) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(s.RootDN, s.RootPW); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addPerson(t *testing.T, c *ldap.Conn, uid, password string) string {
	t.Helper()
	dn := "uid=" + uid + ",ou=people,dc=example,dc=org"
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	for _, a := range []string{"uid", "cn", "sn"} {
		add.Attribute(a, []string{uid})
	}
	if password != "" {
		add.Attribute("userPassword", []string{password})
	}
	if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		t.Fatal(err)
	}
	return dn
}

// make dev's layout (every overlay, the example mapping, the rootDN) has
// nothing that blocks serving; with cn=config readable, overlays, indexes
// and limits are read rather than inferred.
func TestDevLayoutPasses(t *testing.T) {
	m := exampleMapping(t, nil)
	addPerson(t, adminConn(t, slapd), "doctor-sample", "")
	for _, withConfig := range []bool{false, true} {
		opts := options(slapd, m, slapd.BindDN, slapd.Password)
		if withConfig {
			opts.ConfigBindDN, opts.ConfigBindPassword = "cn=admin,cn=config", slapd.RootPW
		}
		rep := preflight.Run(context.Background(), opts)
		if !rep.OK {
			t.Errorf("config %v: errors:\n%s", withConfig, errorsOf(rep))
		}
		for _, check := range []string{"bind", "schema", "base", "read", "rights.add", "rights.modify", "rights.rename", "rights.delete", "overlay.memberof", "overlay.sssvlv", "limits.size"} {
			if len(find(rep, check, preflight.OK)) == 0 {
				t.Errorf("config %v: no ok %s finding:\n%s", withConfig, check, rep.Text(true))
			}
		}
		if withConfig {
			for _, check := range []string{"overlay.refint", "overlay.ppolicy", "index"} {
				if len(find(rep, check, preflight.OK)) == 0 {
					t.Errorf("no ok %s finding with cn=config:\n%s", check, rep.Text(true))
				}
			}
		}
		if w := find(rep, "tls.certificate", preflight.Warning); len(w) != 1 || !strings.Contains(w[0].Fix, "SCIM2LDAP_LDAP_STARTTLS=true") {
			t.Errorf("plain ldap:// should be a warning with its fix: %+v", w)
		}
	}
	// Over StartTLS the certificate's expiry is read (slapd-up.sh makes it for 30 days: a warning).
	opts := options(slapd, m, slapd.BindDN, slapd.Password)
	opts.LDAP.StartTLS, opts.LDAP.CAFile = true, slapd.CAFile
	rep := preflight.Run(context.Background(), opts)
	if f := find(rep, "tls.certificate", preflight.Warning); len(f) != 1 || !strings.Contains(f[0].Message, "expires on") {
		t.Errorf("StartTLS certificate: %s", rep.Text(true))
	}
}

// A mapping whose base does not exist: the finding names the DN and gives the
// LDIF that creates it.
func TestMissingBaseNamedWithItsLDIF(t *testing.T) {
	m := exampleMapping(t, func(s string) string {
		return strings.Replace(s, "base: ou=people,dc=example,dc=org", "base: ou=staff,ou=emea,dc=example,dc=org", 1)
	})
	rep := preflight.Run(context.Background(), options(slapd, m, slapd.BindDN, slapd.Password))
	if rep.OK {
		t.Fatal("a missing base passed")
	}
	f := find(rep, "base", preflight.Error)
	if len(f) != 1 || f[0].Subject != "ou=staff,ou=emea,dc=example,dc=org" ||
		!strings.Contains(f[0].Message, `User base "ou=staff,ou=emea,dc=example,dc=org" does not exist in the directory (nearest existing entry: "dc=example,dc=org")`) {
		t.Fatalf("base findings: %+v", f)
	}
	for _, want := range []string{"dn: ou=emea,dc=example,dc=org\nobjectClass: organizationalUnit\nou: emea\n\ndn: ou=staff,ou=emea,dc=example,dc=org\nobjectClass: organizationalUnit\nou: staff\n\nEOF\n", m.File + ":"} {
		if !strings.Contains(f[0].Fix, want) {
			t.Errorf("fix lacks %q:\n%s", want, f[0].Fix)
		}
	}
	// The Group base exists: its checks still run.
	if len(find(rep, "read", preflight.OK)) != 1 {
		t.Errorf("the Group type was not checked:\n%s", rep.Text(true))
	}
}

// A bind account that may only read: every write right the mapping needs is
// named, with the olcAccess rule that grants it; --write-probe fails the
// same way and leaves nothing behind.
func TestReadOnlyAccountNamed(t *testing.T) {
	c := adminConn(t, slapd)
	readerDN := addPerson(t, c, "doctor-reader", "reader-Secret-1")
	addPerson(t, c, "doctor-sample", "")
	m := exampleMapping(t, nil)
	rep := preflight.Run(context.Background(), options(slapd, m, readerDN, "reader-Secret-1"))
	if rep.OK {
		t.Fatal("a read-only account passed")
	}
	for _, check := range []string{"rights.add", "rights.modify", "rights.rename", "rights.delete"} {
		f := find(rep, check, preflight.Error)
		if len(f) == 0 {
			t.Errorf("no %s error:\n%s", check, rep.Text(true))
			continue
		}
		if !strings.Contains(f[0].Fix, `olcAccess: {0}to dn.subtree="ou=people,dc=example,dc=org" by dn.exact="`+readerDN+`" write by * break`) {
			t.Errorf("%s fix: %s", check, f[0].Fix)
		}
	}
	if f := find(rep, "rights.modify", preflight.Error); len(f) > 0 && !strings.Contains(f[0].Message, "uniqueIdentifier") {
		t.Errorf("modify names: %s", f[0].Message)
	}
	if len(find(rep, "read", preflight.OK)) != 2 {
		t.Errorf("the reader can read:\n%s", rep.Text(true))
	}
	// The probes wrote nothing: the sample is whole.
	res, err := c.Search(ldap.NewSearchRequest("uid=doctor-sample,ou=people,dc=example,dc=org", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"*"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("sn") != "doctor-sample" {
		t.Errorf("the sample entry changed: %v %v", err, res)
	}

	// With cn=config readable, slapd's default size limit (500, the frontend's
	// olcSizeLimit) is named with the olcLimits rule that lifts it.
	opts := options(slapd, m, readerDN, "reader-Secret-1")
	opts.ConfigBindDN, opts.ConfigBindPassword = "cn=admin,cn=config", slapd.RootPW
	rep = preflight.Run(context.Background(), opts)
	if f := find(rep, "limits.size", preflight.Warning); len(f) != 1 || !strings.Contains(f[0].Message, "size limit is 500 (olcSizeLimit of olcDatabase={-1}frontend,cn=config)") ||
		!strings.Contains(f[0].Fix, `olcLimits: dn.exact="`+readerDN+`" size.soft=1000 size.hard=1000 size.pr=unlimited`) {
		t.Errorf("size limit:\n%s", rep.Text(true))
	}
	if len(find(rep, "limits.time", preflight.OK)) != 1 {
		t.Errorf("time limit:\n%s", rep.Text(true))
	}

	opts = options(slapd, m, readerDN, "reader-Secret-1")
	opts.WriteProbe = true
	rep = preflight.Run(context.Background(), opts)
	if f := find(rep, "write-probe", preflight.Error); len(f) != 2 || !strings.Contains(f[0].Message, "could not create the probe entry") ||
		!strings.Contains(f[0].Message, "Insufficient Access") {
		t.Errorf("write probe as the reader:\n%s", rep.Text(true))
	}
	// As the administrator it goes through, and leaves no probe entry.
	opts = options(slapd, m, slapd.BindDN, slapd.Password)
	opts.WriteProbe = true
	rep = preflight.Run(context.Background(), opts)
	if len(find(rep, "write-probe", preflight.OK)) != 2 || !rep.OK {
		t.Errorf("write probe as the administrator:\n%s", rep.Text(true))
	}
	left, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(|(uid=s2l-doctor-*)(cn=s2l-doctor-*))", []string{"1.1"}, nil))
	if err != nil || len(left.Entries) != 0 {
		t.Errorf("probe entries left: %v %v", err, left)
	}
}

// A slapd without the memberof overlay, for a mapping that reads groups from
// memberOf: named with the cn=config LDIF that adds it, with or without
// access to cn=config.
func TestMissingMemberOfOverlayNamed(t *testing.T) {
	s, err := slapdtest.StartWith(slapdtest.Options{Overlays: []string{"ppolicy", "sssvlv"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	m := exampleMapping(t, nil)
	for _, withConfig := range []bool{false, true} {
		opts := options(s, m, s.BindDN, s.Password)
		if withConfig {
			opts.ConfigBindDN, opts.ConfigBindPassword = "cn=admin,cn=config", s.RootPW
		}
		rep := preflight.Run(context.Background(), opts)
		f := find(rep, "overlay.memberof", preflight.Error)
		if rep.OK || len(f) != 1 || !strings.Contains(f[0].Message, "memberof overlay") ||
			!strings.Contains(f[0].Fix, "olcOverlay: memberof") || !strings.Contains(f[0].Fix, "olcModuleLoad: memberof") {
			t.Errorf("config %v:\n%s", withConfig, rep.Text(true))
		}
		if withConfig && len(find(rep, "overlay.refint", preflight.Warning)) != 1 {
			t.Errorf("no refint warning:\n%s", rep.Text(true))
		}
	}
	// A config bind that fails is said, and the checks fall back to inference.
	opts := options(s, m, s.BindDN, s.Password)
	opts.ConfigBindDN, opts.ConfigBindPassword = "cn=admin,cn=config", "wrong"
	rep := preflight.Run(context.Background(), opts)
	if f := find(rep, "config", preflight.Warning); len(f) != 1 || !strings.Contains(f[0].Message, "Invalid Credentials") ||
		len(find(rep, "overlay.memberof", preflight.Error)) != 1 {
		t.Errorf("wrong config password:\n%s", rep.Text(true))
	}
}

// Of a list of servers every one is checked: a plain ldap:// server anywhere
// in the list is named (after a failover, passwords go to it), and so is one
// that does not answer, with its place in the list; neither blocks serving.
func TestEveryServerOfAListChecked(t *testing.T) {
	m := exampleMapping(t, nil)
	opts := options(slapd, m, slapd.BindDN, slapd.Password)
	opts.LDAP.URL = slapd.URL + " ldap://127.0.0.1:1"
	rep := preflight.Run(context.Background(), opts)
	if !rep.OK {
		t.Errorf("a list with a server down should not block serving:\n%s", errorsOf(rep))
	}
	if w := find(rep, "tls.certificate", preflight.Warning); len(w) != 2 || !strings.Contains(w[1].Subject, "server 2 of 2") {
		t.Errorf("want each plain server named: %+v", w)
	}
	if w := find(rep, "connect", preflight.Warning); len(w) != 1 || !strings.Contains(w[0].Subject, "127.0.0.1:1 (server 2 of 2)") {
		t.Errorf("want the server that does not answer named: %+v", w)
	}
}
