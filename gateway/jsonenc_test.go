package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodeJSON writes exactly what encoding/json's Encoder with
// SetEscapeHTML(false) writes, for every kind of value the gateway sends and
// for strings with every escape.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	tricky := []string{"", "plain", `quote " and \ backslash`, "<a href='x'>&amp;</a>", "tab\tnew\nline\rcr", "\b\f\x00\x01\x1f\x7f",
		"ünïcödé 日本語 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xed\xa0\x80 surrogate", strings.Repeat("x", 40000)}
	values := []any{nil, true, false, 0, -42, int64(1) << 40, json.Number("12.50"), 3.25, 1e21, []string{"a", "b"}, []string(nil),
		[]any{}, []any(nil), map[string]any{}, map[string]any(nil),
		map[string]any{"z": 1, "a": []any{map[string]any{"value": "x", "$ref": "https://h/Users/1", "type": "User"}}, "m": map[string]any{"k": nil}},
		map[string]string{"x": "<y>"}, struct{ A string }{"<&>"}}
	for _, s := range tricky {
		values = append(values, s, map[string]any{s: s}, []any{s})
	}
	var big []any // 1.2 MB: through the 32 KiB buffer and several 256 KiB ones
	for i := range 20000 {
		big = append(big, map[string]any{"value": strings.Repeat("v", i%97), "n": i})
	}
	values = append(values, big)
	// Objects shared between resources (a page's users naming the same
	// groups), met once, twice and more, alone and nested: written from their
	// first encoding from the second time on.
	group := map[string]any{"value": "g-1", "$ref": "https://h/Groups/g-1"}
	other := map[string]any{"value": "g-2 \u2028 \" <>", "$ref": "https://h/Groups/g-2", "type": "Group"}
	notLeaf := map[string]any{"value": "u", "n": 1}
	values = append(values,
		[]any{group, group, other, group, other, notLeaf, notLeaf},
		[]any{map[string]any{"groups": []any{group, other}}, map[string]any{"groups": []any{other, group}, "manager": group}})
	for i, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := encodeJSON(&got, v); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("value %d (%T):\n got %.300q\nwant %.300q", i, v, got.String(), want.String())
		}
	}
}

// countingWriter counts the Writes it receives.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return w.Buffer.Write(p) }

// A small response is one Write; a big one goes out in 256 KiB pieces, not
// 32 KiB ones (each Write of a streamed response costs net/http two write(2)s).
func TestEncodeJSONWritesBigResponsesInBigPieces(t *testing.T) {
	for _, tc := range []struct {
		name      string
		v         any
		maxWrites int
	}{
		{"small", map[string]any{"id": "1", "userName": "bjensen"}, 1},
		{"just over 32 KiB", []any{strings.Repeat("x", 40<<10)}, 1},
		{"3 MiB", []any{strings.Repeat("x", 3<<20)}, 3<<20/(256<<10) + 2},
	} {
		var w countingWriter
		if err := encodeJSON(&w, tc.v); err != nil {
			t.Fatal(err)
		}
		if w.writes > tc.maxWrites {
			t.Errorf("%s: %d writes for %d bytes, want at most %d", tc.name, w.writes, w.Len(), tc.maxWrites)
		}
		want, _ := json.Marshal(tc.v)
		if got := bytes.TrimSuffix(w.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Errorf("%s: output differs from encoding/json", tc.name)
		}
	}
}

// A value encoding/json refuses fails the encoding before anything of a
// small response is written, so the caller can still answer with an error.
func TestEncodeJSONErrorWritesNothingOfASmallResponse(t *testing.T) {
	var w countingWriter
	if err := encodeJSON(&w, map[string]any{"id": "1", "bad": make(chan int)}); err == nil {
		t.Fatal("encoded a channel")
	}
	if w.writes != 0 || w.Len() != 0 {
		t.Errorf("%d writes, %d bytes after the error, want none", w.writes, w.Len())
	}
}
