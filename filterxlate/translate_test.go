package filterxlate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testResolver is a small mapping in the shape the mapping package produces.
type testResolver map[string]*Attribute // key: lower-case "name" or "name.sub"

const testExt = "urn:example:params:scim:schemas:extension:test:2.0:User"

func str(attr string) Target { return Target{LDAPAttr: attr} }

var testAttrs = testResolver{
	"username":          {Simple: &Target{LDAPAttr: "uid"}},
	"name.familyname":   {Simple: &Target{LDAPAttr: "sn"}},
	"name.givenname":    {Simple: &Target{LDAPAttr: "givenName"}},
	"title":             {Simple: &Target{LDAPAttr: "title"}},
	"usertype":          {Simple: &Target{LDAPAttr: "employeeType"}},
	"externalid":        {Simple: &Target{LDAPAttr: "employeeID", CaseExact: true}},
	"active":            {Simple: &Target{LDAPAttr: "accountActive", Type: Boolean}},
	"locked":            {Simple: &Target{LDAPAttr: "lockout", Type: Boolean, TrueValue: "1", FalseValue: "0"}},
	"enabled":           {Simple: &Target{LDAPAttr: "pwdAccountLockedTime", Type: Boolean, FalseValue: "000001010000Z", TrueAbsent: true}},
	"suspended":         {Simple: &Target{LDAPAttr: "nsAccountLock", Type: Boolean, FalseValue: "(true)", TrueAbsent: true}},
	"meta.lastmodified": {Simple: &Target{LDAPAttr: "modifyTimestamp", Type: DateTime}},
	"meta.created":      {Simple: &Target{LDAPAttr: "createTimestamp", Type: DateTime}},
	"employeenumber":    {Simple: &Target{LDAPAttr: "employeeNumber"}},
	"uidnumber":         {Simple: &Target{LDAPAttr: "uidNumber", Type: Integer}},
	"photo":             {Simple: &Target{LDAPAttr: "jpegPhoto", Type: Binary}},
	"emails": {Slots: []Slot{
		{Fixed: map[string]string{"type": "work", "primary": "true"}, Sub: map[string]Target{"value": str("mail")}},
		{Fixed: map[string]string{"type": "home"}, Sub: map[string]Target{"value": str("homeMail")}},
	}},
	"ims": {Slots: []Slot{
		{Fixed: map[string]string{"type": "xmpp"}, Sub: map[string]Target{"value": str("jabberID")}},
	}},
	"phonenumbers": {Slots: []Slot{
		{Fixed: map[string]string{"type": "work"}, Sub: map[string]Target{"value": str("telephoneNumber"), "display": str("telephoneDisplay")}},
		{Fixed: map[string]string{"type": "mobile"}, Sub: map[string]Target{"value": str("mobile")}},
	}},
	"addresses": {Slots: []Slot{
		{Fixed: map[string]string{"type": "work"}, Sub: map[string]Target{"streetaddress": str("street"), "locality": str("l"), "postalcode": str("postalCode")}},
	}},
	"manager": {Slots: []Slot{
		{Sub: map[string]Target{"value": {LDAPAttr: "manager", Type: Reference, RefTypes: []string{"User"}}, "displayname": str("managerName")}},
	}},
	"members": {Slots: []Slot{
		{Sub: map[string]Target{"value": {LDAPAttr: "member", Type: Reference, RefTypes: []string{"User", "Group"}}}},
	}},
	"x509certificates": {Slots: []Slot{
		{Sub: map[string]Target{"value": {LDAPAttr: "userCertificate;binary", Type: Binary}}},
	}},
}

func (r testResolver) Resolve(p AttrPath) (*Attribute, error) {
	key := strings.ToLower(p.Name)
	if p.Sub != "" {
		key += "." + strings.ToLower(p.Sub)
	}
	switch {
	case p.URN == "" || strings.EqualFold(p.URN, coreUser):
	case strings.EqualFold(p.URN, enterprise) && (key == "employeenumber" || strings.HasPrefix(key, "manager")):
	case strings.EqualFold(p.URN, testExt) && key == "uidnumber":
	default:
		return nil, fmt.Errorf("unknown attribute %q in filter", p.String())
	}
	if a, ok := r[key]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("unknown attribute %q in filter", p.String())
}

// fakeLookup resolves ids from a fixed table and records its calls.
type fakeLookup struct {
	dns   map[string]string
	calls [][2][]string
	err   error
}

