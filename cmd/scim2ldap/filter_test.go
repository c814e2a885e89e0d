package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFilterCommand(t *testing.T) {
	const m = "../../mappings.example.yaml"
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"filter", "--mapping", m, `userName eq "bjensen"`}, 0, "(&(objectClass=inetOrgPerson)(uid=bjensen))\n", ""},
		{[]string{"filter", `userName eq "bjensen"`, "--mapping", m}, 0, "(&(objectClass=inetOrgPerson)(uid=bjensen))\n", ""},
		{[]string{"filter", "--mapping", m, `emails[type eq "work" and value co "@x"] and not (title pr) or name.familyName gt "m"`}, 0,
			"(&(objectClass=inetOrgPerson)(|(&(mail=*@x*)(!(title=*)))(&(sn=*)(!(sn:caseIgnoreOrderingMatch:=m))(!(sn=m)))))\n", ""},
		{[]string{"filter", "--mapping", m, `displayName eq "*)(uid=*"`}, 0, `(&(objectClass=inetOrgPerson)(displayName=\2a\29\28uid=\2a))` + "\n", ""},
		{[]string{"filter", "--mapping", m, "--type", "group", `displayName sw "adm"`}, 0, "(&(objectClass=groupOfNames)(cn=adm*))\n", ""},
		{[]string{"filter", "--mapping", m, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`}, 0,
			"(&(objectClass=inetOrgPerson)(manager=<DN of id 26118915-6090-4610-87e4-49d8ca9f808d>))\n", ""},
		{[]string{"filter", "--mapping", m, `nickName eq "x"`}, 1, "", `attribute "nickName" is not mapped`},
		{[]string{"filter", "--mapping", m, `userName eq "a" and`}, 1, "", "unexpected end of filter"},
		{[]string{"filter", "--mapping", m, "--type", "Device", `x pr`}, 1, "", `no resource type "Device"; it has: User, Group`},
		{[]string{"filter", "--mapping", "/nonexistent.yaml", `x pr`}, 1, "", "mapping file"},
		{[]string{"filter", "--mapping", m}, 2, "", "usage: scim2ldap filter"},
		{[]string{"filter", "--mapping", m, "a pr", "b pr"}, 2, "", "usage: scim2ldap filter"},
		{[]string{"filter", "--bogus", "a pr"}, 2, "", "flag provided but not defined"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || out.String() != c.stdout || !strings.Contains(errOut.String(), c.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
				c.args, code, out.String(), errOut.String(), c.code, c.stdout, c.stderr)
		}
	}
}
