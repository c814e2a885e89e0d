package ldapstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

// adminConn is a go-ldap connection bound as the directory's admin, closed at
// the end of the test.
func adminConn(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
		t.Fatal(err)
	}
	return c
}

// adminStore is a Store of conns connections bound as the admin, closed at the
// end of the test.
func adminStore(t testing.TB, conns int) *ldapstore.Store {
	t.Helper()
	s, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.RootDN, BindPassword: slapd.RootPW, Conns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func baseSearch() *ldap.SearchRequest {
	return ldap.NewSearchRequest(slapd.BaseDN, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"dc"}, nil)
}

func TestTLSModes(t *testing.T) {
	ldapPort := slapd.URL[strings.LastIndex(slapd.URL, ":")+1:]
	cases := []struct {
		name string
		cfg  ldapstore.Config
		ok   bool
		err  string
	}{
		{"plain", ldapstore.Config{URL: slapd.URL}, true, ""},
		{"ldaps with CA", ldapstore.Config{URL: slapd.LDAPSURL, CAFile: slapd.CAFile}, true, ""},
		{"starttls with CA", ldapstore.Config{URL: slapd.URL, StartTLS: true, CAFile: slapd.CAFile}, true, ""},
		{"ldaps with localhost name", ldapstore.Config{URL: strings.Replace(slapd.LDAPSURL, "127.0.0.1", "localhost", 1), CAFile: slapd.CAFile}, true, ""},
		{"ldaps without the CA", ldapstore.Config{URL: slapd.LDAPSURL}, false, "certificate"},
		{"starttls without the CA", ldapstore.Config{URL: slapd.URL, StartTLS: true}, false, "StartTLS"},
		{"starttls on ldaps", ldapstore.Config{URL: slapd.LDAPSURL, StartTLS: true, CAFile: slapd.CAFile}, false, "already ldaps"},
		{"bad scheme", ldapstore.Config{URL: "http://127.0.0.1:" + ldapPort}, false, "want ldap://"},
		{"missing CA file", ldapstore.Config{URL: slapd.LDAPSURL, CAFile: "/nonexistent.pem"}, false, "CA file"},
		{"wrong password", ldapstore.Config{URL: slapd.URL, BindPassword: "wrong-secret-value"}, false, "Invalid Credentials"},
		{"nothing listening", ldapstore.Config{URL: "ldap://127.0.0.1:1"}, false, "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.BindDN = slapd.BindDN
			if c.cfg.BindPassword == "" {
				c.cfg.BindPassword = slapd.Password
			}
			s, err := ldapstore.Open(c.cfg)
			if c.ok != (err == nil) {
				t.Fatalf("Open: %v", err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %q should mention %q", err, c.err)
				}
				if strings.Contains(err.Error(), c.cfg.BindPassword) {
					t.Errorf("the password is in the error: %v", err)
				}
				return
			}
			defer s.Close()
			res, err := s.Search(context.Background(), baseSearch())
			if err != nil || len(res.Entries) != 1 {
				t.Fatalf("search: %v", err)
			}
		})
	}
}