func (f *fakeLookup) lookup(refTypes, ids []string) (map[string]string, error) {
	f.calls = append(f.calls, [2][]string{refTypes, ids})
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, id := range ids {
		if dn, ok := f.dns[id]; ok {
			out[id] = dn
		}
	}
	return out, nil
}

func newLookup() *fakeLookup {
	return &fakeLookup{dns: map[string]string{
		"26118915":                             "uid=boss,ou=people,dc=example,dc=org",
		"2819c223-7f76-453a-919d-413861904646": "uid=bjensen,ou=people,dc=example,dc=org",
		"g1":                                   "cn=admins,ou=groups,dc=example,dc=org",
		"weird":                                `cn=a\2a(b),dc=x`,
		"unused":                               "cn=unused",
	}}
}

func translate(t *testing.T, filter string) (string, error) {
	t.Helper()
	e, err := Parse(filter)
	if err != nil {
		t.Fatalf("Parse(%q): %v", filter, err)
	}
	return Translate(e, testAttrs, newLookup().lookup)
}

func TestTranslate(t *testing.T) {
	tests := []struct{ in, want string }{
		// RFC 7644 §3.4.2.2 examples.
		{`userName eq "bjensen"`, `(uid=bjensen)`},
		{`name.familyName co "O'Malley"`, `(sn=*O'Malley*)`},
		{`userName sw "J"`, `(uid=J*)`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `(uid=J*)`},
		{`title pr`, `(title=*)`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `(&(modifyTimestamp>=20110513044234Z)(!(modifyTimestamp=20110513044234Z)))`},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `(modifyTimestamp>=20110513044234Z)`},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `(&(modifyTimestamp<=20110513044234Z)(!(modifyTimestamp=20110513044234Z)))`},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, `(modifyTimestamp<=20110513044234Z)`},
		{`title pr and userType eq "Employee"`, `(&(title=*)(employeeType=Employee))`},
		{`title pr or userType eq "Intern"`, `(|(title=*)(employeeType=Intern))`},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			`(&(employeeType=Employee)(|(mail=*example.com*)(homeMail=*example.com*)(mail=*example.org*)(homeMail=*example.org*)))`},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			`(&(!(employeeType=Employee))(!(|(mail=*example.com*)(homeMail=*example.com*)(mail=*example.org*)(homeMail=*example.org*))))`},
		{`userType eq "Employee" and (emails.type eq "work")`, `(&(employeeType=Employee)(mail=*))`},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			`(&(employeeType=Employee)(mail=*@example.com*))`},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			`(|(mail=*@example.com*)(jabberID=*@foo.com*))`},

		// Operators.
		{`userName ne "x"`, `(!(uid=x))`},
		{`userName ew "x"`, `(uid=*x)`},
		{`userName gt "m"`, `(&(uid>=m)(!(uid=m)))`},
		{`userName lt "m" and title pr`, `(&(uid<=m)(!(uid=m))(title=*))`},
		{`not (userName eq "x")`, `(!(uid=x))`},
		{`not (not (userName eq "x"))`, `(uid=x)`},
		{`userName co ""`, `(uid=*)`},
		{`userName sw ""`, `(uid=*)`},
		{`userName eq ""`, `(uid=)`},
		{`userName eq null`, `(!(uid=*))`},
		{`userName ne null`, `(uid=*)`},
		// Precedence and flattening.
		{`userName eq "1" or title eq "2" and userType eq "3"`, `(|(uid=1)(&(title=2)(employeeType=3)))`},
		{`userName eq "1" or title eq "2" or userType eq "3"`, `(|(uid=1)(title=2)(employeeType=3))`},
		{`userName eq "1" or (title eq "2" or userType eq "3")`, `(|(uid=1)(title=2)(employeeType=3))`},
		{`(userName eq "1" and title eq "2") and (userType eq "3" and title pr)`, `(&(uid=1)(title=2)(employeeType=3)(title=*))`},
		// Case-insensitive keywords and attribute names.
		{`USERNAME EQ "bjensen" AND NOT (TITLE PR)`, `(&(uid=bjensen)(!(title=*)))`},
		// Escaping (RFC 4515 §3).
		{`userName eq "a*b(c)d\\e"`, `(uid=a\2ab\28c\29d\5ce)`},
		{`userName co "*"`, `(uid=*\2a*)`},
		{`userName eq "é"`, `(uid=\c3\a9)`},
		{`userName eq "\u00e9"`, `(uid=\c3\a9)`},
		{`userName eq "日本"`, `(uid=\e6\97\a5\e6\9c\ac)`},
		{`userName eq ")(uid=*"`, `(uid=\29\28uid=\2a)`},
		// Non-string literals on a string attribute use their JSON text.
		{`employeeNumber eq 12`, `(employeeNumber=12)`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, `(employeeNumber=701984)`},
		{`title eq true`, `(title=true)`},
		// caseExact.
		{`externalId eq "AbC"`, `(employeeID:caseExactMatch:=AbC)`},
		{`externalId ne "AbC"`, `(!(employeeID:caseExactMatch:=AbC))`},
		{`externalId sw "Ab"`, `(employeeID=Ab*)`},
		{`externalId gt "Ab"`, `(&(employeeID>=Ab)(!(employeeID=Ab)))`},
		// Boolean.
		{`active eq true`, `(accountActive=TRUE)`},
		{`active eq FALSE`, `(accountActive=FALSE)`},
		{`active ne true`, `(!(accountActive=TRUE))`},
		{`active eq "True"`, `(accountActive=TRUE)`},
		{`active eq "false"`, `(accountActive=FALSE)`},
		{`active pr`, `(accountActive=*)`},
		{`locked eq true`, `(lockout=1)`},
		{`locked eq false`, `(lockout=0)`},
		// A lock attribute (trueWhenAbsent): false is exactly the gateway's own
		// lock; absence and any other value (a ppolicy lockout's time) read true,
		// so pr and "ne null" match every entry, as a read always has a value.
		{`enabled eq false`, `(pwdAccountLockedTime=000001010000Z)`},
		{`enabled eq true`, `(!(pwdAccountLockedTime=000001010000Z))`},
		{`enabled ne false`, `(!(pwdAccountLockedTime=000001010000Z))`},
		{`enabled ne true`, `(pwdAccountLockedTime=000001010000Z)`},
		{`enabled eq "False"`, `(pwdAccountLockedTime=000001010000Z)`},
		{`not (enabled eq true)`, `(pwdAccountLockedTime=000001010000Z)`},
		{`enabled pr`, MatchAll},
		{`enabled ne null`, MatchAll},
		{`enabled eq null`, MatchNone},
		{`enabled pr and userName eq "a"`, `(uid=a)`},
		{`enabled eq true and userName eq "a"`, `(&(!(pwdAccountLockedTime=000001010000Z))(uid=a))`},
		{`suspended eq false`, `(nsAccountLock=\28true\29)`},
		// Integer.
		{`uidNumber eq 1000`, `(uidNumber=1000)`},
		{`uidNumber ge -5`, `(uidNumber>=-5)`},
		{`uidNumber gt 1000`, `(&(uidNumber>=1000)(!(uidNumber=1000)))`},
		{`urn:example:params:scim:schemas:extension:test:2.0:User:uidNumber le 7`, `(uidNumber<=7)`},
		// DateTime.
		{`meta.created eq "2026-01-01T00:00:00Z"`, `(createTimestamp=20260101000000Z)`},
		{`meta.created ge "2026-01-01T02:30:00+02:30"`, `(createTimestamp>=20260101000000Z)`},
		{`meta.created ge "2025-12-31T20:00:00-05:00"`, `(createTimestamp>=20260101010000Z)`},
		{`meta.created le "2026-01-01T00:00:00.123Z"`, `(createTimestamp<=20260101000000.123Z)`},
		{`meta.created le "2026-01-01T00:00:00.120+00:00"`, `(createTimestamp<=20260101000000.12Z)`},
		{`meta.created le "2026-01-01T00:00:00.000Z"`, `(createTimestamp<=20260101000000Z)`},
		// Binary: every byte escaped.
		{`photo eq "AAEC/w=="`, `(jpegPhoto=\00\01\02\ff)`},
		{`photo eq "aGk"`, `(jpegPhoto=\68\69)`},
		{`photo ne "aGk="`, `(!(jpegPhoto=\68\69))`},
		{`x509Certificates.value eq "aGk="`, `(userCertificate;binary=\68\69)`},
		// Slots.
		{`emails co "x"`, `(|(mail=*x*)(homeMail=*x*))`},
		{`emails.value eq "a@b"`, `(|(mail=a@b)(homeMail=a@b))`},
		{`emails.VALUE eq "a@b"`, `(|(mail=a@b)(homeMail=a@b))`},
		{`emails.type eq "WORK"`, `(mail=*)`},
		{`emails.type ne "work"`, `(homeMail=*)`},
		{`emails.type eq "other"`, MatchNone},
		{`emails.type sw "w"`, `(mail=*)`},
		{`emails.type pr`, `(|(mail=*)(homeMail=*))`},
		{`emails.primary eq true`, `(mail=*)`},
		{`emails pr`, `(|(mail=*)(homeMail=*))`},
		{`emails.value pr`, `(|(mail=*)(homeMail=*))`},
		{`emails.value ne "x"`, `(|(&(mail=*)(!(mail=x)))(&(homeMail=*)(!(homeMail=x))))`},
		{`emails[type eq "work"]`, `(mail=*)`},
		{`emails[type eq "Work"]`, `(mail=*)`},
		{`emails[type eq "work" or type eq "home"]`, `(|(mail=*)(homeMail=*))`},
		{`emails[type eq "work" and type eq "home"]`, MatchNone},
		{`not (emails[type eq "other"])`, MatchAll},
		{`emails[value co "@x"]`, `(|(mail=*@x*)(homeMail=*@x*))`},
		{`emails[primary eq true and value ew ".org"]`, `(mail=*.org)`},
		{`emails[not (type eq "work")]`, `(homeMail=*)`},
		{`emails[not (value eq "x")]`, `(|(&(mail=*)(!(mail=x)))(&(homeMail=*)(!(homeMail=x))))`},
		{`emails[type eq "work" and not (value co "spam")]`, `(&(mail=*)(!(mail=*spam*)))`},
		{`emails[type eq "work" or value eq "a@b"]`, `(|(mail=*)(homeMail=a@b))`},
		{`emails[type eq null]`, MatchNone},
		{`emails[type ne null]`, `(|(mail=*)(homeMail=*))`},
		{`emails.value gt "m"`, `(|(&(mail>=m)(!(mail=m)))(&(homeMail>=m)(!(homeMail=m))))`},
		{`emails[type eq "work" and (value eq "a" or not (value eq "b"))]`, `(&(mail=*)(|(mail=a)(!(mail=b))))`},
		{`emails[type eq "work" and (value eq "a" or value eq "b")]`, `(|(mail=a)(mail=b))`},
		{`emails[type eq "home" and value eq null]`, `(&(homeMail=*)(!(homeMail=*)))`},
		// A sub-attribute only some slots store is false elsewhere.
		{`phoneNumbers.display co "555"`, `(telephoneDisplay=*555*)`},
		{`phoneNumbers[display co "555" or type eq "mobile"]`, `(|(telephoneDisplay=*555*)(mobile=*))`},
		{`phoneNumbers co "555"`, `(|(telephoneNumber=*555*)(mobile=*555*))`},
		// A slot with no "value" uses its other sub-attributes for presence.
		{`addresses[type eq "work"]`, `(|(l=*)(postalCode=*)(street=*))`},
		{`addresses.streetAddress co "Main"`, `(street=*Main*)`},
		{`addresses[type eq "work"].locality eq "Paris"`, `(l=Paris)`},
		// Entra ID form.
		{`emails[type eq "work"].value eq "bjensen@example.com"`, `(mail=bjensen@example.com)`},
		{`emails[type eq "home"].value co "x" and userName eq "u"`, `(&(homeMail=*x*)(uid=u))`},
		{`phoneNumbers[type eq "mobile"].value eq "+1 555"`, `(mobile=+1 555)`},
		// References.
		{`manager.value eq "26118915"`, `(manager=uid=boss,ou=people,dc=example,dc=org)`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, `(manager=uid=boss,ou=people,dc=example,dc=org)`},
		{`manager eq "26118915"`, `(manager=uid=boss,ou=people,dc=example,dc=org)`},
		{`manager.value ne "26118915"`, `(&(manager=*)(!(manager=uid=boss,ou=people,dc=example,dc=org)))`},
		{`manager.value pr`, `(manager=*)`},
		{`manager pr`, `(manager=*)`},
		{`manager.displayName eq "Boss"`, `(managerName=Boss)`},
		{`manager.value eq "missing"`, MatchNone},
		{`manager.value ne "missing"`, `(manager=*)`},
		{`manager.value eq "missing" or userName eq "x"`, `(uid=x)`},
		{`manager.value eq "missing" and userName eq "x"`, MatchNone},
		{`manager.value eq "weird"`, `(manager=cn=a\5c2a\28b\29,dc=x)`},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, `(member=uid=bjensen,ou=people,dc=example,dc=org)`},
		{`members[value eq "g1" or value eq "missing"]`, `(member=cn=admins,ou=groups,dc=example,dc=org)`},
		{`members.value eq "g1" and manager.value eq "26118915"`,
			`(&(member=cn=admins,ou=groups,dc=example,dc=org)(manager=uid=boss,ou=people,dc=example,dc=org))`},
		// Constants at the top.
		{`emails.type eq "other" or emails.type eq "another"`, MatchNone},
		{`not (emails.type eq "other")`, MatchAll},
	}
	for _, tt := range tests {
		got, err := translate(t, tt.in)
		if err != nil {
			t.Errorf("Translate(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Translate(%q)\n got  %s\n want %s", tt.in, got, tt.want)
		}
	}
}

