package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/reconcile"
)

// The package's integration tests share one throwaway slapd (internal/slapdtest).
var slapd *slapdtest.Server

func TestMain(m *testing.M) { slapdtest.Main(m, &slapd) }

const (
	people = "ou=people,dc=example,dc=org"
	groups = "ou=groups,dc=example,dc=org"
	entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

func repoFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", name)
}

func loadMapping(t *testing.T, src string) *mapping.Mapping {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exampleMapping(t *testing.T) string {
	b, err := os.ReadFile(repoFile("mappings.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// result is one run's findings and summary.
type result struct {
	findings []reconcile.Finding
	sum      *reconcile.Summary
}

// of returns the findings of kind k.
func (r result) of(k reconcile.Kind) []reconcile.Finding {
	var out []reconcile.Finding
	for _, f := range r.findings {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// has reports whether a finding of kind k names dn (and value exactly, when not "").
func (r result) has(k reconcile.Kind, dn, value string) bool {
	for _, f := range r.of(k) {
		if strings.EqualFold(f.DN, dn) && (value == "" || f.Value == value) {
			return true
		}
	}
	return false
}

func (r result) String() string {
	b, _ := json.MarshalIndent(r.findings, "", " ")
	return string(b)
}

// reconcileAs runs reconcile bound as the gateway's service account.
func reconcileAs(t *testing.T, m *mapping.Mapping, opts reconcile.Options) result {
	t.Helper()
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out result
	opts.Mapping, opts.Store, opts.GatewayDN = m, store, slapd.BindDN
	opts.OnFinding = func(f reconcile.Finding) error { out.findings = append(out.findings, f); return nil }
	out.sum, err = reconcile.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rootConn is a connection as the rootDN, to plant what the gateway never writes.
func rootConn(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
		t.Fatal(err)
	}
	return c
}

func modify(t *testing.T, c *ldap.Conn, dn string, f func(*ldap.ModifyRequest)) {
	t.Helper()
	mod := ldap.NewModifyRequest(dn, nil)
	f(mod)
	if err := c.Modify(mod); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func add(t *testing.T, c *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func values(t *testing.T, c *ldap.Conn, dn, attr string) []string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{attr}, nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValues(attr)
}

// A directory the gateway wrote is clean, through more than one page; each
// planted problem is then found where it was planted, and nothing else;
// --fix-dangling removes exactly the dangling values (audited), after which
// a run finds none; with the plants undone the directory is clean again.
func TestReconcileFindsWhatWasPlanted(t *testing.T) {
	ctx := context.Background()
	m := loadMapping(t, exampleMapping(t))
	store, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	snap := directory.New(store, zerolog.Nop(), nil).Snapshot(m, "")
	users, grps := snap.Resources(m.ResourceType("User")), snap.Resources(m.ResourceType("Group"))
	ids := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		res := map[string]any{"userName": name, "externalId": "ext-" + name, "name": map[string]any{"givenName": name, "familyName": "Test"}, "active": true}
		if name == "bob" {
			res[entURN] = map[string]any{"manager": map[string]any{"value": ids["alice"]}}
		}
		w, err := users.Create(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		r, err := users.GetDN(ctx, w.DN, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = r.ID
	}
	if _, err := grps.Create(ctx, map[string]any{"displayName": "eng", "members": []any{map[string]any{"value": ids["alice"]}, map[string]any{"value": ids["bob"]}}}); err != nil {
		t.Fatal(err)
	}
	// Three pages of users (2 per page): each entry is seen once.
	clean := reconcileAs(t, m, reconcile.Options{PageSize: 2})
	if len(clean.findings) != 0 || !clean.sum.Clean || clean.sum.Scanned["User"] != 5 || clean.sum.Scanned["Group"] != 1 {
		t.Fatalf("a directory the gateway wrote: scanned %v, findings %s", clean.sum.Scanned, clean)
	}

	root := rootConn(t)
	alice, bob, carol := "uid=alice,"+people, "uid=bob,"+people, "uid=carol,"+people
	eng := "cn=eng," + groups
	ghost, gone := "uid=ghost,"+people, "uid=gone,"+people
	legacy, noUID, again := "uid=legacy,"+people, "cn=No Uid,"+people, "cn=Alice Again,"+people
	// Unmanaged: an entry another tool made, without externalId (nor extensibleObject, which allows uniqueIdentifier).
	add(t, root, legacy, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"legacy"}, "cn": {"Legacy"}, "sn": {"Legacy"}})
	// Managed: another tool made it without externalId, and the gateway has written it since.
	claimed := "uid=claimed," + people
	add(t, root, claimed, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"claimed"}, "cn": {"Claimed"}, "sn": {"Claimed"}})
	svc, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Bind(slapd.BindDN, slapd.Password); err != nil {
		t.Fatal(err)
	}
	modify(t, svc, claimed, func(m *ldap.ModifyRequest) { m.Replace("title", []string{"Claimed by the gateway"}) })
	// Dangling: a member and a manager naming nothing; unmapped: a member naming an entry of no type.
	modify(t, root, eng, func(m *ldap.ModifyRequest) { m.Add("member", []string{ghost, slapd.BindDN}) })
	modify(t, root, carol, func(m *ldap.ModifyRequest) { m.Add("manager", []string{gone}) })
	// Unrenderable: no uid (userName is required); two cn (name.formatted is single-valued).
	add(t, root, noUID, map[string][]string{"objectClass": {"inetOrgPerson", "extensibleObject"}, "cn": {"No Uid"}, "sn": {"Uid"}, "uniqueIdentifier": {"ext-nouid"}})
	modify(t, root, bob, func(m *ldap.ModifyRequest) { m.Add("cn", []string{"Robert Test"}) })
	// Duplicate: uid is caseIgnoreMatch, so ALICE is alice's userName too.
	add(t, root, again, map[string][]string{"objectClass": {"inetOrgPerson", "extensibleObject"}, "uid": {"ALICE"}, "cn": {"Alice Again"}, "sn": {"Again"}, "uniqueIdentifier": {"ext-again"}})
	// Lock mismatch: a lockout after failed binds (a time), not the gateway's deactivation.
	modify(t, root, alice, func(m *ldap.ModifyRequest) { m.Replace("pwdAccountLockedTime", []string{"20260101000000Z"}) })

	got := reconcileAs(t, m, reconcile.Options{PageSize: 2})
	for _, want := range []struct {
		kind      reconcile.Kind
		dn, value string
	}{
		{reconcile.Unmanaged, legacy, ""},
		{reconcile.Dangling, eng, ghost},
		{reconcile.Dangling, carol, gone},
		{reconcile.UnmappedReference, eng, slapd.BindDN},
		{reconcile.Unrenderable, noUID, ""},
		{reconcile.Unrenderable, bob, "Robert Test"},
		{reconcile.Duplicate, alice, "alice"},
		{reconcile.Duplicate, again, "ALICE"},
		{reconcile.LockMismatch, alice, "20260101000000Z"},
		{reconcile.MissingClass, legacy, "extensibleObject"},
	} {
		if !got.has(want.kind, want.dn, want.value) {
			t.Errorf("no %s finding for %s %s", want.kind, want.dn, want.value)
		}
	}
	if got.sum.Clean || len(got.of(reconcile.Dangling)) != 2 || len(got.of(reconcile.Duplicate)) != 2 || len(got.of(reconcile.LockMismatch)) != 1 {
		t.Errorf("findings: %s", got)
	}
	for _, f := range got.findings {
		// Entries the gateway wrote are managed, even when root changed them later (bob's cn).
		if f.Kind == reconcile.Unmanaged && f.DN != legacy && f.DN != noUID && f.DN != again {
			t.Errorf("a gateway-written entry is unmanaged: %+v", f)
		}
	}
	if got.has(reconcile.Unmanaged, noUID, "") || got.has(reconcile.Unmanaged, claimed, "") {
		t.Errorf("an entry with an externalId, or last modified by the gateway, is unmanaged: %s", got)
	}
	for _, f := range got.of(reconcile.Unrenderable) {
		if f.DN == noUID && f.Attribute != "userName" {
			t.Errorf("unrenderable %+v", f)
		}
	}

	// --fix-dangling: exactly the two dangling values go, each audited.
	var audit bytes.Buffer
	fixed := reconcileAs(t, m, reconcile.Options{FixDangling: true, Audit: zerolog.New(&audit)})
	if len(fixed.sum.Removed) != 2 || len(fixed.sum.FixErrors) != 0 || fixed.sum.Clean {
		t.Errorf("removed %+v, errors %v", fixed.sum.Removed, fixed.sum.FixErrors)
	}
	if m := values(t, root, eng, "member"); len(m) != 3 || slices.Contains(m, ghost) || !slices.Contains(m, slapd.BindDN) {
		t.Errorf("eng's members after the fix: %v", m)
	}
	if v := values(t, root, carol, "manager"); len(v) != 0 {
		t.Errorf("carol's manager after the fix: %v", v)
	}
	if n := strings.Count(audit.String(), `"event":"scim.reference"`); n != 2 || !strings.Contains(audit.String(), `"old_value":"`+ghost+`"`) {
		t.Errorf("audit:\n%s", audit.String())
	}
	again2 := reconcileAs(t, m, reconcile.Options{})
	if len(again2.of(reconcile.Dangling)) != 0 || len(again2.findings) != len(got.findings)-2 {
		t.Errorf("after the fix: %s", again2)
	}

	// Undo the other plants: clean again.
	for _, dn := range []string{legacy, noUID, again, claimed} {
		if err := root.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatal(err)
		}
	}
	modify(t, root, eng, func(m *ldap.ModifyRequest) { m.Delete("member", []string{slapd.BindDN}) })
	modify(t, root, bob, func(m *ldap.ModifyRequest) { m.Delete("cn", []string{"Robert Test"}) })
	modify(t, root, alice, func(m *ldap.ModifyRequest) { m.Delete("pwdAccountLockedTime", nil) })
	if final := reconcileAs(t, m, reconcile.Options{PageSize: 3}); len(final.findings) != 0 || !final.sum.Clean {
		t.Errorf("after undoing the plants: %s", final)
	}

	// A mapping that keeps active in an attribute of its own: a false one
	// without a ppolicy lock can still bind; a value that is no boolean is
	// unrenderable.
	own := loadMapping(t, strings.Replace(exampleMapping(t),
		`active:                        {ldap: pwdAccountLockedTime, falseValue: "000001010000Z", trueWhenAbsent: true}`,
		`active:                        {ldap: description, trueValue: "enabled", falseValue: "disabled"}`, 1))
	modify(t, root, "uid=dave,"+people, func(m *ldap.ModifyRequest) { m.Replace("description", []string{"disabled"}) })
	modify(t, root, "uid=erin,"+people, func(m *ldap.ModifyRequest) { m.Replace("description", []string{"maybe"}) })
	t.Cleanup(func() {
		for _, u := range []string{"dave", "erin"} {
			root.Modify(&ldap.ModifyRequest{DN: "uid=" + u + "," + people, Changes: []ldap.Change{{Operation: ldap.DeleteAttribute, Modification: ldap.PartialAttribute{Type: "description"}}}})
		}
	})
	res := reconcileAs(t, own, reconcile.Options{})
	if !res.has(reconcile.LockMismatch, "uid=dave,"+people, "") || !res.has(reconcile.Unrenderable, "uid=erin,"+people, "maybe") {
		t.Errorf("active in description: %s", res)
	}
}

// hideFromServiceAccount adds an access control that hides the subtree base
// from everyone but the rootDN: slapd then answers the service account's
// searches for entries there as for none (noSuchObject).
func hideFromServiceAccount(t *testing.T, base string) {
	t.Helper()
	addACL(t, fmt.Sprintf(`to dn.subtree="%s" by dn.exact="%s" manage by * none`, base, slapd.RootDN))
}

// addACL puts an access control first in the directory's list, through the
// ldapi socket as the user running slapd (the peercred identity that manages
// cn=config).
func addACL(t *testing.T, acl string) {
	t.Helper()
	c, err := ldap.DialURL("ldapi://" + strings.ReplaceAll(url.PathEscape(filepath.Join(slapd.Dir, "ldapi")), "/", "%2F"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ExternalBind(); err != nil {
		t.Fatal(err)
	}
	m := ldap.NewModifyRequest("olcDatabase={1}mdb,cn=config", nil)
	m.Add("olcAccess", []string{"{0}" + acl})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
}

// A member naming an entry outside the mapping's bases that the bind account
// may not read is reported (the account can't tell it from a deleted one) but
// never removed by --fix-dangling: only a value under a base, where the
// gateway's account reads every entry, is known to name nothing.
func TestFixDanglingLeavesWhatItCannotSee(t *testing.T) {
	m := loadMapping(t, exampleMapping(t))
	root := rootConn(t)
	hidden := "ou=hidden,dc=example,dc=org"
	admin, gone, wheel := "uid=admin,"+hidden, "uid=gone-member,"+people, "cn=wheel,"+groups
	add(t, root, hidden, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"hidden"}})
	add(t, root, admin, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"admin"}, "cn": {"Admin"}, "sn": {"Admin"}})
	add(t, root, wheel, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"wheel"}, "member": {admin, gone}})
	t.Cleanup(func() {
		for _, dn := range []string{wheel, admin, hidden} {
			root.Del(ldap.NewDelRequest(dn, nil))
		}
	})
	hideFromServiceAccount(t, hidden)

	got := reconcileAs(t, m, reconcile.Options{FixDangling: true, Skip: []string{"unmanaged", "missing-object-class"}})
	if !got.has(reconcile.Dangling, wheel, admin) || !got.has(reconcile.Dangling, wheel, gone) || got.sum.Clean {
		t.Errorf("findings: %s", got)
	}
	if len(got.sum.Removed) != 1 || got.sum.Removed[0].Value != gone {
		t.Errorf("removed %+v", got.sum.Removed)
	}
	for _, f := range got.of(reconcile.Dangling) {
		if f.Value == admin && (strings.Contains(f.Detail, "removed") || !strings.Contains(f.Detail, "outside the mapping's bases")) {
			t.Errorf("the hidden member's finding: %+v", f)
		}
	}
	if v := values(t, root, wheel, "member"); !slices.Equal(v, []string{admin}) {
		t.Errorf("wheel's members after --fix-dangling: %v (want only %s)", v, admin)
	}
}