func TestRedialAfterConnectionLoss(t *testing.T) {
	p := slapdtest.NewForwarder(t, slapd.URL)
	s, err := ldapstore.Open(ldapstore.Config{URL: p.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := ldapstore.WithOpCounter(context.Background())
	if _, err := s.Search(ctx, baseSearch()); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	// Every shared connection died; reads redial, rebind and succeed.
	for i := 0; i < 4; i++ {
		if _, err := s.Search(ctx, baseSearch()); err != nil {
			t.Fatalf("search %d after the cut: %v", i, err)
		}
	}
	if n := ldapstore.OpCount(ctx); n < 5 {
		t.Errorf("op count %d, want at least 5", n)
	}
}

func TestUnavailableDirectoryIsReported(t *testing.T) {
	p := slapdtest.NewForwarder(t, slapd.URL)
	s, err := ldapstore.Open(ldapstore.Config{URL: p.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p.Down() // no new connections, the old ones cut
	_, err = s.Search(context.Background(), baseSearch())
	if err == nil || !ldapstore.IsUnavailable(err) {
		t.Fatalf("want an unavailable error, got %v", err)
	}
	// While backing off, writes fail fast with the same class of error.
	err = s.Add(context.Background(), ldap.NewAddRequest("cn=x,"+slapd.BaseDN, nil))
	if err == nil || !ldapstore.IsUnavailable(err) {
		t.Fatalf("want an unavailable error, got %v", err)
	}
}

func TestSearchPagesAndAssertion(t *testing.T) {
	s := adminStore(t, 4)
	ctx := context.Background()
	name := fmt.Sprintf("pages%d", fixtures.Add(1)) // its own OU each time, so -count=N reruns too
	ou := "ou=" + name + "," + slapd.BaseDN
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{name})
	if err := s.Add(ctx, add); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		add := ldap.NewAddRequest("cn=p"+string(rune('a'+i))+","+ou, nil)
		add.Attribute("objectClass", []string{"organizationalRole"})
		add.Attribute("description", []string{"v1"})
		if err := s.Add(ctx, add); err != nil {
			t.Fatal(err)
		}
	}
	req := ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=organizationalRole)", []string{"1.1"}, nil)
	var pages []int
	if err := s.SearchPages(ctx, req, 10, func(es []*ldap.Entry) bool { pages = append(pages, len(es)); return true }); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 || pages[0] != 10 || pages[1] != 10 || pages[2] != 5 {
		t.Errorf("pages %v, want [10 10 5]", pages)
	}
	pages = nil
	if err := s.SearchPages(ctx, req, 10, func(es []*ldap.Entry) bool { pages = append(pages, len(es)); return false }); err != nil || len(pages) != 1 {
		t.Errorf("stopping after one page: %v %v", pages, err)
	}
	// The assertion control (RFC 4528): a modify applies only while the entry matches.
	dn := "cn=pa," + ou
	mod := ldap.NewModifyRequest(dn, []ldap.Control{&ldapstore.AssertionControl{Filter: "(description=v1)"}})
	mod.Replace("description", []string{"v2"})
	if err := s.Modify(ctx, mod); err != nil {
		t.Fatal(err)
	}
	if err := s.Modify(ctx, mod); !ldap.IsErrorWithCode(err, ldap.LDAPResultAssertionFailed) {
		t.Fatalf("stale assertion: %v, want 122", err)
	}
}

func TestReadSchema(t *testing.T) {
	s := adminStore(t, 1)
	sc, err := s.ReadSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"cn", "commonName", "CN", "mail;binary", "entryUUID", "pwdAccountLockedTime", "memberOf", "uidNumber"} {
		if !sc.HasAttribute(a) {
			t.Errorf("attribute %s missing", a)
		}
	}
	if sc.HasAttribute("titel") || sc.HasObjectClass("posixAcount") || !sc.HasObjectClass("inetOrgPerson") {
		t.Error("schema lookups are wrong")
	}
	must := strings.ToLower(strings.Join(sc.Must("inetOrgPerson"), ","))
	if !strings.Contains(must, "sn") || !strings.Contains(must, "cn") {
		t.Errorf("inetOrgPerson MUST (with superclasses): %s", must)
	}
	if may := sc.May("inetOrgPerson"); !slices.ContainsFunc(may, func(s string) bool { return strings.EqualFold(s, "telephoneNumber") }) {
		t.Errorf("inetOrgPerson MAY lacks telephoneNumber (from organizationalPerson): %v", may)
	}
	// SUBSTR rules as slapd 2.5 publishes them: cn inherits caseIgnoreSubstringsMatch
	// from name (SUP); uniqueIdentifier and entryUUID have none.
	for _, c := range []struct {
		attr, rule string
		published  bool
	}{
		{"cn", "caseIgnoreSubstringsMatch", true},
		{"commonName", "caseIgnoreSubstringsMatch", true},
		{"mail", "caseIgnoreIA5SubstringsMatch", true},
		{"uid", "caseIgnoreSubstringsMatch", true},
		{"uniqueIdentifier", "", true},
		{"entryUUID", "", true},
		{"facsimileTelephoneNumber", "", true}, // no matching rule at all, on a directory that publishes them
		{"nosuchattribute", "", false},
	} {
		if rule, published := sc.SubstringRule(c.attr); rule != c.rule || published != c.published {
			t.Errorf("SubstringRule(%s) = %q, %v; want %q, %v", c.attr, rule, published, c.rule, c.published)
		}
	}
}

// Active Directory's attributeTypes name no matching rules: nothing is known
// about substrings, so nothing is refused.
func TestSubstringRuleWithoutPublishedRules(t *testing.T) {
	sc := ldapstore.ParseSchema([]string{
		"( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
		"( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
		"( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )",
		"( 9.9 NAME 'loop' SUP loop )",
	}, nil)
	if rule, published := sc.SubstringRule("sAMAccountName"); rule != "" || published {
		t.Errorf("sAMAccountName: %q %v", rule, published)
	}
	if rule, _ := sc.SubstringRule("surname"); rule != "caseIgnoreSubstringsMatch" {
		t.Errorf("surname (SUP name): %q", rule)
	}
	if rule, published := sc.SubstringRule("loop"); rule != "" || published { // a SUP cycle ends
		t.Errorf("loop: %q %v", rule, published)
	}
}

// With StartUnreachable, Open succeeds while nothing answers; operations are
// unavailable until the directory appears, then the healer connects by itself.
func TestStartWhileUnreachable(t *testing.T) {
	p := slapdtest.Unreachable(t, slapd.URL) // nothing listens there yet
	cfg := ldapstore.Config{URL: p.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 2}
	if _, err := ldapstore.Open(cfg); err == nil {
		t.Fatal("Open without StartUnreachable must fail while the directory is unreachable")
	}
	cfg.StartUnreachable = true
	s, err := ldapstore.Open(cfg)
	if err != nil {
		t.Fatalf("Open with StartUnreachable: %v", err)
	}
	defer s.Close()
	if _, err := s.Search(context.Background(), baseSearch()); !ldapstore.IsUnavailable(err) {
		t.Fatalf("search before the directory is up: %v, want unavailable", err)
	}
	p.Up(t) // the directory appears at that address
	var last error
	for i := 0; i < 100; i++ { // bounded: the healer ticks every second, backoff up to 5 s
		if _, last = s.Search(context.Background(), baseSearch()); last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("still unavailable after the directory came up: %v", last)
	}
	if !s.Supports(ldapstore.OIDAssertion) {
		t.Error("the root DSE was not read once the directory was reachable")
	}
	// A wrong password is a configuration error, never "unreachable".
	cfg = ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: "wrong-password-here", StartUnreachable: true}
	if _, err := ldapstore.Open(cfg); err == nil {
		t.Error("a wrong bind password must fail Open even with StartUnreachable")
	}
}
