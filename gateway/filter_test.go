package gateway_test

// Filters (RFC 7644 §3.4.2.2) against slapd: the exact set of entries for every
// operator, and filters the directory cannot evaluate as asked.

import (
	"strings"
	"testing"
)

// A substring filter on an attribute the directory can't match by substring
// (uniqueIdentifier and entryUUID have no SUBSTR rule in slapd's schema) would
// be Undefined and return an empty list as if nothing matched: it is refused.
func TestSubstringFilterWithoutSubstringRule(t *testing.T) {
	e := newEnv(t)
	created := e.Do("POST", "/Users", user("substr-probe", map[string]any{"externalId": "ext-substr-probe",
		"emails": []any{map[string]any{"type": "work", "value": "substr-probe@example.org"}}}))
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id, _ := created.Body["id"].(string)
	for _, f := range []string{`externalId sw "ext-"`, `externalId co "substr"`, `id sw "` + id[:8] + `"`, `userName sw "substr" and externalId ew "probe"`} {
		r := e.Do("GET", "/Users"+filterQ(f), nil)
		wantError(t, r, 400, "invalidFilter")
		if !strings.Contains(r.Raw, "substring matching rule") {
			t.Errorf("%s: detail does not say why: %s", f, r.Raw)
		}
	}
	// Attributes with a SUBSTR rule still work, and eq on the others.
	for f, want := range map[string]float64{`userName sw "substr-pro"`: 1, `emails co "substr-probe@"`: 1, `externalId eq "ext-substr-probe"`: 1, `externalId co ""`: -1} {
		r := e.Do("GET", "/Users"+filterQ(f), nil)
		if r.Status != 200 {
			t.Errorf("%s: %d %s", f, r.Status, r.Raw)
			continue
		}
		if n, _ := r.Body["totalResults"].(float64); want > 0 && n != want {
			t.Errorf("%s: totalResults %v, want %v", f, n, want)
		}
	}
}

