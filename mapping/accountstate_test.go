package mapping

import "testing"

// accountState: nsAccountLock (389 DS) loads: its falseValue "true" is no
// clash with a trueValue, since true is the attribute's absence; false writes
// nsAccountLock: true and any value reads as false.
func TestAccountStateNsAccountLockLoads(t *testing.T) {
	m, problems := ParseAll("m.yaml", []byte(`resourceTypes:
  User:
    ldap: {base: "ou=people,dc=example,dc=org", objectClasses: [inetOrgPerson], rdn: uid}
    attributes:
      userName: {ldap: uid}
      active:   {accountState: nsAccountLock}
`))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	for _, a := range m.ResourceType("User").Attrs {
		if a.Key != "active" {
			continue
		}
		if a.LDAP != "nsAccountLock" || !a.TrueWhenAbsent || a.FalseValue != "true" {
			t.Fatalf("active: %+v", a)
		}
		if v, err := toLDAP(a, false); err != nil || v != "true" {
			t.Errorf("false → %q, %v", v, err)
		}
		if v, err := toLDAP(a, true); err != nil || v != "" {
			t.Errorf("true → %q, %v (no value)", v, err)
		}
		if v, _ := fromLDAP(a, []byte("true")); v != false {
			t.Error("nsAccountLock: true reads as active")
		}
	}
}
