package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

// drawSCIMDocument draws a document of the kinds the gateway sends, up to about a
// megabyte (through the 32 KiB buffer and 256 KiB ones), with small objects
// of strings shared between its parts (as a page's users share their groups'
// reference objects).
func drawSCIMDocument(t *rapid.T) any {
	var shared []map[string]any
	for i := range rapid.IntRange(0, 4).Draw(t, "shared") {
		o := map[string]any{"value": rapid.String().Draw(t, "v"), "$ref": "https://h/Groups/" + strings.Repeat("g", i)}
		if rapid.Bool().Draw(t, "display") {
			o["display"] = rapid.String().Draw(t, "d")
		}
		shared = append(shared, o)
	}
	long := rapid.SampledFrom([]int{0, 10, 1 << 10, 30 << 10, 33 << 10, 200 << 10}).Draw(t, "long")
	var leaf func(depth int) any
	leaf = func(depth int) any {
		switch k := rapid.IntRange(0, 9).Draw(t, "kind"); {
		case k == 0:
			return nil
		case k == 1:
			return rapid.Bool().Draw(t, "b")
		case k == 2:
			return rapid.Int().Draw(t, "i")
		case k == 3 && len(shared) > 0:
			return shared[rapid.IntRange(0, len(shared)-1).Draw(t, "which")]
		case k == 4 && depth < 3:
			var xs []any
			for range rapid.IntRange(0, 6).Draw(t, "n") {
				xs = append(xs, leaf(depth+1))
			}
			return xs
		case k == 5 && depth < 3:
			m := map[string]any{}
			for range rapid.IntRange(0, 6).Draw(t, "n") {
				m[rapid.String().Draw(t, "k")] = leaf(depth + 1)
			}
			return m
		case k == 6:
			return strings.Repeat(rapid.StringN(1, 1, 4).Draw(t, "c"), rapid.IntRange(0, long).Draw(t, "len"))
		default:
			return rapid.String().Draw(t, "s")
		}
	}
	var page []any
	for range rapid.IntRange(0, 40).Draw(t, "resources") {
		page = append(page, leaf(0))
	}
	return map[string]any{"Resources": page, "totalResults": len(page)}
}

// Any document comes out as encoding/json writes it, whichever buffers it
// goes through; after a writer failed mid-way the pooled buffers hold nothing
// of that response (the next one is exact).
func TestEncodeJSONAnyDocument(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := drawSCIMDocument(t)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if fail := rapid.IntRange(0, want.Len()).Draw(t, "fail after"); fail < want.Len() {
			w := &failingWriter{left: fail}
			if err := encodeJSON(w, v); !errors.Is(err, errWriteFailed) {
				t.Fatalf("writer failing after %d of %d bytes: %v", fail, want.Len(), err)
			}
			if !bytes.HasPrefix(want.Bytes(), w.buf.Bytes()) {
				t.Fatalf("what went out before the failure is no prefix of the document")
			}
		}
		// Documents at once, sharing the pools.
		var wg sync.WaitGroup
		got := make([]bytes.Buffer, 3)
		for i := range got {
			wg.Go(func() {
				if err := encodeJSON(&got[i], v); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range got {
			if !bytes.Equal(got[i].Bytes(), want.Bytes()) {
				t.Fatalf("encoding %d of %d bytes differs from encoding/json", i, want.Len())
			}
		}
	})
}

var errWriteFailed = errors.New("client gone")

// failingWriter takes left bytes, then fails.
type failingWriter struct {
	buf  bytes.Buffer
	left int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.buf.Write(p[:n])
		w.left = 0
		return n, errWriteFailed
	}
	w.left -= len(p)
	return w.buf.Write(p)
}
