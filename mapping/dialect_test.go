package mapping

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// A GUID read from a Samba AD DC: bytes 47 5f cc 30 a1 12 f1 43 88 30 84
// 96 ee 13 f7 c7 are 30cc5f47-12a1-43f1-8830-8496ee13f7c7 (first three fields
// little-endian), as AD's <GUID=…> base form spells it.
func TestGUIDForms(t *testing.T) {
	raw := []byte{0x47, 0x5f, 0xcc, 0x30, 0xa1, 0x12, 0xf1, 0x43, 0x88, 0x30, 0x84, 0x96, 0xee, 0x13, 0xf7, 0xc7}
	const str = "30cc5f47-12a1-43f1-8830-8496ee13f7c7"
	if s, ok := GUIDString(raw); !ok || s != str {
		t.Errorf("GUIDString = %q", s)
	}
	for _, in := range []string{str, strings.ToUpper(str), "{" + str + "}"} {
		if b, ok := ParseGUID(in); !ok || string(b) != string(raw) {
			t.Errorf("ParseGUID(%q) = %x", in, b)
		}
	}
	for _, bad := range []string{"", "x", str[:35], strings.Replace(str, "-", "+", 1), "zzcc5f47-12a1-43f1-8830-8496ee13f7c7", str + ")(cn=*"} {
		if _, ok := ParseGUID(bad); ok {
			t.Errorf("ParseGUID(%q) accepted", bad)
		}
	}
	f, ok := activeDirectory.IDFilter(str)
	if want := `(objectGUID=\47\5f\cc\30\a1\12\f1\43\88\30\84\96\ee\13\f7\c7)`; !ok || f != want {
		t.Errorf("IDFilter = %q, want %q", f, want)
	}
	if _, ok := activeDirectory.IDFilter("*)(cn=*"); ok {
		t.Error("a non-GUID id gave a filter")
	}
	if f, _ := openLDAP.IDFilter("a*)"); f != `(entryUUID=a\2a\29)` {
		t.Errorf("OpenLDAP IDFilter = %q", f)
	}
	e := &ldap.Entry{Attributes: []*ldap.EntryAttribute{{Name: "objectGUID", ByteValues: [][]byte{raw}}}}
	if id := activeDirectory.EntryID(e); id != str {
		t.Errorf("EntryID = %q", id)
	}
}

func adTestMapping(t *testing.T) *Mapping {
	t.Helper()
	m, err := Load("../mappings.ad.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestADFilters(t *testing.T) {
	rt := adTestMapping(t).ResourceType("User")
	for scim, want := range map[string]string{
		`active eq false`:  `(userAccountControl:1.2.840.113556.1.4.803:=2)`,
		`active eq true`:   `(!(userAccountControl:1.2.840.113556.1.4.803:=2))`,
		`active ne "True"`: `(userAccountControl:1.2.840.113556.1.4.803:=2)`,
		`id eq "30CC5F47-12A1-43F1-8830-8496EE13F7C7"`: `(objectGUID=\47\5f\cc\30\a1\12\f1\43\88\30\84\96\ee\13\f7\c7)`,
		`id eq "*)(cn=*"`:                        `(!(objectClass=*))`,
		`userName ge "m"`:                        `(sAMAccountName>=m)`, // AD: no extensible ordering rules
		`meta.created gt "2026-01-02T03:04:05Z"`: `(&(whenCreated>=20260102030405Z)(!(whenCreated=20260102030405Z)))`,
	} {
		expr, err := filterxlate.Parse(scim)
		if err != nil {
			t.Fatal(err)
		}
		got, err := filterxlate.Translate(expr, rt, nil)
		if err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", scim, got, err, want)
		}
	}
	for _, bad := range []string{`id sw "30cc"`, `id gt "a"`} {
		expr, _ := filterxlate.Parse(bad)
		if _, err := filterxlate.Translate(expr, rt, nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if k, err := rt.SortKey("userName"); err != nil || k.OrderingRule != "" || k.LDAP != "sAMAccountName" {
		t.Errorf("SortKey = %+v, %v", k, err)
	}
}

func TestADAccountBitsAndValues(t *testing.T) {
	rt := adTestMapping(t).ResourceType("User")
	vals, err := rt.WriteValues(map[string]any{"userName": "ann", "active": "False"}, nil)
	if err != nil || vals["userAccountControl"][0] != "514" || vals["userPrincipalName"][0] != "ann@example.test" {
		t.Fatalf("values %v, %v", vals, err)
	}
	// Every other bit is kept: DONT_EXPIRE_PASSWORD | NORMAL_ACCOUNT, then enabled/disabled.
	cur := &ldap.Entry{Attributes: []*ldap.EntryAttribute{ldap.NewEntryAttribute("userAccountControl", []string{"66050"})}}
	vals, _ = rt.WriteValues(map[string]any{"userName": "ann", "active": true}, nil)
	rt.KeepOtherBits(vals, cur)
	if vals["userAccountControl"][0] != "66048" {
		t.Errorf("enable 66050 → %v", vals["userAccountControl"])
	}
	// Absent active leaves userAccountControl alone (it is never cleared).
	vals, _ = rt.WriteValues(map[string]any{"userName": "ann"}, nil)
	if _, ok := vals["userAccountControl"]; ok {
		t.Errorf("absent active wrote %v", vals["userAccountControl"])
	}
	for name, want := range map[string]string{"abcdefghijklmnopqrst": "", "abcdefghijklmnopqrstu": "at most 20", "a;b": "does not allow",
		"..": "more than dots", "Zoë-12345678901234567": "at most 20", "ok@x.org": ""} {
		_, err := rt.WriteValues(map[string]any{"userName": name}, nil)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("userName %q: %v, want %q", name, err, want)
		}
	}
	// Groups: 256 characters allowed, the characters still checked.
	grp := adTestMapping(t).ResourceType("Group")
	if _, err := grp.WriteValues(map[string]any{"displayName": strings.Repeat("g", 64)}, nil); err != nil {
		t.Errorf("a 64-character group name: %v", err)
	}
	if _, err := grp.WriteValues(map[string]any{"displayName": "Sales/EMEA"}, nil); err == nil {
		t.Error("a group name with / passed")
	}
	e := &ldap.Entry{Attributes: []*ldap.EntryAttribute{ldap.NewEntryAttribute("userAccountControl", []string{"66050"})}}
	if res := rt.FromLDAP(e, nil, "", nil); res["active"] != false {
		t.Errorf("active of 66050 = %v", res["active"])
	}
	if got := rt.LDAPAttributes(nil); !strings.Contains(strings.Join(got, ","), "memberOf;range=0-1499") {
		t.Errorf("LDAPAttributes %v: reference lists are read in ranges", got)
	}
}

func TestADMappingProblems(t *testing.T) {
	for src, want := range map[string]string{
		"resourceTypes: {User: {ldap: {base: x, objectClasses: [user], rdn: cn}, attributes: {userName: cn, active: {accountState: adUserAccountControl}}}}":                                      "needs directory.flavor: activedirectory",
		"directory: {flavor: activedirectory}\nresourceTypes: {User: {ldap: {base: x, objectClasses: [user], rdn: cn}, attributes: {userName: cn, password: {ldap: userPassword}}}}":              "unicodePwd",
		"resourceTypes: {User: {ldap: {base: x, objectClasses: [user], rdn: cn}, attributes: {userName: cn, password: {ldap: userPassword, pwdLastSet: \"0\"}}}}":                                 "pwdLastSet applies",
		"directory: {flavor: activedirectory}\nresourceTypes: {User: {ldap: {base: x, objectClasses: [user], rdn: cn}, attributes: {userName: cn, password: {ldap: unicodePwd, pwdLastSet: 1}}}}": "want one of",
	} {
		_, err := Parse("m.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n  got %v, want %q", src, err, want)
		}
	}
}

