package ldapstore_test

import (
	"context"
	"errors"
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

// TestPlanRefusesAnUnrecordedWrite: with a Plan in the context, a write that
// reaches a connection without going through a write method's plan hook (a
// write path the plan doesn't know) is refused with ErrPlanUnrecorded and
// never reaches slapd; without a plan the same write is sent.
func TestPlanRefusesAnUnrecordedWrite(t *testing.T) {
	admin := adminConn(t)
	store := adminStore(t, 1)
	dn := "uid=plan-unrecorded,ou=people,dc=example,dc=org"
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"plan-unrecorded"})
	add.Attribute("cn", []string{"Unrecorded"})
	add.Attribute("sn", []string{"Unrecorded"})
	t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest(dn, nil)) })
	sent := false
	write := func(c *ldap.Conn) error { sent = true; return c.Add(add) }
	exists := func() bool {
		_, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		return err == nil
	}

	ctx := ldapstore.WithPlan(context.Background(), &ldapstore.Plan{})
	if err := ldapstore.SendWrite(ctx, store, write); !errors.Is(err, ldapstore.ErrPlanUnrecorded) {
		t.Errorf("a write sent with a plan: %v, want ErrPlanUnrecorded", err)
	}
	if sent || exists() {
		t.Fatalf("a write with a plan in its context reached slapd (sent %v, entry exists %v)", sent, exists())
	}
	if err := ldapstore.SendWrite(context.Background(), store, write); err != nil || !exists() {
		t.Fatalf("without a plan the write is sent: %v, entry exists %v", err, exists())
	}
}

// A value of an attribute that holds passwords (userPassword, RFC 4519 §2.41;
// authPassword, RFC 3112; AD's unicodePwd) never reaches a plan's LDIF, also
// when it comes in an add or modify (a mapping that maps some other SCIM
// attribute to it) rather than through SetPassword or SetUnicodePwd.
func TestPlanLDIFHoldsNoPasswordValue(t *testing.T) {
	store := adminStore(t, 1)
	plan := &ldapstore.Plan{}
	ctx := ldapstore.WithPlan(context.Background(), plan)
	const secret = "Cleartext-Secret-42"
	add := ldap.NewAddRequest("uid=plan-pw,ou=people,dc=example,dc=org", nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"plan-pw"})
	add.Attribute("cn", []string{"Pw"})
	add.Attribute("sn", []string{"Pw"})
	add.Attribute("userPassword", []string{secret})
	if err := store.Add(ctx, add); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=plan-pw,ou=people,dc=example,dc=org", nil)
	mod.Replace("UserPassword", []string{secret + "-2"})
	mod.Add("authPassword;binary", []string{secret + "-3"})
	mod.Replace("unicodePwd", []string{secret + "-4"})
	mod.Replace("description", []string{"kept"})
	if err := store.Modify(ctx, mod); err != nil {
		t.Fatal(err)
	}
	out, err := plan.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "Secret") || strings.Count(out, ldapstore.PasswordMarker) != 4 || !strings.Contains(out, "description: kept") {
		t.Errorf("the LDIF holds a password value, or lost a marker or another value:\n%s", out)
	}
	// The planned state keeps what the write would send: a read of the entry
	// is answered as the directory would have it.
	res, err := store.Search(ctx, ldap.NewSearchRequest(add.DN, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"userPassword"}, nil))
	if err != nil || res.Entries[0].GetAttributeValue("userPassword") != secret+"-2" {
		t.Errorf("planned state: %v %v", err, res)
	}
}

// A PlanOnly store (SCIM2LDAP_MODE=plan) sends no write: one without a plan in
// its context fails with ErrPlanUnrecorded and never reaches slapd, whether it
// comes through a write method or not; with a plan the write is recorded, and
// reads are served.
func TestPlanOnlyStoreSendsNoWrite(t *testing.T) {
	admin := adminConn(t)
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.RootDN, BindPassword: slapd.RootPW, Conns: 1, PlanOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	dn := "uid=plan-only,ou=people,dc=example,dc=org"
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"plan-only"})
	add.Attribute("cn", []string{"Plan Only"})
	add.Attribute("sn", []string{"Only"})
	t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest(dn, nil)) })
	exists := func() bool {
		_, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		return err == nil
	}
	ctx := context.Background()
	if err := store.Add(ctx, add); !errors.Is(err, ldapstore.ErrPlanUnrecorded) {
		t.Errorf("Add without a plan: %v, want ErrPlanUnrecorded", err)
	}
	if err := store.SetPassword(ctx, "uid=plan-seed,ou=people,dc=example,dc=org", "Secret-Passw0rd"); !errors.Is(err, ldapstore.ErrPlanUnrecorded) {
		t.Errorf("SetPassword without a plan: %v, want ErrPlanUnrecorded", err)
	}
	if err := ldapstore.SendWrite(ctx, store, func(c *ldap.Conn) error { return c.Add(add) }); !errors.Is(err, ldapstore.ErrPlanUnrecorded) {
		t.Errorf("a write outside the write methods: %v, want ErrPlanUnrecorded", err)
	}
	if exists() {
		t.Fatal("a PlanOnly store wrote")
	}
	plan := &ldapstore.Plan{}
	if err := store.Add(ldapstore.WithPlan(ctx, plan), add); err != nil || plan.Len() != 1 || exists() {
		t.Errorf("Add with a plan: %v, %d changes recorded, entry exists %v", err, plan.Len(), exists())
	}
	if _, err := store.Search(ctx, ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"dc"}, nil)); err != nil {
		t.Errorf("a read: %v", err)
	}
}