func TestTranslateLookupBatching(t *testing.T) {
	e, err := Parse(`members.value eq "g1" or manager.value eq "26118915" or members[value eq "missing" or value eq "g1"] or userName eq "x"`)
	if err != nil {
		t.Fatal(err)
	}
	fl := newLookup()
	got, err := Translate(e, testAttrs, fl.lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := `(|(member=cn=admins,ou=groups,dc=example,dc=org)(manager=uid=boss,ou=people,dc=example,dc=org)(member=cn=admins,ou=groups,dc=example,dc=org)(uid=x))`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	wantCalls := [][2][]string{{{"Group", "User"}, {"26118915", "g1", "missing"}}}
	if !reflect.DeepEqual(fl.calls, wantCalls) {
		t.Errorf("lookup calls = %q, want %q", fl.calls, wantCalls)
	}

	// No reference ids: no call, and a nil lookup is fine.
	e, _ = Parse(`manager pr and userName eq "x"`)
	if got, err := Translate(e, testAttrs, nil); err != nil || got != `(&(manager=*)(uid=x))` {
		t.Errorf("no refs: %q, %v", got, err)
	}

	// Reference ids without a lookup.
	e, _ = Parse(`manager.value eq "26118915"`)
	if _, err := Translate(e, testAttrs, nil); err == nil {
		t.Error("nil lookup with references: want error")
	}

	// A lookup failure is returned wrapped, not as an *Error.
	boom := errors.New("directory down")
	fl = &fakeLookup{err: boom}
	_, err = Translate(e, testAttrs, fl.lookup)
	var pe *Error
	if !errors.Is(err, boom) || errors.As(err, &pe) {
		t.Errorf("lookup failure: %v", err)
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		in      string
		offset  int
		token   string
		msgPart string
	}{
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, 0, "schemas", `unknown attribute "schemas" in filter`},
		{`foo eq "x"`, 0, "foo", `unknown attribute "foo" in filter`},
		{`userName eq "x" or bar pr`, 19, "bar", `unknown attribute "bar" in filter`},
		{`name.middle eq "x"`, 0, "name.middle", `unknown attribute "name.middle" in filter`},
		{`a.b pr or userName eq "x"`, 0, "a.b", `unknown attribute "a.b" in filter`},
		{`urn:x:y:userName eq "x"`, 0, "urn:x:y:userName", `unknown attribute`},
		{`emails.foo eq "x"`, 0, "emails.foo", `"emails.foo" is not mapped to the directory`},
		{`emails[foo eq "x"]`, 7, "emails.foo", `"emails.foo" is not mapped to the directory`},
		{`emails[type eq "work" and not (foo pr)]`, 31, "emails.foo", `"emails.foo" is not mapped to the directory`},
		{`emails[type eq "work"].foo eq "x"`, 23, "emails.foo", `"emails.foo" is not mapped to the directory`},
		// A sub-attribute the schema may define but the mapping does not store
		// (RFC 7643 §4.3's manager.displayName when no attribute holds it): the
		// error lists the sub-attributes that can be filtered.
		{`manager.foo eq "x"`, 0, "manager.foo", `"manager.foo" is not mapped to the directory (mapped sub-attributes of manager: displayname, value)`},
		{`userName[value eq "x"]`, 0, "userName", "not a multi-valued complex attribute"},
		{`emails[type gt null]`, 7, "emails.type", "null can only be compared with eq or ne"},
		{`userName co null`, 0, "userName", "null can only be compared with eq or ne"},
		// Boolean.
		{`active eq "yes"`, 0, "active", `attribute "active" is boolean: the value must be true or false`},
		{`active eq 1`, 0, "active", `is boolean`},
		{`active co "t"`, 0, "active", `attribute "active" is boolean: only eq, ne and pr are allowed`},
		{`active gt true`, 0, "active", `is boolean`},
		// Integer.
		{`uidNumber eq "12"`, 0, "uidNumber", `is an integer: the value must be an integer number`},
		{`uidNumber eq 1.5`, 0, "uidNumber", `integer number`},
		{`uidNumber eq 1e3`, 0, "uidNumber", `integer number`},
		{`uidNumber co 1`, 0, "uidNumber", `co, sw and ew are not supported`},
		// DateTime.
		{`meta.lastModified gt "yesterday"`, 0, "meta.lastModified", `is a dateTime: the value must be an RFC 3339 date-time`},
		{`meta.lastModified gt "2011-05-13"`, 0, "meta.lastModified", `RFC 3339`},
		{`meta.lastModified gt 2011`, 0, "meta.lastModified", `RFC 3339`},
		{`meta.lastModified sw "2011"`, 0, "meta.lastModified", `co, sw and ew are not supported`},
		// Binary.
		{`photo eq "!!"`, 0, "photo", `is binary: the value must be base64`},
		{`photo co "aGk="`, 0, "photo", `only eq, ne and pr`},
		// Reference.
		{`manager.value co "261"`, 0, "manager.value", `is a reference: only eq, ne and pr are allowed`},
		{`members[value sw "x"]`, 8, "members.value", `is a reference`},
		{`manager.value eq true`, 0, "manager.value", `must be a resource id`},
		{`manager.value eq ""`, 0, "manager.value", `must be a resource id`},
	}
	for _, tt := range tests {
		_, err := translate(t, tt.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Translate(%q) error = %v, want *Error", tt.in, err)
			continue
		}
		if pe.Offset != tt.offset || pe.Token != tt.token || !strings.Contains(pe.Msg, tt.msgPart) || pe.ScimType() != "invalidFilter" {
			t.Errorf("Translate(%q) = %+v, want offset %d token %q msg ~%q", tt.in, *pe, tt.offset, tt.token, tt.msgPart)
		}
	}

	// The resolver's error is kept as the cause.
	_, err := translate(t, `foo pr`)
	if err == nil || err.Error() != `invalid filter at offset 0 near "foo": unknown attribute "foo" in filter` || errors.Unwrap(err) == nil {
		t.Errorf("unknown attribute error = %v", err)
	}

	if _, err := Translate(nil, testAttrs, nil); err == nil {
		t.Error("nil Expr: want error")
	}
	if _, err := Translate(&Compare{Path: AttrPath{Name: "title"}, Op: Pr}, nil, nil); err == nil {
		t.Error("nil Resolver: want error")
	}
	// Hand-built trees with holes fail cleanly.
	for _, e := range []Expr{
		&Compare{Path: AttrPath{Name: "title"}, Op: "xx", Value: "v"},
		&Logical{Op: And, Left: &Compare{Path: AttrPath{Name: "title"}, Op: Pr}},
		&Logical{Op: "xor", Left: &Compare{Path: AttrPath{Name: "title"}, Op: Pr}, Right: &Compare{Path: AttrPath{Name: "title"}, Op: Pr}},
		&Not{},
		&ValuePath{Path: AttrPath{Name: "emails"}},
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &ValuePath{Path: AttrPath{Name: "ims"}, Filter: &Compare{Path: AttrPath{Name: "type"}, Op: Pr}}},
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &Compare{Path: AttrPath{Name: "emails", Sub: "type"}, Op: Pr}},
	} {
		if got, err := Translate(e, testAttrs, nil); err == nil {
			t.Errorf("Translate(%s) = %q, want error", e, got)
		}
	}
}

