package main

import (
	"bytes"
	"strings"
	"testing"
)

// doctor, reconcile and mapping init read the directory settings as serve
// does: a SCIM2LDAP_LDAP_STARTTLS or SCIM2LDAP_LDAP_TIMEOUT that does not
// parse is bad usage (exit 2, the variable named), never silently the default
// (a mistyped StartTLS would bind with the password in clear); the password
// appears in no output.
func TestAdminCommandsRefuseUnparsableDirectorySettings(t *testing.T) {
	const pw = "the-Bind-Passw0rd-never-shown"
	for _, bad := range []struct{ name, value string }{
		{"SCIM2LDAP_LDAP_STARTTLS", "yes please"},
		{"SCIM2LDAP_LDAP_TIMEOUT", "soon"},
		{"SCIM2LDAP_LDAP_TIMEOUT", "-1s"},
	} {
		for _, cmd := range [][]string{{"doctor"}, {"reconcile"}, {"mapping", "init"}} {
			t.Setenv("SCIM2LDAP_LDAP_URL", slapd.URL)
			t.Setenv("SCIM2LDAP_LDAP_BIND_DN", slapd.BindDN)
			t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", pw)
			t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE", "")
			t.Setenv("SCIM2LDAP_LDAP_STARTTLS", "")
			t.Setenv("SCIM2LDAP_LDAP_TIMEOUT", "")
			t.Setenv(bad.name, bad.value)
			var out, errOut bytes.Buffer
			code := run(cmd, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), bad.name) {
				t.Errorf("%s with %s=%q: exit %d\n%s%s", strings.Join(cmd, " "), bad.name, bad.value, code, out.String(), errOut.String())
			}
			if strings.Contains(out.String()+errOut.String(), pw) {
				t.Errorf("%s: the bind password is in its output", strings.Join(cmd, " "))
			}
		}
	}
}
