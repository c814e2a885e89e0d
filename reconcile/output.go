package reconcile

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Writer writes a report as the findings come (Finding), then what the run
// did besides (Close). Memory stays bounded: the table is aligned in blocks of
// tableBlock rows, JSON and CSV are written as they come.
type Writer interface {
	Finding(Finding) error
	Close(*Summary) error
}

// Formats are the report formats NewWriter knows.
var Formats = []string{"table", "json", "csv"}

// NewWriter returns the writer of format ("table", "json" or "csv") on w.
//
//   - table: one row per finding (KIND, TYPE, DN, ATTRIBUTE, VALUE, DETAIL),
//     then the removals, the checks not made and a count per kind;
//   - json: {"findings": [Finding…], "summary": Summary}, one finding per line;
//   - csv (RFC 4180): the header kind,resourceType,dn,id,attribute,ldapAttribute,value,detail,
//     one row per finding, then one row of kind "removed" per removal; a cell
//     starting with = + - @, a tab or a carriage return after a single quote.
func NewWriter(format string, w io.Writer) (Writer, error) {
	switch format {
	case "table":
		return &tableWriter{out: w, tw: newTab(w)}, nil
	case "json":
		return &jsonWriter{w: w}, nil
	case "csv":
		c := csv.NewWriter(w)
		return &csvWriter{w: c}, c.Write([]string{"kind", "resourceType", "dn", "id", "attribute", "ldapAttribute", "value", "detail"})
	}
	return nil, fmt.Errorf("unknown format %q (one of %s)", format, strings.Join(Formats, ", "))
}

// tableBlock is the number of rows aligned together.
const tableBlock = 1000

type tableWriter struct {
	out  io.Writer
	tw   *tabwriter.Writer
	rows int
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func (t *tableWriter) Finding(f Finding) error {
	if t.rows%tableBlock == 0 {
		if t.rows > 0 {
			if err := t.tw.Flush(); err != nil {
				return err
			}
		}
		fmt.Fprintln(t.tw, "KIND\tTYPE\tDN\tATTRIBUTE\tVALUE\tDETAIL")
	}
	t.rows++
	attr := f.Attribute
	if i := strings.LastIndexByte(attr, ':'); strings.HasPrefix(attr, "urn:") && i >= 0 {
		attr = attr[i+1:] // an extension's attribute by its name; JSON and CSV keep the whole key
	}
	if f.LDAP != "" && !strings.EqualFold(f.LDAP, f.Attribute) {
		attr += " (" + f.LDAP + ")"
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, f.ResourceType, oneLine(f.DN), dash(oneLine(attr)), dash(oneLine(f.Value)), oneLine(f.Detail))
	return err
}

func (t *tableWriter) Close(s *Summary) error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	w := t.out
	if t.rows > 0 {
		fmt.Fprintln(w)
	}
	if len(s.Removed) > 0 {
		fmt.Fprintln(w, "Removed (--fix-dangling):")
		for _, r := range s.Removed {
			fmt.Fprintf(w, "  %s: %s %s\n", oneLine(r.DN), strings.Join(r.Attributes, ", "), oneLine(r.Value))
		}
	}
	for _, e := range s.FixErrors {
		fmt.Fprintf(w, "Not removed: %s\n", oneLine(e))
	}
	for _, n := range s.NotChecked {
		fmt.Fprintf(w, "Not checked: %s\n", n)
	}
	var scanned []string
	for name, n := range s.Scanned {
		scanned = append(scanned, fmt.Sprintf("%d %s", n, name))
	}
	slices.Sort(scanned)
	var counts []string
	total := 0
	for _, k := range Kinds {
		if n := s.Counts[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k))
			total += n
		}
	}
	verdict := "clean"
	if total > 0 {
		verdict = fmt.Sprintf("%d findings: %s", total, strings.Join(counts, ", "))
		if s.Clean {
			verdict += " (all removed)"
		}
	}
	_, err := fmt.Fprintf(w, "Scanned %s entries: %s.\n", strings.Join(scanned, ", "), verdict)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a value of the directory's on its row and out of the
// terminal's control: tabs and line breaks become spaces, every other control
// character (C0, DEL, C1: the escape sequences of ECMA-48) is spelt out as Go
// does in a quoted string (\x1b, \u009b).
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type jsonWriter struct {
	w io.Writer
	n int
}

func (j *jsonWriter) Finding(f Finding) error {
	sep := ",\n  "
	if j.n == 0 {
		sep = "{\"findings\": [\n  "
	}
	j.n++
	b, err := marshal(f)
	if err != nil {
		return err
	}
	_, err = io.WriteString(j.w, sep+string(b))
	return err
}

func (j *jsonWriter) Close(s *Summary) error {
	head := "\n], "
	if j.n == 0 {
		head = "{\"findings\": [], "
	}
	b, err := marshal(s)
	if err != nil {
		return err
	}
	_, err = io.WriteString(j.w, head+"\"summary\": "+string(b)+"}\n")
	return err
}

// marshal is json.Marshal without HTML escaping (DNs and details stay readable).
func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) Finding(f Finding) error {
	return c.write(string(f.Kind), f.ResourceType, f.DN, f.ID, f.Attribute, f.LDAP, f.Value, f.Detail)
}

// write writes one row, each cell that a spreadsheet would read as a formula
// (starting with = + - @, a tab or a carriage return) after a single quote:
// the mitigation of OWASP's "CSV Injection" (CWE-1236), since the cells hold
// what anyone who may write an entry wrote. --json keeps values exact.
func (c *csvWriter) write(cells ...string) error {
	for i, v := range cells {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			cells[i] = "'" + v
		}
	}
	return c.w.Write(cells)
}

func (c *csvWriter) Close(s *Summary) error {
	for _, r := range s.Removed {
		if err := c.write("removed", r.ResourceType, r.DN, "", "", strings.Join(r.Attributes, " "), r.Value, "removed by --fix-dangling"); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}