func TestFilterOperatorsReturnExactSets(t *testing.T) {
	e := newFxEnv(t)
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	byUID := func(uid string) *fxUser {
		for _, u := range fxUsers {
			if u.uid == uid {
				return u
			}
		}
		t.Fatalf("no %s", uid)
		return nil
	}
	t1 := byUID("fx001@example.org").modified // created, never modified
	boss := byUID("fx050@example.org")
	cases := []struct {
		filter string
		pred   func(u *fxUser) bool
	}{
		// eq/ne, case-insensitive names, operators and values (caseIgnoreMatch)
		{`userName eq "FX007@Example.ORG"`, func(u *fxUser) bool { return u.i == 7 }},
		{`USERNAME EQ "fx007@example.org"`, func(u *fxUser) bool { return u.i == 7 }},
		{`userName ne "fx007@example.org"`, func(u *fxUser) bool { return u.i != 7 }},
		{`title eq "engineer"`, func(u *fxUser) bool { return u.title == "Engineer" }},
		{`title ne "Engineer"`, func(u *fxUser) bool { return u.title != "Engineer" }}, // absent counts as "not equal"
		// substrings
		{`emails co ".01"`, func(u *fxUser) bool { return strings.Contains(u.mail, ".01") }},
		{`emails.value ew "@X.example"`, func(u *fxUser) bool { return strings.HasSuffix(u.mail, "@x.example") }},
		{`title sw "senior"`, func(u *fxUser) bool { return strings.HasPrefix(u.title, "Senior") }},
		{`name.familyName sw "MÜ"`, func(u *fxUser) bool { return u.family == "Müller" }},
		{`name.givenName eq "ZOË"`, func(u *fxUser) bool { return u.given == "Zoë" }},
		// ordering on strings (caseIgnoreOrderingMatch through extensible matches)
		{`userName lt "fx010"`, func(u *fxUser) bool { return u.uid < "fx010" }},
		{`userName le "fx005@example.org"`, func(u *fxUser) bool { return u.uid <= "fx005@example.org" }},
		{`userName gt "fx005@example.org"`, func(u *fxUser) bool { return u.uid > "fx005@example.org" }},
		{`userName ge "FX290"`, func(u *fxUser) bool { return u.uid >= "fx290" }},
		{`employeeNumber gt "250"`, func(u *fxUser) bool { return u.emp > "250" }},
		{`externalId gt "Ext-250"`, func(u *fxUser) bool { return u.extID > "Ext-250" }}, // caseExactOrderingMatch
		{`externalId lt "ext"`, func(u *fxUser) bool { return u.extID != "" && u.extID < "ext" }},
		// presence
		{`title pr`, func(u *fxUser) bool { return u.title != "" }},
		{`emails pr`, func(u *fxUser) bool { return u.mail != "" }},
		{`not (title pr)`, func(u *fxUser) bool { return u.title == "" }},
		// and / or / not, precedence and parentheses
		{`title eq "Manager" and (emails ew "@y.example" or not (` + ent + `:department eq "D3"))`, func(u *fxUser) bool {
			return u.title == "Manager" && (strings.HasSuffix(u.mail, "@y.example") || u.dept != "D3")
		}},
		{`title eq "Manager" or title eq "Engineer" and department eq "D1"`, func(u *fxUser) bool {
			return u.title == "Manager" || (u.title == "Engineer" && u.dept == "D1")
		}},
		{`not (userName sw "fx1" or userName sw "fx2") and not (emails pr)`, func(u *fxUser) bool {
			return !strings.HasPrefix(u.uid, "fx1") && !strings.HasPrefix(u.uid, "fx2") && u.mail == ""
		}},
		// value paths, the Entra form, URN-qualified names
		{`emails[type eq "work" and value co "@x"]`, func(u *fxUser) bool { return strings.Contains(u.mail, "@x") }},
		{`emails[type eq "home"]`, func(u *fxUser) bool { return false }},
		{`emails[type eq "work"].value eq "USER.004@x.example"`, func(u *fxUser) bool { return u.i == 4 }},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "bob"`, func(u *fxUser) bool { return u.given == "bob" }},
		{ent + `:department eq "D2" and ` + ent + `:employeeNumber sw "1"`, func(u *fxUser) bool {
			return u.dept == "D2" && strings.HasPrefix(u.emp, "1")
		}},
		// caseExact externalId
		{`externalId eq "Ext-010"`, func(u *fxUser) bool { return u.i == 10 }},
		{`externalId eq "EXT-010"`, func(u *fxUser) bool { return false }},
		// typed: dateTime, reference, id
		{`meta.lastModified gt "` + rfc3339(t1) + `"`, func(u *fxUser) bool { return u.modified > t1 }},
		{`meta.lastModified le "` + rfc3339(t1) + `"`, func(u *fxUser) bool { return u.modified <= t1 }},
		{`meta.created gt "2000-01-01T00:00:00Z"`, func(u *fxUser) bool { return true }},
		{`meta.created lt "2000-01-01T00:00:00+01:00"`, func(u *fxUser) bool { return false }},
		{ent + `:manager.value eq "` + boss.id + `"`, func(u *fxUser) bool { return u.manager == 50 }},
		{ent + `:manager eq "` + boss.id + `"`, func(u *fxUser) bool { return u.manager == 50 }},
		{`id eq "` + boss.id + `"`, func(u *fxUser) bool { return u.i == 50 }},
		// literal values: * ( ) \ quotes, non-ASCII, injection (NUL: TestBadFiltersAreInvalidFilter)
		{`displayName eq "a*b"`, func(u *fxUser) bool { return u.display == "a*b" }},
		{`displayName eq "a*"`, func(u *fxUser) bool { return false }},
		{`displayName co "*"`, func(u *fxUser) bool { return strings.Contains(u.display, "*") }},
		{`displayName eq "a(b)c"`, func(u *fxUser) bool { return u.display == "a(b)c" }},
		{`displayName eq "back\\slash"`, func(u *fxUser) bool { return u.display == `back\slash` }},
		{`displayName eq "say \"hi\""`, func(u *fxUser) bool { return u.display == `say "hi"` }},
		{`displayName eq "ZOË ünal"`, func(u *fxUser) bool { return u.display == "Zoë Ünal" }},
		{`displayName eq "x*)(uid=*"`, func(u *fxUser) bool { return u.display == "x*)(uid=*" }},
		{`displayName eq "*)(uid=*"`, func(u *fxUser) bool { return false }},
		{`userName eq "*)(uid=*"`, func(u *fxUser) bool { return false }},
		{`userName eq "x)(|(uid=*"`, func(u *fxUser) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			want := expect(c.pred)
			r := e.Do("GET", "/Users"+filterQ(c.filter)+"&count=1000", nil)
			got := listNames(t, r)
			if !sameSet(got, want) || r.Body["totalResults"] != float64(len(want)) {
				t.Errorf("got %d users (totalResults %v), want %d\n got  %v\n want %v", len(got), r.Body["totalResults"], len(want), got, want)
			}
		})
	}
	// The fixture makes the interesting cases non-trivial.
	if n := len(expect(func(u *fxUser) bool { return u.modified > t1 })); n == 0 || n == len(fxUsers) {
		t.Errorf("meta.lastModified gt splits nothing: %d of %d", n, len(fxUsers))
	}
}

func TestBadFiltersAreInvalidFilter(t *testing.T) {
	e := newFxEnv(t)
	for filter, detail := range map[string]string{
		`nickName eq "x"`:                     `nickName`,
		`emails[type eq "work" and foo eq 1]`: `emails.foo`,
		`userName xx "a"`:                     `expected an operator`,
		`userName eq "abc`:                    `unterminated string`,
		`userName eq "a" and`:                 `unexpected end of filter`,
		`userName eq`:                         `expected a value`,
		`(userName eq "a"`:                    `expected "and", "or" or ")"`,
		`meta.lastModified gt "yesterday"`:    `RFC 3339`,
		`userName`:                            `operator`,
		`displayName eq "a\u0000b"`:           `"displayName" contains U+0000`,
	} {
		t.Run(filter, func(t *testing.T) {
			for _, r := range []response{
				e.Do("GET", "/Users"+filterQ(filter), nil),
				e.Do("POST", "/Users/.search", map[string]any{"filter": filter}),
			} {
				wantError(t, r, 400, "invalidFilter")
				if d, _ := r.Body["detail"].(string); !strings.Contains(d, detail) {
					t.Errorf("detail %q should say %q", d, detail)
				}
			}
		})
	}
}
