package slapdtest_test

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
)

// The account the gateway binds as (Server.BindDN) has the rights of
// docs/directory.md and no more: it writes below ou=people and ou=groups, sets
// but cannot read passwords, may lock accounts, and cannot write anywhere else.
func TestServiceAccountIsLeastPrivilege(t *testing.T) {
	s, err := slapdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.BindDN == s.RootDN || s.RootDN == "" {
		t.Fatalf("BindDN %q should be the service account, not the rootDN %q", s.BindDN, s.RootDN)
	}
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.BindDN, s.Password); err != nil {
		t.Fatal(err)
	}
	person := "uid=least,ou=people," + s.BaseDN
	group := "cn=least,ou=groups," + s.BaseDN
	add := func(dn string, attrs map[string][]string) error {
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		return c.Add(r)
	}
	allowed := map[string]func() error{
		"add a person": func() error {
			return add(person, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"least"}, "cn": {"L"}, "sn": {"P"}, "userPassword": {"Secret-123456"}})
		},
		"add a group": func() error {
			return add(group, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"least"}, "member": {person}})
		},
		"lock the person": func() error {
			m := ldap.NewModifyRequest(person, nil)
			m.Replace("pwdAccountLockedTime", []string{"000001010000Z"})
			return c.Modify(m)
		},
		"set a password": func() error {
			_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(person, "", "Other-secret-1234"))
			return err
		},
		"rename the person": func() error {
			return c.ModifyDN(ldap.NewModifyDNRequest(person, "uid=least2", true, ""))
		},
	}
	for _, name := range []string{"add a person", "add a group", "lock the person", "set a password", "rename the person"} {
		if err := allowed[name](); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	person = "uid=least2,ou=people," + s.BaseDN
	res, err := c.Search(ldap.NewSearchRequest(person, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"userPassword", "uid"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the person: %v", err)
	}
	if v := res.Entries[0].GetAttributeValues("userPassword"); len(v) > 0 {
		t.Errorf("the service account reads password hashes: %q", v)
	}
	refused := map[string]func() error{
		"add below the suffix": func() error {
			return add("cn=intruder,"+s.BaseDN, map[string][]string{"objectClass": {"organizationalRole"}, "cn": {"intruder"}})
		},
		"change the password policy": func() error {
			m := ldap.NewModifyRequest("cn=default,ou=policies,"+s.BaseDN, nil)
			m.Replace("pwdMaxFailure", []string{"1"})
			return c.Modify(m)
		},
		"change its own entry": func() error {
			m := ldap.NewModifyRequest(s.BindDN, nil)
			m.Replace("description", []string{"root now"})
			return c.Modify(m)
		},
		"delete a container": func() error { return c.Del(ldap.NewDelRequest("ou=groups,"+s.BaseDN, nil)) },
	}
	for name, op := range refused {
		if err := op(); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			t.Errorf("%s: %v, want insufficientAccessRights", name, err)
		}
	}
	for _, dn := range []string{group, person} {
		if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Errorf("delete %s: %v", dn, err)
		}
	}
}
