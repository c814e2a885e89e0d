package gateway

import (
	"net/http"
	"strings"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

// parseETags parses an If-Match or If-None-Match field value (RFC 7232 §3.1,
// §3.2): "*" (star true), or a list of entity-tags `[W/]"opaque"` (§2.3),
// whose opaque parts are returned in order (weak or strong alike: the gateway
// sends weak ETags of the directory version, see mapping.ETag; `""` gives "").
// List elements are separated by commas with optional spaces and tabs, and
// empty elements are ignored (RFC 7230 §7). ok is false for anything else:
// an empty value, a list of only commas, an unquoted or unterminated tag, W/
// without a tag or in lower case, "*" inside a list, text between tags, or a
// byte outside etagc (a space, a control character, '"').
func parseETags(v string) (tags []string, star, ok bool) {
	if strings.Trim(v, " \t") == "*" {
		return nil, true, true
	}
	i := 0
	skipOWS := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
	}
	for {
		skipOWS()
		if i == len(v) {
			break
		}
		if v[i] == ',' {
			i++
			continue
		}
		if strings.HasPrefix(v[i:], "W/") {
			i += 2
		}
		if i == len(v) || v[i] != '"' {
			return nil, false, false
		}
		end := i + 1
		for end < len(v) && isETagc(v[end]) {
			end++
		}
		if end == len(v) || v[end] != '"' {
			return nil, false, false
		}
		tags = append(tags, v[i+1:end])
		i = end + 1
		skipOWS()
		if i < len(v) && v[i] != ',' {
			return nil, false, false
		}
	}
	if tags == nil {
		return nil, false, false
	}
	return tags, false, true
}

// isETagc: etagc = %x21 / %x23-7E / obs-text (%x80-FF), RFC 7232 §2.3.
func isETagc(c byte) bool { return c == 0x21 || c >= 0x23 && c != 0x7f }

// ifMatchValue is the request's If-Match field: its lines joined into one
// list (RFC 7230 §3.2.2), and whether it was sent at all.
func ifMatchValue(r *http.Request) (string, bool) {
	lines, sent := r.Header["If-Match"]
	return strings.Join(lines, ","), sent
}

// ifMatch returns the directory versions an If-Match header names (RFC 7644
// §3.14, RFC 7232 §3.1): nil when it is absent or "*". A malformed one is
// refused by checkIfMatch before the handler runs.
func ifMatch(r *http.Request) []string {
	v, _ := ifMatchValue(r)
	tags, _, _ := parseETags(v)
	return tags
}

// checkIfMatch wraps the handlers of writes to one resource (PUT, PATCH,
// DELETE): an If-Match that is neither "*" nor a list of entity-tags (RFC 7232
// §3.1), an empty one included, is a 400 invalidValue naming the header,
// answered before the body or the directory is read. Read as no If-Match, it
// would turn the client's conditional write into an unconditional one. The
// scimType is that of a value "not compatible with the operation" (RFC 7644
// §3.12), as for malformed query parameters; invalidSyntax is for the body.
func checkIfMatch(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if v, sent := ifMatchValue(r); sent {
			if _, _, ok := parseETags(v); !ok {
				if len(v) > 80 {
					v = v[:80] + "…"
				}
				return errorf(400, scimerr.InvalidValue, "If-Match %q is neither \"*\" nor a list of entity-tags such as W/\"…\" (RFC 7232 §3.1); send the ETag (meta.version) as read, or no If-Match for an unconditional write", v)
			}
		}
		return h(w, r)
	}
}
