package mapping

import "testing"

// accountState: nsAccountLock (389 DS) loads: its falseValue "true" is no
// clash with a trueValue, since true is the attribute's absence; false writes
// nsAccountLock: true. Only that value (in any case: caseIgnoreMatch) reads as
// false; another value is no lock the gateway wrote and reads as true.
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
		for raw, want := range map[string]bool{"true": false, "TRUE": false, "false": true} {
			if v, _ := fromLDAP(a, []byte(raw)); v != want {
				t.Errorf("nsAccountLock: %s reads as active %v, want %v", raw, v, want)
			}
		}
	}
}