// An empty directory is clean, and the summary names every resource type
// scanned, with 0 entries, in each format.
func TestReconcileEmptyDirectory(t *testing.T) {
	root := rootConn(t)
	for _, ou := range []string{"ou=empty-people,dc=example,dc=org", "ou=empty-groups,dc=example,dc=org"} {
		add(t, root, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {strings.TrimPrefix(strings.Split(ou, ",")[0], "ou=")}})
		t.Cleanup(func() { root.Del(ldap.NewDelRequest(ou, nil)) })
	}
	src := strings.ReplaceAll(strings.ReplaceAll(exampleMapping(t), "ou=people,", "ou=empty-people,"), "ou=groups,", "ou=empty-groups,")
	got := reconcileAs(t, loadMapping(t, src), reconcile.Options{})
	if len(got.findings) != 0 || !got.sum.Clean || len(got.sum.Scanned) != 2 || got.sum.Scanned["User"] != 0 || got.sum.Scanned["Group"] != 0 {
		t.Fatalf("scanned %v, findings %s", got.sum.Scanned, got)
	}
	var table, js bytes.Buffer
	for format, out := range map[string]*bytes.Buffer{"table": &table, "json": &js} {
		w, err := reconcile.NewWriter(format, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(got.sum); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasSuffix(table.String(), "Scanned 0 Group, 0 User entries: clean.\n") {
		t.Errorf("table:\n%s", table.String())
	}
	if !strings.Contains(js.String(), `"scanned":{"Group":0,"User":0}`) {
		t.Errorf("json:\n%s", js.String())
	}
}

// An entry whose creatorsName and modifiersName the bind account may not read
// offers the writer test nothing: the summary says it was not checked (and how
// many entries), instead of counting it as managed in silence.
func TestReconcileSaysWhenWritersAreHidden(t *testing.T) {
	m := loadMapping(t, exampleMapping(t))
	root := rootConn(t)
	quiet := "cn=quiet," + groups
	add(t, root, quiet, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"quiet"}, "member": {""}})
	t.Cleanup(func() { root.Del(ldap.NewDelRequest(quiet, nil)) })
	addACL(t, fmt.Sprintf(`to dn.base="%s" attrs=creatorsName,modifiersName by * none`, quiet))

	got := reconcileAs(t, m, reconcile.Options{})
	if got.has(reconcile.Unmanaged, quiet, "") {
		t.Fatalf("an entry whose writers can't be read is unmanaged: %s", got)
	}
	if !slices.ContainsFunc(got.sum.NotChecked, func(s string) bool {
		return strings.HasPrefix(s, "writer: 1 Group entry") && strings.Contains(s, "creatorsName")
	}) {
		t.Errorf("not checked: %q", got.sum.NotChecked)
	}
}
