package filterxlate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	coreUser   = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// cmp builds a *Compare for expected ASTs.
func cmp(off int, name, sub string, op Op, v any) *Compare {
	return &Compare{Path: AttrPath{Name: name, Sub: sub}, Op: op, Value: v, Offset: off}
}

func and(l, r Expr) Expr { return &Logical{Op: And, Left: l, Right: r} }
func or(l, r Expr) Expr  { return &Logical{Op: Or, Left: l, Right: r} }

// TestParseRFCExamples parses every filter of RFC 7644 §3.4.2.2 verbatim and
// checks the canonical rendering (which shows the tree's shape).
func TestParseRFCExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
		{`userName sw "J"`, `userName sw "J"`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
		{`title pr`, `title pr`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `meta.lastModified ge "2011-05-13T04:42:34Z"`},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `meta.lastModified lt "2011-05-13T04:42:34Z"`},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, `meta.lastModified le "2011-05-13T04:42:34Z"`},
		{`title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`},
		{`title pr or userType eq "Intern"`, `title pr or userType eq "Intern"`},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`},
		{`userType eq "Employee" and (emails.type eq "work")`, `userType eq "Employee" and emails.type eq "work"`},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAST(t *testing.T) {
	tests := []struct {
		in   string
		want Expr
	}{
		{`userName eq "bjensen"`, cmp(0, "userName", "", Eq, "bjensen")},
		{`title pr`, cmp(0, "title", "", Pr, nil)},
		{`name.givenName EQ "Barbara"`, cmp(0, "name", "givenName", Eq, "Barbara")},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`,
			&Compare{Path: AttrPath{URN: enterprise, Name: "employeeNumber"}, Op: Eq, Value: "701984"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
			&Compare{Path: AttrPath{URN: enterprise, Name: "manager", Sub: "value"}, Op: Eq, Value: "26118915"}},
		// Precedence: and binds tighter than or.
		{`a eq "1" or b eq "2" and c eq "3"`,
			or(cmp(0, "a", "", Eq, "1"), and(cmp(12, "b", "", Eq, "2"), cmp(25, "c", "", Eq, "3")))},
		{`a eq "1" and b eq "2" or c eq "3"`,
			or(and(cmp(0, "a", "", Eq, "1"), cmp(13, "b", "", Eq, "2")), cmp(25, "c", "", Eq, "3"))},
		{`(a eq "1" or b eq "2") and c eq "3"`,
			and(or(cmp(1, "a", "", Eq, "1"), cmp(13, "b", "", Eq, "2")), cmp(27, "c", "", Eq, "3"))},
		// Left associativity.
		{`a pr or b pr or c pr`, or(or(cmp(0, "a", "", Pr, nil), cmp(8, "b", "", Pr, nil)), cmp(16, "c", "", Pr, nil))},
		// not binds to its parenthesised group only.
		{`not (a pr) and b pr`, and(&Not{X: cmp(5, "a", "", Pr, nil)}, cmp(15, "b", "", Pr, nil))},
		{`NOT(a pr)`, &Not{X: cmp(4, "a", "", Pr, nil)}},
		// Case-insensitive keywords and operators; names keep their case.
		{`UserName Eq "x" AND Title PR Or NoT (Active eQ TRUE)`,
			or(and(cmp(0, "UserName", "", Eq, "x"), cmp(20, "Title", "", Pr, nil)), &Not{X: cmp(37, "Active", "", Eq, true)})},
		// Value types.
		{`a eq 12`, cmp(0, "a", "", Eq, json.Number("12"))},
		{`a eq -0.5e+10`, cmp(0, "a", "", Eq, json.Number("-0.5e+10"))},
		{`a eq false`, cmp(0, "a", "", Eq, false)},
		{`a eq Null`, cmp(0, "a", "", Eq, nil)},
		{`a eq ""`, cmp(0, "a", "", Eq, "")},
		// JSON escapes.
		{`a eq "\u00e9\u00E9\"\\\/\b\f\n\r\t"`, cmp(0, "a", "", Eq, "éé\"\\/\b\f\n\r\t")},
		{`a eq "\ud83d\ude00"`, cmp(0, "a", "", Eq, "😀")},
		{`a eq "\ud83d"`, cmp(0, "a", "", Eq, "\uFFFD")},             // lone surrogate, as encoding/json
		{`a eq "\ud83dx"`, cmp(0, "a", "", Eq, "\uFFFDx")},           // lone surrogate, as encoding/json
		{`a eq "\ude00\ud83d"`, cmp(0, "a", "", Eq, "\uFFFD\uFFFD")}, // reversed pair
		{`a eq "é😀"`, cmp(0, "a", "", Eq, "é😀")},
		// Whitespace is flexible.
		{"  a   eq\t\"x\"  ", cmp(2, "a", "", Eq, "x")},
		// Value paths.
		{`emails[type eq "work"]`, &ValuePath{Path: AttrPath{Name: "emails"}, Filter: cmp(7, "type", "", Eq, "work")}},
		{`emails[not (type eq "work")]`, &ValuePath{Path: AttrPath{Name: "emails"}, Filter: &Not{X: cmp(12, "type", "", Eq, "work")}}},
		// Entra ID form: the trailing comparison moves inside the brackets.
		{`emails[type eq "work"].value eq "x"`, &ValuePath{Path: AttrPath{Name: "emails"},
			Filter: and(cmp(7, "type", "", Eq, "work"), cmp(23, "value", "", Eq, "x"))}},
		{`addresses[type eq "work"].streetAddress pr and a pr`, and(&ValuePath{Path: AttrPath{Name: "addresses"},
			Filter: and(cmp(10, "type", "", Eq, "work"), cmp(26, "streetAddress", "", Pr, nil))}, cmp(47, "a", "", Pr, nil))},
		// An attribute may be called "not", "and" or "or".
		{`not eq "x"`, cmp(0, "not", "", Eq, "x")},
		{`and pr and or pr`, and(cmp(0, "and", "", Pr, nil), cmp(11, "or", "", Pr, nil))},
		{`members[$ref eq "x"]`, &ValuePath{Path: AttrPath{Name: "members"}, Filter: cmp(8, "$ref", "", Eq, "x")}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q)\n got  %#v (%s)\n want %#v (%s)", tt.in, got, got, tt.want, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		offset  int
		token   string
		msgPart string
	}{
		{``, 0, "", "empty filter"},
		{`   `, 3, "", "empty filter"},
		{`userName eqq "x"`, 9, "eqq", "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"},
		{`userName`, 8, "", "expected an operator"},
		{`userName eq`, 11, "", "unexpected end of filter: expected a value"},
		{`userName eq bjensen`, 12, "bjensen", "expected a value"},
		{`userName eq 'x'`, 12, "'", "expected a value"},
		{`userName eq "x`, 12, `"x`, "unterminated string"},
		{`userName eq "x\`, 12, `"x\`, "unterminated string"},
		{`userName eq "\q"`, 13, `\q`, "invalid escape"},
		{`userName eq "\u12"`, 13, `\u12"`, `invalid \u escape`},
		{`userName eq "\u12G4"`, 13, `\u12G4`, `invalid \u escape`},
		{"userName eq \"a\tb\"", 14, "\t", "control characters"},
		{`a eq 01`, 5, "01", "invalid number"},
		{`a eq 1.`, 5, "1.", "invalid number"},
		{`a eq -`, 5, "-", "invalid number"},
		{`a eq 1e`, 5, "1e", "invalid number"},
		{`a eq "x" b eq "y"`, 9, "b", `expected "and", "or" or end of filter`},
		{`a eq "x" and`, 12, "", "unexpected end of filter"},
		{`a eq "x" or )`, 12, ")", "expected an attribute path"},
		{`(a eq "x"`, 9, "", `expected "and", "or" or ")"`},
		{`a eq "x")`, 8, ")", `expected "and", "or" or end of filter`},
		{`not a eq "x"`, 4, "a", `expected "(" after "not"`},
		{`not`, 3, "", `expected "(" after "not"`},
		{`emails[type eq "work"`, 21, "", `expected "and", "or" or "]"`},
		{`emails[type eq "work"`, 21, "", `"]"`},
		{`emails[ims[type eq "x"]]`, 10, "[", "cannot be nested"},
		{`name.givenName[type eq "x"]`, 0, "name.givenName", "not a sub-attribute"},
		{`emails[type eq "work"].`, 23, "", "expected a sub-attribute name"},
		{`emails[type eq "work"].value`, 28, "", "expected an operator"},
		{`emails[type eq "work"].a.b eq "x"`, 23, "a.b", "invalid sub-attribute name"},
		{`a.b.c eq "x"`, 0, "a.b.c", "only one level"},
		{`a. eq "x"`, 0, "a.", "invalid sub-attribute name"},
		{`1a eq "x"`, 0, "1a", "expected an attribute path"},
		{`foo:bar eq "x"`, 0, "foo:bar", "invalid schema URN"},
		{`urn::x:bar eq "x"`, 0, "urn::x:bar", "invalid schema URN"},
		{`urn:x:1bar eq "x"`, 6, "urn:x:1bar", "invalid attribute name"},
		{`urn:x: eq "x"`, 6, "urn:x:", "invalid attribute name"},
		{`a eq "x" and (`, 14, "", "unexpected end of filter"},
		{`a eq "x" & b pr`, 9, "&", `expected "and", "or" or end of filter`},
		{"a eq \"\xff\"", 6, "", "not valid UTF-8"},
		// U+0000: slapd cuts substring values there, so `co "\u0000"` matched everything.
		{`emails.value co "\u0000"`, 16, `"\u0000"`, `the value for "emails.value" contains U+0000`},
		{`userName eq "bjensen\u0000"`, 12, `"bjensen\u0000"`, `the value for "userName" contains U+0000`},
		{`title pr and not (title sw "\u0000x")`, 27, `"\u0000x"`, `"title" contains U+0000`},
		{`emails[type eq "work" and value co "\u0000"]`, 35, `"\u0000"`, `the value for "emails.value" contains U+0000`},
		{`emails[type eq "work"].value ew "\u0000"`, 32, `"\u0000"`, `the value for "emails.value" contains U+0000`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "\u0000"`, 76, `"\u0000"`,
			`the value for "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value" contains U+0000`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error = %v, want *Error", tt.in, err)
			continue
		}
		if pe.Offset != tt.offset || pe.Token != tt.token || !strings.Contains(pe.Msg, tt.msgPart) || pe.PatchPath {
			t.Errorf("Parse(%q) = %+v, want offset %d token %q msg ~%q", tt.in, *pe, tt.offset, tt.token, tt.msgPart)
		}
		if pe.ScimType() != "invalidFilter" {
			t.Errorf("Parse(%q) ScimType = %q", tt.in, pe.ScimType())
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse(`userName eqq "x"`)
	want := `invalid filter at offset 9 near "eqq": expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = Parse(`userName eq`)
	want = `invalid filter at offset 11: unexpected end of filter: expected a value (a JSON string, number, true, false or null)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = ParsePath(`emails[type eqq "work"]`)
	want = `invalid path at offset 12 near "eqq": expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// Long tokens are shortened.
	_, err = Parse(`a ` + strings.Repeat("x", 100) + ` "y"`)
	var pe *Error
	if !errors.As(err, &pe) || pe.Token != strings.Repeat("x", 32)+"…" {
		t.Errorf("long token: %v", err)
	}
}

func TestParseLimits(t *testing.T) {
	// Length.
	long := `a eq "` + strings.Repeat("x", MaxFilterLength) + `"`
	_, err := Parse(long)
	var pe *Error
	if !errors.As(err, &pe) || pe.Offset != MaxFilterLength || !strings.Contains(pe.Msg, "maximum of 4096 bytes") {
		t.Errorf("long filter: %v", err)
	}
	if _, err := ParsePath(strings.Repeat("a", MaxFilterLength+1)); !errors.As(err, &pe) || !pe.PatchPath {
		t.Errorf("long path: %v", err)
	}
	exact := `a eq "` + strings.Repeat("x", MaxFilterLength-7) + `"`
	if len(exact) != MaxFilterLength {
		t.Fatal(len(exact))
	}
	if _, err := Parse(exact); err != nil {
		t.Errorf("filter of exactly MaxFilterLength: %v", err)
	}

	nest := func(n int, open, close string) string {
		return strings.Repeat(open, n) + `a pr` + strings.Repeat(close, n)
	}
	if _, err := Parse(nest(MaxDepth, "(", ")")); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	if _, err := Parse(nest(MaxDepth, "not (", ")")); err != nil {
		t.Errorf("not depth %d: %v", MaxDepth, err)
	}
	_, err = Parse(nest(MaxDepth+1, "(", ")"))
	if !errors.As(err, &pe) || pe.Offset != MaxDepth || pe.Token != "(" || !strings.Contains(pe.Msg, "maximum depth of 32") {
		t.Errorf("depth %d: %v", MaxDepth+1, err)
	}
	if _, err := Parse(`emails[` + nest(MaxDepth-1, "(", ")") + `]`); err != nil {
		t.Errorf("bracket + depth %d: %v", MaxDepth-1, err)
	}
	if _, err := Parse(`emails[` + nest(MaxDepth, "(", ")") + `]`); !errors.As(err, &pe) {
		t.Errorf("bracket + depth %d: %v", MaxDepth, err)
	}
	// Deep unbalanced input must not overflow the stack.
	for _, s := range []string{strings.Repeat("(", 4000), strings.Repeat("not (", 800), strings.Repeat("a pr or ", 500) + "a pr"} {
		_, _ = Parse(s)
	}
	// Long chains parse iteratively.
	chain := strings.Repeat("a pr or ", 511) + "a pr"
	if _, err := Parse(chain); err != nil {
		t.Errorf("chain: %v", err)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want Path
	}{
		// RFC 7644 §3.5.2 examples.
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, Path{Attr: AttrPath{Name: "members"},
			Filter: cmp(8, "value", "", Eq, "2819c223-7f76-453a-919d-413861904646")}},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName`, Path{Attr: AttrPath{Name: "members"},
			Filter: cmp(8, "value", "", Eq, "2819c223-7f76-453a-919d-413861904646"), Sub: "displayName"}},
		{`emails[type eq "work"]`, Path{Attr: AttrPath{Name: "emails"}, Filter: cmp(7, "type", "", Eq, "work")}},
		{`name.familyName`, Path{Attr: AttrPath{Name: "name", Sub: "familyName"}}},
		{`addresses[type eq "work"].streetAddress`, Path{Attr: AttrPath{Name: "addresses"},
			Filter: cmp(10, "type", "", Eq, "work"), Sub: "streetAddress"}},
		// Others.
		{`userName`, Path{Attr: AttrPath{Name: "userName"}}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
			Path{Attr: AttrPath{URN: enterprise, Name: "manager", Sub: "value"}}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
			Path{Attr: AttrPath{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Name: "User"}}},
		{`emails[type eq "work" and primary eq true].value`, Path{Attr: AttrPath{Name: "emails"},
			Filter: and(cmp(7, "type", "", Eq, "work"), cmp(26, "primary", "", Eq, true)), Sub: "value"}},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePath(%q)\n got  %#v\n want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParsePath(%q).String() = %q", tt.in, s)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		in      string
		offset  int
		token   string
		msgPart string
	}{
		{``, 0, "", "empty path"},
		{`[type eq "x"]`, 0, "[", "expected an attribute path"},
		{`emails[type eq "work"]x`, 22, "x", "unexpected text after the path"},
		{`emails[type eq "work"].value eq "x"`, 29, "eq", "unexpected text after the path"},
		{`userName eq "x"`, 9, "eq", "unexpected text after the path"},
		{`emails[type eq "work"`, 21, "", `"]"`},
		{`emails[]`, 7, "]", "expected an attribute path"},
		{`name.givenName[type eq "x"]`, 0, "name.givenName", "not a sub-attribute"},
		{`emails[type eq "work"].`, 23, "", "expected a sub-attribute name"},
		{`emails[type eq "work"].a:b`, 23, "a:b", "invalid sub-attribute name"},
		{`emails[x[y pr]]`, 8, "[", "cannot be nested"},
		{`emails[value eq "\u0000"]`, 16, `"\u0000"`, `the value for "emails.value" contains U+0000`},
		{`members[value eq "a" or value eq "\u0000b"].display`, 33, `"\u0000b"`, `the value for "members.value" contains U+0000`},
	}
	for _, tt := range tests {
		_, err := ParsePath(tt.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("ParsePath(%q) error = %v, want *Error", tt.in, err)
			continue
		}
		if pe.Offset != tt.offset || pe.Token != tt.token || !strings.Contains(pe.Msg, tt.msgPart) || !pe.PatchPath {
			t.Errorf("ParsePath(%q) = %+v, want offset %d token %q msg ~%q", tt.in, *pe, tt.offset, tt.token, tt.msgPart)
		}
		if pe.ScimType() != "invalidPath" {
			t.Errorf("ParsePath(%q) ScimType = %q", tt.in, pe.ScimType())
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a eq "1" or (b eq "2" or c eq "3")`, `a eq "1" or (b eq "2" or c eq "3")`},
		{`(a eq "1" or b eq "2") or c eq "3"`, `a eq "1" or b eq "2" or c eq "3"`},
		{`a EQ "x\u0001\/y\u00e9"`, `a eq "x\u0001/yé"`},
		{`a eq TRUE and b eq NULL and c eq 1E3`, `a eq true and b eq null and c eq 1E3`},
		{`not(not(a pr))`, `not (not (a pr))`},
		{`emails[type eq "work" or type eq "home"].value eq "x"`, `emails[(type eq "work" or type eq "home") and value eq "x"]`},
		{`x pr and (y pr and z pr)`, `x pr and (y pr and z pr)`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		s := e.String()
		if s != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, tt.want)
		}
		e2, err := Parse(s)
		if err != nil {
			t.Errorf("re-Parse(%q): %v", s, err)
			continue
		}
		if !reflect.DeepEqual(stripOffsets(e), stripOffsets(e2)) {
			t.Errorf("round trip of %q changed the tree: %s", tt.in, e2)
		}
	}
}

// stripOffsets zeroes the offsets so trees from different texts compare.
func stripOffsets(e Expr) Expr {
	switch e := e.(type) {
	case *Compare:
		c := *e
		c.Offset = 0
		return &c
	case *Logical:
		return &Logical{Op: e.Op, Left: stripOffsets(e.Left), Right: stripOffsets(e.Right)}
	case *Not:
		return &Not{X: stripOffsets(e.X)}
	case *ValuePath:
		return &ValuePath{Path: e.Path, Filter: stripOffsets(e.Filter)}
	}
	return e
}

func TestAttrPathString(t *testing.T) {
	for _, p := range []AttrPath{
		{Name: "userName"},
		{Name: "name", Sub: "givenName"},
		{URN: enterprise, Name: "manager", Sub: "value"},
	} {
		got, err := ParsePath(p.String())
		if err != nil || got.Attr != p {
			t.Errorf("%#v: %q → %#v, %v", p, p.String(), got.Attr, err)
		}
	}
}
