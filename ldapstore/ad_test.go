package ldapstore

import (
	"testing"
	"unicode/utf16"
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
