package ldapstore

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestSplitURLs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"ldap://a:389", []string{"ldap://a:389"}, true},
		{"ldaps://a:636/", []string{"ldaps://a:636/"}, true},
		{"ldap://a:389 ldap://b:389", []string{"ldap://a:389", "ldap://b:389"}, true},
		{"ldap://a:389,ldaps://b:636", []string{"ldap://a:389", "ldaps://b:636"}, true},
		{" ldap://a:389 ,  ldap://b:389 ,ldap://c:389 ", []string{"ldap://a:389", "ldap://b:389", "ldap://c:389"}, true},
		{"", nil, false},
		{" , ", nil, false},
		{"http://a:389", nil, false},
		{"ldap://a:389 b:389", nil, false},
		{"ldap:///dc=example,dc=org", nil, false},
		// One URL works as it always did, a DN after the host included.
		{"ldap://a:389/dc=example,dc=org", []string{"ldap://a:389/dc=example,dc=org"}, true},
		{"ldap://a,ldap://b", []string{"ldap://a", "ldap://b"}, true},
		{"ldap://a:389/dc=example,dc=org ldap://b:389", nil, false},
	}
	for _, c := range cases {
		got, err := SplitURLs(c.in)
		if (err == nil) != c.ok {
			t.Errorf("SplitURLs(%q): err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("SplitURLs(%q) = %q, want %q", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("SplitURLs(%q) = %q, want %q", c.in, got, c.want)
			}
		}
	}
}

// A failback checks the entries written meanwhile by DN, a rename's new DN
// included.
func TestRenamedDN(t *testing.T) {
	cases := []struct {
		req  ldap.ModifyDNRequest
		want string
	}{
		{ldap.ModifyDNRequest{DN: "uid=a,ou=people,dc=example,dc=org", NewRDN: "uid=b"}, "uid=b,ou=people,dc=example,dc=org"},
		{ldap.ModifyDNRequest{DN: `cn=A\, B,ou=groups,dc=example,dc=org`, NewRDN: `cn=C\, D`}, `cn=C\, D,ou=groups,dc=example,dc=org`},
		{ldap.ModifyDNRequest{DN: "uid=a,ou=people,dc=example,dc=org", NewRDN: "uid=a", NewSuperior: "ou=former,dc=example,dc=org"}, "uid=a,ou=former,dc=example,dc=org"},
	}
	for _, c := range cases {
		if got := renamedDN(&c.req); got != c.want {
			t.Errorf("renamedDN(%q, %q, %q) = %q, want %q", c.req.DN, c.req.NewRDN, c.req.NewSuperior, got, c.want)
		}
	}
}
