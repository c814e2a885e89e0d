package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Several search bases: users under ou=staff and ou=contractors are Users,
// those elsewhere are not; new users go under the first base.
func TestSeveralSearchBases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bases.yaml")
	os.WriteFile(path, []byte(`resourceTypes:
  User:
    ldap:
      bases: ["ou=staff,dc=example,dc=org", "ou=contractors,dc=example,dc=org"]
      objectClasses: [inetOrgPerson]
      rdn: uid
      defaults: {cn: "{userName}", sn: "{userName}"}
    attributes:
      userName: {ldap: uid, uniqueness: server}
      title: title
`), 0o644)
	m, err := mapping.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, m)
	for _, ou := range []string{"staff", "contractors", "robots"} {
		add := ldap.NewAddRequest("ou="+ou+",dc=example,dc=org", nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{ou})
		if err := e.ldap.Add(add); err != nil {
			t.Fatal(err)
		}
		u := ldap.NewAddRequest("uid=b-"+ou+",ou="+ou+",dc=example,dc=org", nil)
		u.Attribute("objectClass", []string{"inetOrgPerson"})
		for _, a := range []string{"uid", "cn", "sn"} {
			u.Attribute(a, []string{"b-" + ou})
		}
		u.Attribute("title", []string{"Bases"})
		if err := e.ldap.Add(u); err != nil {
			t.Fatal(err)
		}
	}
	// The mapping's bases, writable by the gateway's service account (docs/directory.md).
	for _, base := range []string{"ou=staff,dc=example,dc=org", "ou=contractors,dc=example,dc=org"} {
		if err := slapd.GrantWrite(base); err != nil {
			t.Fatal(err)
		}
	}
	l := e.Do("GET", "/Users"+filterQ(`title eq "Bases"`)+"&sortBy=userName", nil)
	var names []string
	for _, r := range l.Body["Resources"].([]any) {
		names = append(names, r.(map[string]any)["userName"].(string))
	}
	if strings.Join(names, ",") != "b-contractors,b-staff" {
		t.Errorf("users in the bases: %v (%s)", names, l.Raw)
	}
	id := e.MustCreate("/Users", user("b-new", nil))
	res, err := e.ldap.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(entryUUID="+id+")", nil, nil))
	if err != nil || len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].DN, "uid=b-new,ou=staff,dc=example,dc=org") {
		t.Errorf("new user: %v %v", err, res)
	}
	// The uniqueness check covers every base.
	wantError(t, e.Do("POST", "/Users", user("B-CONTRACTORS", nil)), 409, "uniqueness")
	// A user outside the bases is not found by id either.
	robot, _ := e.ldap.Search(ldap.NewSearchRequest("ou=robots,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false, "(uid=b-robots)", []string{"entryUUID"}, nil))
	wantError(t, e.Do("GET", "/Users/"+robot.Entries[0].GetAttributeValue("entryUUID"), nil), 404, "")
}