// OpenLDAP (back-mdb) refuses RDNs over about 245 bytes with LDAP 80; the
// gateway stops at 240, counting the value escaped as the DN writes it.
func TestOpenLDAPRDNLength(t *testing.T) {
	rt := exampleUser(t)
	for name, ok := range map[string]bool{
		strings.Repeat("u", 236):       true,  // "uid=" + 236 = 240 bytes
		strings.Repeat("u", 237):       false, // 241
		strings.Repeat("u", 235) + ",": false, // "\," is 2 bytes: 241
		strings.Repeat("ü", 118):       true,  // 236 bytes of UTF-8
		strings.Repeat("ü", 119):       false,
	} {
		_, err := rt.WriteValues(map[string]any{"userName": name}, nil)
		ve, isVE := err.(*ValueError)
		switch {
		case ok && err != nil:
			t.Errorf("%d-byte userName: %v", len(name), err)
		case !ok && (!isVE || ve.ScimType != "invalidValue" || !strings.HasPrefix(ve.Msg, "userName is too long to name a directory entry") || !strings.Contains(ve.Msg, "at most 240 bytes")):
			t.Errorf("%d-byte userName: %v, want invalidValue: userName is too long", len(name), err)
		}
	}
	// AD's names have their own limits (sAMAccountName above); no RDN byte count there.
	grp := adTestMapping(t).ResourceType("Group")
	if _, err := grp.WriteValues(map[string]any{"displayName": strings.Repeat("g", 250)}, nil); err != nil {
		t.Errorf("AD group name of 250 characters: %v", err)
	}
}

// KeepUnownedLocks: with the example mapping's ppolicy lock, writing active
// true removes only the gateway's own lock (000001010000Z); a lockout after
// failed binds (a time slapd's ppolicy wrote, slapo-ppolicy(5)) stays, so an
// IdP re-sending active true cannot lift it. false and an absent active are
// what LDAPValues made of them.
func TestKeepUnownedLocks(t *testing.T) {
	rt := exampleUser(t)
	for _, c := range []struct {
		active any // nil: the resource doesn't mention it
		cur    []string
		want   []string
		set    bool
	}{
		{true, nil, nil, true},
		{true, []string{"000001010000Z"}, nil, true},
		{true, []string{"20260101000000Z"}, []string{"20260101000000Z"}, true},
		{"True", []string{"20260101000000.123Z"}, []string{"20260101000000.123Z"}, true},
		{false, nil, []string{"000001010000Z"}, true},
		{false, []string{"20260101000000Z"}, []string{"000001010000Z"}, true},
		{false, []string{"000001010000Z"}, []string{"000001010000Z"}, true},
		{nil, []string{"20260101000000Z"}, nil, false},
	} {
		res := map[string]any{"userName": "ann", "name": map[string]any{"familyName": "A"}}
		if c.active != nil {
			res["active"] = c.active
		}
		vals, err := rt.WriteValues(res, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := &ldap.Entry{}
		if c.cur != nil {
			e.Attributes = []*ldap.EntryAttribute{ldap.NewEntryAttribute("pwdAccountLockedTime", c.cur)}
		}
		rt.KeepUnownedLocks(vals, e)
		got, set := vals["pwdAccountLockedTime"]
		if set != c.set || !slices.Equal(got, c.want) {
			t.Errorf("active %v on %v: %v (set %v), want %v (set %v)", c.active, c.cur, got, set, c.want, c.set)
		}
	}
}
