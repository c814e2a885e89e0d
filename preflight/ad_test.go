package preflight_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/sambatest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/preflight"
)

// On Active Directory (a Samba AD DC) the rights come from the constructed
// allowedChildClassesEffective and allowedAttributesEffective: the domain
// administrator may create users and groups in the OU and write every mapped
// attribute; an ordinary domain user may not, and each is named with the
// delegation that grants it. Needs root (the DC binds 389 and 636): skipped
// elsewhere, unless SCIM2LDAP_REQUIRE_AD=1.
func TestActiveDirectoryRights(t *testing.T) {
	dc := sambatest.StartForTest(t)
	pem, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(dc.BindDN, dc.Password); err != nil {
		t.Fatal(err)
	}
	ou := "OU=scim,DC=example,DC=test"
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		t.Fatal(err)
	}
	// One user in the OU (allowedAttributesEffective is read on an entry), and
	// an ordinary domain user, enabled, with a password, elsewhere.
	for _, u := range []struct{ dn, sam, password string }{
		{"CN=doctor-sample," + ou, "doctor-sample", ""},
		{"CN=doctor-reader,CN=Users,DC=example,DC=test", "doctor-reader", "Reader-Secret-1"},
	} {
		add := ldap.NewAddRequest(u.dn, nil)
		add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		add.Attribute("sAMAccountName", []string{u.sam})
		if u.password != "" {
			add.Attribute("unicodePwd", []string{ldapstore.UnicodePwd(u.password)})
			add.Attribute("userAccountControl", []string{"512"})
		}
		if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatal(err)
		}
	}
	m, err := mapping.Load("../mappings.ad.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := preflight.Options{Mapping: m, LDAP: ldapstore.Config{URL: dc.LDAPSURL, BindDN: dc.BindDN, BindPassword: dc.Password, CAFile: dc.CAFile}}
	rep := preflight.Run(context.Background(), opts)
	if !rep.OK || len(find(rep, "ad.rights", preflight.OK)) < 3 {
		t.Errorf("administrator:\n%s", rep.Text(true))
	}
	// sambatest's certificate is made for 30 days: "expires on …, in 29 days" (a warning).
	if f := append(find(rep, "tls.certificate", preflight.OK), find(rep, "tls.certificate", preflight.Warning)...); len(f) != 1 ||
		!strings.Contains(f[0].Message, "the directory's certificate") {
		t.Errorf("the DC's certificate over ldaps://:\n%s", rep.Text(true))
	}

	// The write probe creates, modifies, renames and deletes a user and a group in the OU.
	opts.WriteProbe = true
	rep = preflight.Run(context.Background(), opts)
	if len(find(rep, "write-probe", preflight.OK)) != 2 || !rep.OK {
		t.Errorf("administrator's write probe:\n%s", rep.Text(true))
	}
	left, err := c.Search(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, 0, 0, 0, false, "(cn=s2l-doctor-*)", []string{"1.1"}, nil))
	if err != nil || len(left.Entries) != 0 {
		t.Errorf("probe entries left: %v %v", err, left)
	}
	opts.WriteProbe = false

	opts.LDAP.BindDN, opts.LDAP.BindPassword = "doctor-reader@EXAMPLE.TEST", "Reader-Secret-1"
	rep = preflight.Run(context.Background(), opts)
	errs := find(rep, "ad.rights", preflight.Error)
	if rep.OK || len(errs) < 2 {
		t.Fatalf("ordinary user:\n%s", rep.Text(true))
	}
	t.Logf("ordinary user:\n%s", rep.Text(false))
	var text strings.Builder
	for _, f := range errs {
		text.WriteString(f.Message + "\n" + f.Fix + "\n")
	}
	for _, want := range []string{"may not create user objects under " + ou, `dsacls "` + ou + `" /I:T /G "<DOMAIN>\<account>:CCDC;user"`,
		"may not write", "userAccountControl", ":RPWP;userAccountControl;user"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("missing %q in:\n%s", want, text.String())
		}
	}
}