// A resolver that also answers "emails.value" directly (ignoring the
// sub-attribute) still gets per-slot treatment.
type subIgnoringResolver struct{ testResolver }

func (r subIgnoringResolver) Resolve(p AttrPath) (*Attribute, error) {
	if strings.EqualFold(p.Name, "emails") {
		p.Sub = ""
	}
	return r.testResolver.Resolve(p)
}

func TestTranslateResolverShapes(t *testing.T) {
	e, _ := Parse(`emails.value co "x" and emails.type eq "home"`)
	got, err := Translate(e, subIgnoringResolver{testAttrs}, nil)
	if want := `(&(|(mail=*x*)(homeMail=*x*))(homeMail=*))`; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	// An empty Attribute counts as unknown.
	empty := testResolver{"title": {}}
	e, _ = Parse(`title pr`)
	if _, err := Translate(e, empty, nil); err == nil {
		t.Error("empty Attribute: want error")
	}
}

func TestTranslateDeterministic(t *testing.T) {
	const f = `addresses[type eq "work"] or emails[type eq "work"] or members[value eq "g1" or value eq "2819c223-7f76-453a-919d-413861904646"]`
	first, err := translate(t, f)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if got, _ := translate(t, f); got != first {
			t.Fatalf("run %d: %s != %s", i, got, first)
		}
	}
}

