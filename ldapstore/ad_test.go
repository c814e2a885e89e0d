package ldapstore

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"pgregory.net/rapid"
)

func TestParseRange(t *testing.T) {
	for desc, want := range map[string]struct {
		base   string
		lo, hi int
		ok     bool
	}{
		"member;range=0-1499":     {"member", 0, 1499, true},
		"member;Range=1500-*":     {"member", 1500, -1, true},
		"memberOf;range=0-*":      {"memberOf", 0, -1, true},
		"member;range=5-2;x":      {"", 0, 0, false},
		"member":                  {"", 0, 0, false},
		"member;range=a-b":        {"", 0, 0, false},
		"member;range=0-9;binary": {"member;binary", 0, 9, true},
		"member;range=10":         {"", 0, 0, false},
		"member;binary":           {"", 0, 0, false},
		"description;lang-en":     {"", 0, 0, false},
		"member;x-range=0-9":      {"", 0, 0, false},
		"member;binary;range=0-9": {"member;binary", 0, 9, true},
		"member;RANGE=0-*":        {"member", 0, -1, true},
		// Bytes that are no lower-case ASCII: the name comes from the
		// server as it sent it (no UTF-8 check), and lower-casing would move
		// the option (invalid UTF-8 becomes 3-byte U+FFFD; Ⱥ's lower case is
		// 3 bytes).
		"m\xff\xff\xff;range=0-1499": {"m\xff\xff\xff", 0, 1499, true},
		"ȺȺȺȺȺȺȺȺ;range=0-1":         {"ȺȺȺȺȺȺȺȺ", 0, 1, true},
		"İİ;range=0-1":               {"İİ", 0, 1, true},
	} {
		b, lo, hi, ok := parseRange(desc)
		if b != want.base || lo != want.lo || hi != want.hi || ok != want.ok {
			t.Errorf("parseRange(%q) = %q %d %d %v, want %+v", desc, b, lo, hi, ok, want)
		}
	}
}

// unicodePwd is the quoted password in UTF-16LE (MS-ADTS §3.1.1.3.1.5.1).
func TestUnicodePwd(t *testing.T) {
	got := []byte(UnicodePwd("Pä1"))
	want := []byte{'"', 0, 'P', 0, 0xe4, 0, '1', 0, '"', 0}
	if string(got) != string(want) {
		t.Errorf("UnicodePwd = % x, want % x", got, want)
	}
	if len(utf16.Encode([]rune("😀"))) != 2 || len(UnicodePwd("😀")) != 8 {
		t.Error("a rune outside the BMP must become a surrogate pair")
	}
}

// Whatever bytes the server sent before it, a range option is found where it
// is, in any case, and the name before it is kept byte for byte.
func TestParseRangeAnyName(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.StringMatching(`[^;]*`).Draw(t, "name")
		if rapid.Bool().Draw(t, "invalid UTF-8") {
			name += string(rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "bytes"))
			name = strings.ReplaceAll(name, ";", "")
		}
		opt := []byte("range")
		for i := range opt {
			if rapid.Bool().Draw(t, "upper") {
				opt[i] -= 'a' - 'A'
			}
		}
		lo := rapid.IntRange(0, 1<<20).Draw(t, "lo")
		hi := lo + rapid.IntRange(0, 1500).Draw(t, "count")
		desc := name + ";" + string(opt) + "=" + strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
		b, l, h, ok := parseRange(desc)
		if !ok || b != name || l != lo || h != hi {
			t.Fatalf("parseRange(%q) = %q %d %d %v, want %q %d %d", desc, b, l, h, ok, name, lo, hi)
		}
	})
}
