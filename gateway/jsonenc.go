package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// A streaming JSON encoder for the values the gateway sends (map[string]any,
// []any, []string, strings, booleans, numbers, nil): the output is byte for
// byte what encoding/json's Encoder with SetEscapeHTML(false) writes (keys
// sorted, the same escapes, a final newline), but it goes out through a 32 KiB
// buffer instead of being built whole first, and without reflection. A
// 50,000-member group is thus sent without a second copy of its JSON in memory.
// Any other type is handed to encoding/json.

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// bigPool's buffers take a response that outgrows its 32 KiB buffer (a list
// page) in 256 KiB pieces: net/http sends each Write of a response without
// Content-Length as an HTTP/1.1 chunk in two write(2)s (its 4 KiB buffer with
// the chunk header, then the rest), so bigger pieces mean fewer system calls
// (a page of 100 users in 300 groups, 3.9 MB: 244 instead of 32).
var bigPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

// spill is the writer under the 32 KiB buffer: the first time that buffer is
// flushed before the end of the response, it takes a 256 KiB one from bigPool.
type spill struct {
	w     io.Writer
	big   *bufio.Writer
	final bool // the response's last bytes: a small response goes out as it is
}

func (s *spill) Write(p []byte) (int, error) {
	if s.big == nil && s.final {
		return s.w.Write(p)
	}
	if s.big == nil {
		s.big = bigPool.Get().(*bufio.Writer)
		s.big.Reset(s.w)
	}
	return s.big.Write(p)
}

// flush sends what the big buffer holds.
func (s *spill) flush() error {
	if s.big == nil {
		return nil
	}
	return s.big.Flush()
}

// release returns the big buffer to the pool, dropping what it still holds.
func (s *spill) release() {
	if s.big != nil {
		s.big.Reset(nil)
		bigPool.Put(s.big)
		s.big = nil
	}
}

// encodeJSON writes v and a newline to w. After an error, what the buffers
// still hold is dropped: a response that fits them is not sent at all.
func encodeJSON(w io.Writer, v any) error {
	bw := bufPool.Get().(*bufio.Writer)
	sp := &spill{w: w}
	bw.Reset(sp)
	defer func() {
		sp.release()
		bw.Reset(nil)
		bufPool.Put(bw)
	}()
	var scratch [64]byte
	if err := writeValue(bw, v, scratch[:0], &repeats{}); err != nil {
		return err
	}
	bw.WriteByte('\n')
	sp.final = true
	if err := bw.Flush(); err != nil {
		return err
	}
	return sp.flush()
}

// repeats remembers the small objects of strings met in one document, such as
// the reference objects a list page's users share (one group's {value, $ref}
// in every member's groups: mapping.NewSharedRefs): from its second
// appearance on, such an object is written from its encoding.
type repeats struct {
	seen    map[uintptr]bool
	encoded map[uintptr][]byte
}

// cached writes x's encoding when x was met before, and reports whether it did.
func (r *repeats) cached(w *bufio.Writer, x map[string]any) bool {
	if len(x) > 4 {
		return false
	}
	id := uintptr(reflect.ValueOf(x).UnsafePointer())
	if b, ok := r.encoded[id]; ok { // checked to be all strings when it was encoded
		w.Write(b)
		return true
	}
	for _, v := range x {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	if !r.seen[id] {
		if r.seen == nil {
			r.seen = map[uintptr]bool{}
		}
		r.seen[id] = true
		return false
	}
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 256)
	writeObject(bw, x, nil, nil)
	bw.Flush()
	if r.encoded == nil {
		r.encoded = map[uintptr][]byte{}
	}
	r.encoded[id] = buf.Bytes()
	w.Write(buf.Bytes())
	return true
}

func writeValue(w *bufio.Writer, v any, scratch []byte, r *repeats) error {
	switch x := v.(type) {
	case nil:
		w.WriteString("null")
	case string:
		writeString(w, x)
	case bool:
		if x {
			w.WriteString("true")
		} else {
			w.WriteString("false")
		}
	case int:
		w.Write(strconv.AppendInt(scratch, int64(x), 10))
	case int64:
		w.Write(strconv.AppendInt(scratch, x, 10))
	case json.Number:
		if x == "" {
			w.WriteString("0")
		} else {
			w.WriteString(string(x)) // as encoding/json: already validated by the decoder
		}
	case []any:
		return writeArray(w, x, func(e any) error { return writeValue(w, e, scratch, r) })
	case []string:
		return writeArray(w, x, func(e string) error { writeString(w, e); return nil })
	case map[string]any:
		if x == nil {
			w.WriteString("null")
			return nil
		}
		if r != nil && r.cached(w, x) {
			return nil
		}
		return writeObject(w, x, scratch, r)
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return err
		}
		w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	return nil
}

// writeObject writes x with its keys sorted.
func writeObject(w *bufio.Writer, x map[string]any, scratch []byte, r *repeats) error {
	var small [8]string // most objects (references, names, emails) have a few keys
	keys := small[:0]
	for k := range x {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			w.WriteByte(',')
		}
		writeString(w, k)
		w.WriteByte(':')
		if err := writeValue(w, x[k], scratch, r); err != nil {
			return err
		}
	}
	w.WriteByte('}')
	return nil
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string with encoding/json's escapes (without
// HTML escaping): \" \\ \b \f \n \r \t, \u00XX for other control characters,
// \u2028 and \u2029, and U+FFFD for invalid UTF-8.
func writeString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			w.WriteString(s[start:i])
			switch b {
			case '"', '\\':
				w.WriteByte('\\')
				w.WriteByte(b)
			case '\b':
				w.WriteString(`\b`)
			case '\f':
				w.WriteString(`\f`)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hexDigits[b>>4])
				w.WriteByte(hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			w.WriteString(s[start:i])
			w.WriteString(`\u202`)
			w.WriteByte(hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}

// writeArray writes xs as a JSON array (null when nil, as encoding/json does),
// each element with each.
func writeArray[T any](w *bufio.Writer, xs []T, each func(T) error) error {
	if xs == nil {
		w.WriteString("null")
		return nil
	}
	w.WriteByte('[')
	for i, e := range xs {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := each(e); err != nil {
			return err
		}
	}
	w.WriteByte(']')
	return nil
}