func BenchmarkParseTranslate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		e, err := Parse(`userName eq "bjensen"`)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Translate(e, testAttrs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// With Target.Ordering, gt/ge/lt/le use extensible ordering matches: OpenLDAP's
// uid, cn, sn and mail have no ORDERING rule, so "(uid>=m)" matches nothing there.
func TestTranslateOrderingRule(t *testing.T) {
	r := testResolver{
		"username":   {Simple: &Target{LDAPAttr: "uid", Ordering: "caseIgnoreOrderingMatch"}},
		"externalid": {Simple: &Target{LDAPAttr: "employeeID", CaseExact: true, Ordering: "caseExactOrderingMatch"}},
		"emails": {Slots: []Slot{
			{Fixed: map[string]string{"type": "work"}, Sub: map[string]Target{"value": {LDAPAttr: "mail", Ordering: "caseIgnoreOrderingMatch"}}},
		}},
	}
	for in, want := range map[string]string{
		`userName lt "m"`:                         `(uid:caseIgnoreOrderingMatch:=m)`,
		`userName le "m"`:                         `(|(uid:caseIgnoreOrderingMatch:=m)(uid=m))`,
		`userName ge "m"`:                         `(&(uid=*)(!(uid:caseIgnoreOrderingMatch:=m)))`,
		`userName gt "m*)(uid=*"`:                 `(&(uid=*)(!(uid:caseIgnoreOrderingMatch:=m\2a\29\28uid=\2a))(!(uid=m\2a\29\28uid=\2a)))`,
		`externalId gt "A"`:                       `(&(employeeID=*)(!(employeeID:caseExactOrderingMatch:=A))(!(employeeID:caseExactMatch:=A)))`,
		`not (userName ge "m")`:                   `(!(&(uid=*)(!(uid:caseIgnoreOrderingMatch:=m))))`,
		`emails[type eq "work" and value lt "b"]`: `(mail:caseIgnoreOrderingMatch:=b)`,
		`userName eq "m"`:                         `(uid=m)`,
		`userName sw "m"`:                         `(uid=m*)`,
	} {
		e, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Translate(e, r, nil)
		if err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", in, got, err, want)
		}
	}
}

