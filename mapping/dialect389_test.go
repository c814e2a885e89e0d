package mapping

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// flavor: 389ds: nsUniqueId ids, entryusn versions, entrydn, no ordering rule
// names, and active as nsAccountLock (absent = true, "true" = false).
func Test389DSDialect(t *testing.T) {
	m, err := Load("../mappings.389ds.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Flavor != Flavor389DS || m.Dialect.ID != "nsUniqueId" || m.Dialect.Version != "entryusn" || m.Dialect.DNAttr != "entrydn" ||
		m.Dialect.OrderingRules || m.Dialect.IDOrdering != "" || m.Dialect.SingleSortKey || m.Dialect.IsAD() {
		t.Fatalf("dialect %+v", m.Dialect)
	}
	rt := m.ResourceType("User")
	for scim, want := range map[string]string{
		`id eq "7486DD9A-f14c11f1-88efc058-9d659918"`: `(&(objectClass=inetOrgPerson)(nsUniqueId=7486DD9A-f14c11f1-88efc058-9d659918))`,
		`userName ge "m"`: `(&(objectClass=inetOrgPerson)(uid>=m))`,             // by the syntax: no rule names
		`active eq false`: `(&(objectClass=inetOrgPerson)(nsAccountLock=true))`, // only the gateway's own lock reads as false
	} {
		expr, err := filterxlate.Parse(scim)
		if err != nil {
			t.Fatal(err)
		}
		got, err := filterxlate.Translate(expr, rt, nil)
		if err == nil {
			got = "(&" + rt.Filter + got + ")"
		}
		if err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", scim, got, err, want)
		}
	}
	if k, err := rt.SortKey("userName"); err != nil || k.OrderingRule != "" || k.LDAP != "uid" {
		t.Errorf("SortKey = %+v, %v", k, err)
	}
	for active, want := range map[bool][]string{false: {"true"}, true: nil} {
		vals, err := rt.WriteValues(map[string]any{"userName": "ann", "active": active}, nil)
		if err != nil || len(vals["nsAccountLock"]) != len(want) || (len(want) == 1 && vals["nsAccountLock"][0] != want[0]) {
			t.Errorf("active %v → nsAccountLock %q (%v), want %q", active, vals["nsAccountLock"], err, want)
		}
	}
	for lock, want := range map[string]any{"": true, "true": false} {
		e := &ldap.Entry{}
		if lock != "" {
			e.Attributes = []*ldap.EntryAttribute{ldap.NewEntryAttribute("nsAccountLock", []string{lock})}
		}
		if got := rt.FromLDAP(e, nil, "", nil)["active"]; got != want {
			t.Errorf("nsAccountLock %q → active %v, want %v", lock, got, want)
		}
	}
}
