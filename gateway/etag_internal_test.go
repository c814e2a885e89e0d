package gateway

import (
	"slices"
	"testing"
)

// RFC 7232 §3.1, §3.2: "*" or a list of entity-tags ([W/]"…", §2.3), with
// empty list elements ignored (RFC 7230 §7); anything else is malformed.
func TestParseETags(t *testing.T) {
	valid := []struct {
		in   string
		tags []string
		star bool
	}{
		{`*`, nil, true},
		{` * `, nil, true},
		{`"a"`, []string{"a"}, false},
		{`W/"a"`, []string{"a"}, false},
		{`""`, []string{""}, false},
		{`W/""`, []string{""}, false},
		{`"a", W/"b"`, []string{"a", "b"}, false},
		{`"a",W/"b"`, []string{"a", "b"}, false},
		{` , "a" ,, W/"b" , `, []string{"a", "b"}, false},
		{"\t\"a\"\t", []string{"a"}, false},
		{`"a,b"`, []string{"a,b"}, false}, // ',' is an etagc
		{`"20240101120000.000001Z#000000#000#000000"`, []string{"20240101120000.000001Z#000000#000#000000"}, false},
		{"\"\x80\xff\"", []string{"\x80\xff"}, false}, // obs-text
	}
	for _, tt := range valid {
		tags, star, ok := parseETags(tt.in)
		if !ok || star != tt.star || !slices.Equal(tags, tt.tags) {
			t.Errorf("parseETags(%q) = %q, %v, %v; want %q, %v, true", tt.in, tags, star, ok, tt.tags, tt.star)
		}
	}
	for _, in := range []string{
		``, ` `, `,`, `,,,`, ` , `,
		`"`, `"a`, `a"`, `abc`, `W/`, `W/,"a"`, `w/"a"`, `W/ "a"`, `W"a"`,
		`"a" junk`, `"a""b"`, `"a" "b"`, `""x`, `"a";"b"`,
		`*,"a"`, `"a", *`, `**`, `* *`,
		`"a b"`, "\"a\x01\"", "\"a\x7f\"", `"a\"b"`,
	} {
		if tags, star, ok := parseETags(in); ok {
			t.Errorf("parseETags(%q) = %q, %v, true; want malformed", in, tags, star)
		}
	}
}

// The field values of RFC 7232's examples: §2.3 (ETag), §3.1 (If-Match), §3.2
// (If-None-Match).
func TestParseETagsRFC7232Examples(t *testing.T) {
	for _, tt := range []struct {
		in   string
		tags []string
		star bool
	}{
		{`"xyzzy"`, []string{"xyzzy"}, false},
		{`W/"xyzzy"`, []string{"xyzzy"}, false},
		{`""`, []string{""}, false},
		{`"xyzzy", "r2d2xxxx", "c3piozzzz"`, []string{"xyzzy", "r2d2xxxx", "c3piozzzz"}, false},
		{`W/"xyzzy", W/"r2d2xxxx", W/"c3piozzzz"`, []string{"xyzzy", "r2d2xxxx", "c3piozzzz"}, false},
		{`*`, nil, true},
	} {
		tags, star, ok := parseETags(tt.in)
		if !ok || star != tt.star || !slices.Equal(tags, tt.tags) {
			t.Errorf("parseETags(%q) = %q, %v, %v; want %q, %v, true", tt.in, tags, star, ok, tt.tags, tt.star)
		}
	}
}
