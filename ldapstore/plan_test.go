package ldapstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// TestPlanRecordsAndAnswersFromThePlannedState: with a Plan in the context
// no write reaches slapd; base searches of the entries written answer from
// the planned state; the directory's immediate refusals (68, 32, 122, 65)
// (but 65 on an add, which a directory may fill in) are answered as slapd would; Drain gives the changes as LDIF, in order,
// with the password as a marker.
func TestPlanRecordsAndAnswersFromThePlannedState(t *testing.T) {
	admin := adminConn(t)
	store := adminStore(t, 1)
	const people = "ou=people,dc=example,dc=org"
	seed := ldap.NewAddRequest("uid=plan-seed,"+people, nil)
	seed.Attribute("objectClass", []string{"inetOrgPerson"})
	seed.Attribute("uid", []string{"plan-seed"})
	seed.Attribute("cn", []string{"Seed"})
	seed.Attribute("sn", []string{"Seed"})
	if err := admin.Add(seed); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest("uid=plan-seed,"+people, nil)) })
	version := func() string {
		res, err := admin.Search(ldap.NewSearchRequest("uid=plan-seed,"+people, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"entryCSN"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return res.Entries[0].GetAttributeValue("entryCSN")
	}
	csn := version()
	schema, err := store.ReadSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	plan := &ldapstore.Plan{Schema: schema, Assigned: func(dn string) []*ldap.EntryAttribute {
		return []*ldap.EntryAttribute{ldap.NewEntryAttribute("entryUUID", []string{"planned-" + dn})}
	}}
	ctx := ldapstore.WithPlan(context.Background(), plan)
	read := func(dn string) (*ldap.Entry, error) {
		res, err := store.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"*", "entryUUID"}, nil))
		if err != nil {
			return nil, err
		}
		return res.Entries[0], nil
	}
	wantCode := func(err error, code uint16, what string) {
		t.Helper()
		if !ldap.IsErrorWithCode(err, code) {
			t.Errorf("%s: %v, want LDAP result %d", what, err, code)
		}
	}

	add := ldap.NewAddRequest("uid=plan-new,"+people, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"plan-new"})
	add.Attribute("cn", []string{"Ünïcode"})
	add.Attribute("sn", []string{"New"})
	if err := store.Add(ctx, add); err != nil {
		t.Fatal(err)
	}
	if err := store.SetPassword(ctx, add.DN, "s3cret-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=plan-seed,"+people, []ldap.Control{&ldapstore.AssertionControl{Filter: "(entryCSN=" + csn + ")"}})
	mod.Replace("title", []string{"Planned"})
	mod.Replace("description", nil)
	if err := store.Modify(ctx, mod); err != nil {
		t.Fatal(err)
	}
	if err := store.ModifyDN(ctx, ldap.NewModifyDNRequest("uid=plan-seed,"+people, "uid=plan-moved", true, "")); err != nil {
		t.Fatal(err)
	}
	// Read back: the added entry with its assigned id, the moved one with its
	// changes and new RDN value, nothing at the old name.
	if e, err := read(add.DN); err != nil || e.GetAttributeValue("cn") != "Ünïcode" || e.GetAttributeValue("entryUUID") != "planned-"+add.DN {
		t.Errorf("the planned add read back: %v %v", e, err)
	}
	if e, err := read("uid=plan-moved," + people); err != nil || e.GetAttributeValue("title") != "Planned" || e.GetAttributeValue("uid") != "plan-moved" || e.GetAttributeValue("entryUUID") == "" {
		t.Errorf("the planned rename read back: %v %v", e, err)
	}
	_, err = read("uid=plan-seed," + people)
	wantCode(err, ldap.LDAPResultNoSuchObject, "the old name after a planned rename")

	// What slapd would refuse at once.
	wantCode(store.Add(ctx, add), ldap.LDAPResultEntryAlreadyExists, "an add onto a planned entry")
	orphan := ldap.NewAddRequest("uid=x,ou=nowhere,dc=example,dc=org", nil)
	orphan.Attribute("objectClass", []string{"inetOrgPerson"})
	orphan.Attribute("uid", []string{"x"})
	orphan.Attribute("cn", []string{"x"})
	orphan.Attribute("sn", []string{"x"})
	wantCode(store.Add(ctx, orphan), ldap.LDAPResultNoSuchObject, "an add under a missing parent")
	stale := ldap.NewDelRequest("uid=plan-moved,"+people, []ldap.Control{&ldapstore.AssertionControl{Filter: "(entryCSN=20000101000000.000000Z#000000#000#000000)"}})
	wantCode(store.Delete(ctx, stale), ldap.LDAPResultAssertionFailed, "a delete whose assertion fails")
	clearSN := ldap.NewModifyRequest("uid=plan-moved,"+people, nil)
	clearSN.Delete("sn", nil)
	wantCode(store.Modify(ctx, clearSN), ldap.LDAPResultObjectClassViolation, "a modify removing sn")
	if err := store.Delete(ctx, ldap.NewDelRequest("uid=plan-moved,"+people, nil)); err != nil {
		t.Fatal(err)
	}
	_, err = read("uid=plan-moved," + people)
	wantCode(err, ldap.LDAPResultNoSuchObject, "a planned delete read back")

	// Nothing reached slapd.
	if version() != csn {
		t.Error("the seed entry changed")
	}
	for _, dn := range []string{add.DN, "uid=plan-moved," + people} {
		if _, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("%s exists in slapd: %v", dn, err)
		}
	}

	got, err := plan.Drain()
	if err != nil {
		t.Fatal(err)
	}
	want := `dn: uid=plan-new,ou=people,dc=example,dc=org
changetype: add
objectClass: inetOrgPerson
uid: plan-new
cn:: w5xuw69jb2Rl
sn: New

# Password Modify extended operation (RFC 3062), shown as the change it makes; the directory hashes the password
dn: uid=plan-new,ou=people,dc=example,dc=org
changetype: modify
replace: userPassword
userPassword: [password]
-

dn: uid=plan-seed,ou=people,dc=example,dc=org
changetype: modify
replace: title
title: Planned
-
replace: description
-

dn: uid=plan-seed,ou=people,dc=example,dc=org
changetype: modrdn
newrdn: uid=plan-moved
deleteoldrdn: 1

dn: uid=plan-moved,ou=people,dc=example,dc=org
changetype: delete

`
	if got != want {
		t.Errorf("LDIF:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "s3cret") {
		t.Error("the password is in the plan")
	}
	if again, _ := plan.Drain(); again != "" {
		t.Errorf("a second Drain: %q", again)
	}
}
