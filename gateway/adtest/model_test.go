package adtest

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimmodel"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// modelOU holds the model's users and groups, apart from the OU the other
// tests leave entries in: every sequence starts by emptying it, and after it
// every entry there must be one the model has.
const modelOU = "OU=model,DC=example,DC=test"

// modelDefaults are the rapid flags of a plain `go test`: a fixed seed, and
// half the sequences of the OpenLDAP run (the same length), because every AD
// write is slower: about 40 s on 2 cores while nothing fails, within `make
// test`'s budget. Flags given on the command line or as RAPID_* win (`make soak-ad`).
var modelDefaults = map[string]string{
	"rapid.seed":       "1",
	"rapid.checks":     "50",
	"rapid.steps":      "16",
	"rapid.shrinktime": "30s",
	"rapid.nofailfile": "true", // the seed reproduces a failure; no files in testdata/
}

// TestModelAD is gateway.TestModel on Active Directory: the same generated
// request sequences (internal/scimmodel) through mappings.ad.example.yaml over
// LDAPS, the directory read back and held to the same model. What differs on AD:
//   - ids are objectGUIDs in their string form; users and groups share one OU
//     (cn names both; the user and group name pools are disjoint, since
//     sAMAccountName, which follows both names, is unique across the domain);
//   - userName is in sAMAccountName and cn, a group's displayName in cn and
//     sAMAccountName: each must follow every rename, case-only ones included;
//   - active false is the ACCOUNTDISABLE bit (0x2) of userAccountControl, and a
//     user created without active is created disabled (the gateway enables an
//     account only when asked to);
//   - an emptied group has no member value (AD groups may be empty);
//   - member and manager are linked attributes: the DC itself rewrites them on
//     renames and drops them on deletes, and the model checks it did.
//
// Every command of the model applies on AD: names and passwords of
// scimmodel.DefaultPools are valid there (checked first), passwords travel over
// LDAPS, and If-Match uses uSNChanged. `make soak-ad` runs many more sequences.
func TestModelAD(t *testing.T) {
	admin, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	add := ldap.NewAddRequest(modelOU, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	if err := admin.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		t.Fatal(err)
	}
	pools := scimmodel.DefaultPools
	if err := validOnAD(pools); err != nil {
		t.Fatal(err)
	}
	m := modelMappingAD(t)
	store, err := ldapstore.Open(ldapstore.Config{URL: dc.LDAPSURL, BindDN: dc.BindDN, BindPassword: dc.Password, CAFile: dc.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	if err := gw.CheckMapping(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	users, groups := m.ResourceType("User"), m.ResourceType("Group")
	scimmodel.Run(t, scimmodel.Config{
		URL: hs.URL + "/scim/v2", Token: token, Defaults: modelDefaults,
		Directory: scimmodel.Directory{
			Admin:   admin,
			Dial:    func() (*ldap.Conn, error) { return ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(tlsConfig())) },
			Dialect: m.Dialect, // ids are objectGUIDs
			Base:    modelOU,
			Users:   scimmodel.Tree{Base: users.Base, Filter: users.Filter},
			Groups:  scimmodel.Tree{Base: groups.Base, Filter: groups.Filter},
			// The DC spells DN values as the entry's DN: "CN=" and the OU as added.
			UserDN:         func(name string) string { return "CN=" + ldap.EscapeDN(name) + "," + modelOU },
			GroupDN:        func(name string) string { return "CN=" + ldap.EscapeDN(name) + "," + modelOU },
			UserNameAttrs:  []string{"sAMAccountName", "cn"},
			GroupNameAttrs: []string{"cn", "sAMAccountName"},
			LockAttr:       "userAccountControl",
			Locked: func(v []string) bool {
				if len(v) != 1 { // a user always has one: none reads as enabled, which active=false then contradicts
					return false
				}
				n, err := strconv.ParseInt(v[0], 10, 64)
				return err == nil && n&mapping.UACAccountDisable != 0
			},
			// uSNChanged and whenChanged are among them: any write changes them.
			SnapshotAttrs:         []string{"*"},
			ActiveByDefault:       false,
			EmptyGroupPlaceholder: false,
			Pools:                 pools,
		},
	})
}

// modelMappingAD is mappings.ad.example.yaml with both resource types in modelOU.
func modelMappingAD(t *testing.T) *mapping.Mapping {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "mappings.ad.example.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const base = "base: OU=scim,DC=example,DC=test"
	if n := strings.Count(string(data), base); n != 2 {
		t.Fatalf("mappings.ad.example.yaml has %q %d times, not twice (User and Group): update the test", base, n)
	}
	m, err := mapping.Parse(path, []byte(strings.ReplaceAll(string(data), base, "base: "+modelOU)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// validOnAD checks that the pools hold only what AD accepts, so that a refusal
// during the run is the gateway's doing, not the pools': names are valid
// sAMAccountNames (at most 20 characters, none of " / \ [ ] : ; | = , + * ? < >,
// not ending in a dot) and no user name is a group name; passwords meet the
// default domain policy's complexity (at least 8 characters with upper case,
// lower case, digits and symbols, here all four; no user name and no token of
// 3+ characters of a display name in them).
func validOnAD(p scimmodel.Pools) error {
	users, groups := p.UserNames(), p.GroupNames()
	for _, n := range append(users, groups...) {
		if len(n) > 20 || strings.ContainsAny(n, `"/\[]:;|=,+*?<>`) || strings.HasSuffix(n, ".") {
			return fmt.Errorf("pool name %q is not a valid sAMAccountName", n)
		}
	}
	for _, u := range users {
		for _, g := range groups {
			if strings.EqualFold(u, g) {
				return fmt.Errorf("%q is in both the user and the group name pools", u)
			}
		}
	}
	var tokens []string
	for _, d := range p.Displays {
		for _, tok := range strings.FieldsFunc(d, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(tok) >= 3 {
				tokens = append(tokens, tok)
			}
		}
	}
	for _, pw := range p.Passwords {
		classes := 0
		for _, class := range []func(rune) bool{unicode.IsUpper, unicode.IsLower, unicode.IsDigit, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }} {
			if strings.IndexFunc(pw, class) >= 0 {
				classes++
			}
		}
		if len(pw) < 8 || classes < 4 {
			return fmt.Errorf("pool password %q does not meet AD's complexity", pw)
		}
		for _, s := range append(users, tokens...) {
			if strings.Contains(strings.ToLower(pw), strings.ToLower(s)) {
				return fmt.Errorf("pool password %q contains %q (a user or display name)", pw, s)
			}
		}
	}
	return nil
}
