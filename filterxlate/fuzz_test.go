package filterxlate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`userName eq "bjensen"`,
	`name.familyName co "O'Malley"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`title pr and userType eq "Employee"`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`emails[type eq "work"].value eq "x"`,
	`members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName`,
	`a eq "\u00e9\ud83d\ude00\"\\" or b eq -1.5e3 and c eq NULL`,
	`not (not (active eq TRUE))`,
	`manager.value ne "26118915" and uidNumber gt 5`,
	`((((a pr))))`,
	`emails[not (type eq "work")]`,
	`addresses[type eq "work"].streetAddress`,
}

// FuzzParse checks that Parse, ParsePath and Translate never panic, that errors
// are *Error, and that String round-trips are stable.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			checkErr(t, s, err)
		} else {
			s1 := e.String()
			e2, err := Parse(s1)
			switch {
			case err != nil:
				// Canonical text can be slightly longer ("not(" → "not (")
				// or deeper (Entra "or" filter gains parentheses).
				var pe *Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "maximum") {
					t.Fatalf("re-Parse(%q) of Parse(%q): %v", s1, s, err)
				}
			case e2.String() != s1:
				t.Fatalf("unstable String: %q → %q → %q", s, s1, e2.String())
			case !reflect.DeepEqual(stripOffsets(e), stripOffsets(e2)):
				t.Fatalf("tree changed: %q → %q", s, s1)
			}

			out, err := Translate(e, testAttrs, newLookup().lookup)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Translate(%q): non-*Error %v", s, err)
				}
			} else if !balanced(out) {
				t.Fatalf("Translate(%q) = %q: not a well-formed filter", s, out)
			}
		}

		p, err := ParsePath(s)
		if err != nil {
			checkErr(t, s, err)
			var pe *Error
			if errors.As(err, &pe) && !pe.PatchPath {
				t.Fatalf("ParsePath(%q): PatchPath not set", s)
			}
			return
		}
		s1 := p.String()
		p2, err := ParsePath(s1)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "maximum") {
				t.Fatalf("re-ParsePath(%q) of %q: %v", s1, s, err)
			}
		} else if p2.String() != s1 {
			t.Fatalf("unstable Path.String: %q → %q → %q", s, s1, p2.String())
		}
	})
}

func checkErr(t *testing.T, s string, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %v is not *Error", s, err)
	}
	if pe.Offset < 0 || pe.Offset > len(s) && pe.Offset != MaxFilterLength {
		t.Fatalf("%q: offset %d out of range", s, pe.Offset)
	}
	if pe.Msg == "" || pe.Error() == "" {
		t.Fatalf("%q: empty message", s)
	}
}

// balanced reports whether f is one parenthesised RFC 4515 filter: values are
// escaped, so every parenthesis is structural.
func balanced(f string) bool {
	if len(f) < 3 || f[0] != '(' || f[len(f)-1] != ')' {
		return false
	}
	depth := 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 || depth == 0 && i != len(f)-1 {
				return false
			}
		}
	}
	return depth == 0 && !strings.Contains(f, "()")
}