// TestPlanForkSharesTheStateNotTheLDIF: forks of a plan (the operations of a
// Bulk request) see what each other planned, and each Drain holds its own
// changes only. A write to an entry the plan deleted or renamed away is 32
// noSuchObject, as slapd answers the second of two deletes; Locate follows a
// directory entry to the DN a rename gave it and says when it was deleted.
func TestPlanForkSharesTheStateNotTheLDIF(t *testing.T) {
	admin := adminConn(t)
	store := adminStore(t, 1)
	const people = "ou=people,dc=example,dc=org"
	for _, uid := range []string{"plan-fork-a", "plan-fork-b", "plan-fork-c"} {
		seed := ldap.NewAddRequest("uid="+uid+","+people, nil)
		seed.Attribute("objectClass", []string{"inetOrgPerson"})
		seed.Attribute("uid", []string{uid})
		seed.Attribute("cn", []string{uid})
		seed.Attribute("sn", []string{uid})
		if err := admin.Add(seed); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest(seed.DN, nil)) })
	}
	bulk := &ldapstore.Plan{}
	first, second := bulk.Fork(), bulk.Fork()
	in := func(p *ldapstore.Plan) context.Context { return ldapstore.WithPlan(context.Background(), p) }
	a, b, c := "uid=plan-fork-a,"+people, "uid=plan-fork-b,"+people, "uid=plan-fork-c,"+people

	if err := store.Delete(in(first), ldap.NewDelRequest(a, nil)); err != nil {
		t.Fatal(err)
	}
	if err := store.ModifyDN(in(first), ldap.NewModifyDNRequest(b, "uid=plan-fork-b2", true, "")); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest(c, nil)
	mod.Replace("title", []string{"Forked"})
	if err := store.Modify(in(first), mod); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(in(second), ldap.NewDelRequest(a, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("a second delete, in another fork: %v, want 32 noSuchObject", err)
	}
	again := ldap.NewModifyRequest(b, nil)
	again.Replace("title", []string{"x"})
	if err := store.Modify(in(second), again); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("a modify at the name a rename left: %v, want 32 noSuchObject", err)
	}
	res, err := store.Search(in(second), ldap.NewSearchRequest(c, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"title"}, nil))
	if err != nil || res.Entries[0].GetAttributeValue("title") != "Forked" {
		t.Errorf("another fork's modify read back: %v %v", err, res)
	}
	for _, l := range []struct {
		dn, now        string
		written, exist bool
	}{
		{a, "", true, false},
		{b, "uid=plan-fork-b2," + people, true, true},
		{c, c, true, true},
		{"uid=plan-seed," + people, "uid=plan-seed," + people, false, true},
	} {
		if now, written, exist := second.Locate(l.dn); now != l.now || written != l.written || exist != l.exist {
			t.Errorf("Locate(%s) = %q %v %v, want %q %v %v", l.dn, now, written, exist, l.now, l.written, l.exist)
		}
	}
	if out, _ := first.Drain(); strings.Count("\n"+out, "\ndn: ") != 3 {
		t.Errorf("the first fork's LDIF holds not its three changes:\n%s", out)
	}
	if out, _ := second.Drain(); out != "" {
		t.Errorf("the second fork recorded refused writes:\n%s", out)
	}
	if bulk.Len() != 0 {
		t.Errorf("the forks' changes were recorded in the plan they forked: %d", bulk.Len())
	}
}

// A base search with the matched values control (RFC 3876) of an entry the
// plan changed returns, of the values the plan left, those the control's
// items match, as slapd returns them of the values it holds: the gateway
// learns so whether a group still holds its placeholder member.
func TestPlanAnswersMatchedValuesFromThePlannedState(t *testing.T) {
	admin := adminConn(t)
	store := adminStore(t, 1)
	dn := "uid=plan-matched,ou=people,dc=example,dc=org"
	seed := ldap.NewAddRequest(dn, nil)
	seed.Attribute("objectClass", []string{"inetOrgPerson"})
	seed.Attribute("uid", []string{"plan-matched"})
	seed.Attribute("cn", []string{"Matched"})
	seed.Attribute("sn", []string{"Matched"})
	seed.Attribute("description", []string{"placeholder", "kept"})
	if err := admin.Add(seed); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest(dn, nil)) })
	ctx := ldapstore.WithPlan(context.Background(), &ldapstore.Plan{})
	matched := func(items ...string) map[string][]string {
		t.Helper()
		res, err := store.Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)",
			[]string{"description", "sn", "title"}, []ldap.Control{&ldapstore.MatchedValuesControl{Items: items}}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, a := range res.Entries[0].Attributes {
			out[a.Name] = a.Values
		}
		return out
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Delete("description", []string{"placeholder"})
	mod.Add("description", []string{"added"})
	mod.Replace("title", []string{"Planned"})
	if err := store.Modify(ctx, mod); err != nil {
		t.Fatal(err)
	}
	if got := matched("(description=placeholder)", "(sn=*)"); len(got) != 1 || len(got["sn"]) != 1 {
		t.Errorf("the placeholder the plan deleted, sn in full: %v, want only sn", got)
	}
	if got := matched("(description=ADDED)", "(title=*)"); len(got) != 2 || strings.Join(got["description"], ",") != "added" || got["title"][0] != "Planned" {
		t.Errorf("a value the plan added, an attribute it set: %v", got)
	}
}
