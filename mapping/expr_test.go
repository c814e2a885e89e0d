package mapping

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpressions(t *testing.T) {
	m, err := Load("../docs/examples/openldap-posix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt := m.ResourceType("User")
	env := rt.exprEnv(decode(t, `{"userName": "Zoë.Ünal", "name": {"GIVENNAME": "Zoë", "familyName": "Ünal"},
		"emails": [{"value": "Z@X.org", "type": "work"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42", "department": "R&D, Lab"}}`))
	for src, want := range map[string]any{
		`Join(" ", name.givenName, name.familyName)`:                     "Zoë Ünal",
		`Join(",", "a", "", nil, Split("b;c", ";"))`:                     "a,b,c",
		`Append(userName, "@example.org")`:                               "Zoë.Ünal@example.org",
		`Coalesce(displayName, nickName, userName)`:                      "Zoë.Ünal",
		`Switch(enterprise.department, "Other", "R&D, Lab", "Research")`: "Research",
		`Switch("HR", "Other", "IT", "Tech")`:                            "Other",
		`IIF(IsPresent(title), "yes", "no")`:                             "no",
		`ToLower(NormalizeDiacritics(userName))`:                         "zoe.unal",
		`ToUpper(Left(name.givenName, 2))`:                               "ZO",
		`Mid("abcdef", 2, 3)`:                                            "bcd",
		`StripSpaces(" a b  c ")`:                                        "abc",
		`Replace(userName, ".", "_")`:                                    "Zoë_Ünal",
		`10000 + ToInt(enterprise.employeeNumber)`:                       10042,
		`"ou=" + EscapeDN(enterprise.department)`:                        `ou=R&D\, Lab`,
		`emails[0].value`:                                                "Z@X.org",
		`Trim("  x ")`:                                                   "x",
	} {
		x, err := compileExpr(src, rt.exprVars())
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := x.Eval(env)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
	for src, want := range map[string]string{
		`ToLowr(userName)`:    "unknown name ToLowr",
		`Join(" ", givenNme)`: "unknown name givenNme",
		`userName +`:          "unexpected token",
		`now()`:               "unknown name now",
		`len(userName)`:       "unknown name len",
	} {
		if _, err := compileExpr(src, rt.exprVars()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", src, err, want)
		}
	}
	if got := exprValues([]any{"a", nil, "", 3, true}); !reflect.DeepEqual(got, []string{"a", "3", "true"}) {
		t.Errorf("exprValues: %q", got)
	}
}

func TestComputedParentAndPassword(t *testing.T) {
	m, err := Load("../docs/examples/openldap-posix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt := m.ResourceType("User")
	res := decode(t, `{"userName": "jdoe", "password": "pw-1", "name": {"givenName": "John", "familyName": "Doe"},
		"emails": [{"type": "work", "value": "John.Doe@Example.org"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "department": "Sales"}}`)
	vals, err := rt.LDAPValues(res, noLookup)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"cn": "John Doe", "uidNumber": "10007", "gidNumber": "10000", "homeDirectory": "/home/jdoe", "mail": "john.doe@example.org"} {
		if got := vals[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, ok := vals["userPassword"]; ok {
		t.Error("the password must never be an LDAP value")
	}
	if pw, ok, err := rt.Password(res); pw != "pw-1" || !ok || err != nil {
		t.Errorf("password: %q %v %v", pw, ok, err)
	}
	if p, err := rt.ParentDN(res); p != "ou=sales,ou=people,dc=example,dc=org" || err != nil {
		t.Errorf("parent %q %v", p, err)
	}
	delete(res["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any), "department")
	if p, _ := rt.ParentDN(res); p != "ou=people,dc=example,dc=org" {
		t.Errorf("parent without department %q", p)
	}
}