// With Target.NoSubstrings (no SUBSTR rule in the directory), co/sw/ew are
// refused instead of becoming a filter that is Undefined for every entry; an
// empty substring is a presence test and stays allowed. A substring test on a
// multi-valued attribute is refused when any of its slots lacks the rule.
func TestTranslateNoSubstrings(t *testing.T) {
	r := testResolver{
		"externalid": {Simple: &Target{LDAPAttr: "uniqueIdentifier", NoSubstrings: true}},
		"username":   {Simple: &Target{LDAPAttr: "uid"}},
		"emails": {Slots: []Slot{
			{Fixed: map[string]string{"type": "work"}, Sub: map[string]Target{"value": {LDAPAttr: "mail"}}},
			{Fixed: map[string]string{"type": "home"}, Sub: map[string]Target{"value": {LDAPAttr: "otherMail", NoSubstrings: true}}},
		}},
	}
	for in, want := range map[string]string{
		`externalId eq "a"`:                    `(uniqueIdentifier=a)`,
		`externalId co ""`:                     `(uniqueIdentifier=*)`,
		`externalId pr`:                        `(uniqueIdentifier=*)`,
		`userName sw "a" or externalId eq "b"`: `(|(uid=a*)(uniqueIdentifier=b))`,
	} {
		got, err := Translate(mustParse(t, in), r, nil)
		if err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", in, got, err, want)
		}
	}
	for _, in := range []string{`externalId co "a"`, `externalId sw "a"`, `externalId ew "a"`, `userName eq "x" and not (externalId sw "a")`, `emails co "x"`,
		`emails[type eq "work" and value co "x"]`} { // every slot is translated, also those the type excludes {
		_, err := Translate(mustParse(t, in), r, nil)
		var fe *Error
		if !errors.As(err, &fe) || fe.ScimType() != "invalidFilter" || !strings.Contains(err.Error(), "substring matching rule") {
			t.Errorf("%s: %v, want invalidFilter naming the missing substring rule", in, err)
		}
	}
}

// complexFilter exercises every translation path at once: and/or/not nesting,
// a value path, a multi-slot attribute, substrings, a dateTime, a URN-qualified
// name, escaping, and a reference id resolved through the lookup.
const complexFilter = `userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or phoneNumbers.value sw "+1") ` +
	`and not (title pr) and meta.lastModified gt "2011-05-13T04:42:34Z" ` +
	`or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7*)(uid=*" and name.familyName ew "son" ` +
	`or manager.value eq "26118915"`

func BenchmarkParseTranslateComplex(b *testing.B) {
	lookup := newLookup().lookup
	if _, err := Translate(mustParse(b, complexFilter), testAttrs, lookup); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := Parse(complexFilter)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Translate(e, testAttrs, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

func mustParse(b testing.TB, s string) Expr {
	e, err := Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func TestTranslateComplexFilter(t *testing.T) {
	got, err := Translate(mustParse(t, complexFilter), testAttrs, newLookup().lookup)
	want := `(|(&(employeeType=Employee)(|(mail=*@example.com*)(telephoneNumber=+1*)(mobile=+1*))(!(title=*))` +
		`(modifyTimestamp>=20110513044234Z)(!(modifyTimestamp=20110513044234Z)))` +
		`(&(employeeNumber=7\2a\29\28uid=\2a)(sn=*son))(manager=uid=boss,ou=people,dc=example,dc=org))`
	if err != nil || got != want {
		t.Errorf("got  %s (%v)\nwant %s", got, err, want)
	}
}

// A substring value made only of spaces is empty to a directory that applies
// insignificant space handling (RFC 4518 §2.6.1): slapd matched every entry
// holding the attribute for `userName ew " "`. Such co/sw/ew values on string
// attributes are refused; eq, ne and other types keep their own rules.
func TestTranslateBlankSubstrings(t *testing.T) {
	refused := map[string]string{ // filter → the attribute the error names
		`userName ew " "`:                             "userName",
		`name.familyName ew " "`:                      "name.familyName",
		`title co "  "`:                               "title",
		`userName sw " "`:                             "userName",
		`externalId co " "`:                           "externalId", // caseExact
		`userName co "\t"`:                            "userName",
		`userName co "\u00a0 \u3000"`:                 "userName",     // RFC 4518 §2.2 maps these to SPACE
		`userName co " \u200b\u00ad "`:                "userName",     // … and these to nothing
		`emails co " "`:                               "emails.value", // RFC 7644 §3.4.2.2: emails means emails.value
		`emails.value sw " "`:                         "emails.value",
		`emails[type eq "work" and value ew " "]`:     "emails.value",
		`phoneNumbers[type eq "work"].display co " "`: "phoneNumbers.display",
		`userName eq "x" or not (title co " ")`:       "title",
		`manager.displayName sw " "`:                  "manager.displayName",
	}
	for in, name := range refused {
		_, err := translate(t, in)
		var fe *Error
		if !errors.As(err, &fe) || fe.ScimType() != "invalidFilter" || fe.Token != name ||
			!strings.Contains(fe.Msg, `"`+name+`"`) || !strings.Contains(fe.Msg, "only spaces") || !strings.Contains(fe.Msg, "RFC 4518") {
			t.Errorf("%s: %v, want invalidFilter on %q saying the value is only spaces", in, err, name)
		}
	}
	allowed := map[string]string{
		`userName eq " "`:       `(uid= )`,
		`userName ne " "`:       `(!(uid= ))`,
		`userName co ""`:        `(uid=*)`,
		`userName co " a "`:     `(uid=* a *)`,
		`userName sw "a "`:      `(uid=a *)`,
		`emails.type co " "`:    MatchNone, // decided by the slots' fixed types
		`emails[type ew " "]`:   MatchNone,
		`externalId eq "  "`:    `(employeeID:caseExactMatch:=  )`,
		`userName co "\u00e9 "`: "(uid=*\\c3\\a9 *)",
	}
	for in, want := range allowed {
		if got, err := translate(t, in); err != nil || got != want {
			t.Errorf("%s → %s (%v), want %s", in, got, err, want)
		}
	}
	// Other types keep their own error, which says what the type allows.
	for in, msg := range map[string]string{
		`active co " "`:            "is boolean",
		`uidNumber co " "`:         "is an integer",
		`meta.lastModified ew " "`: "is a dateTime",
		`photo sw " "`:             "is binary",
		`manager.value co " "`:     "is a reference",
	} {
		_, err := translate(t, in)
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(fe.Msg, msg) {
			t.Errorf("%s: %v, want the type's error (%s)", in, err, msg)
		}
	}
	// A directory without a substring rule for the attribute: that error wins.
	r := testResolver{"externalid": {Simple: &Target{LDAPAttr: "uniqueIdentifier", NoSubstrings: true}}}
	if _, err := Translate(mustParse(t, `externalId co " "`), r, nil); err == nil || !strings.Contains(err.Error(), "substring matching rule") {
		t.Errorf(`externalId co " " without a substring rule: %v`, err)
	}
}
