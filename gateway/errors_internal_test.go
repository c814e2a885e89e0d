package gateway

// SCIM error responses (RFC 7644 §3.12) as writeError sends them, without a
// directory or a server.

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

func TestWriteError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  *Error
		body string // the JSON body, compared as decoded
		hdr  map[string]string
	}{
		// RFC 7644 §3.12's two examples.
		{"§3.12: a resource not found", &Error{Status: 404, Detail: "Resource 2819c223-7f76-453a-919d-413861904646 not found"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Resource 2819c223-7f76-453a-919d-413861904646 not found","status":"404"}`, nil},
		{"§3.12: a scimType", &Error{Status: 400, ScimType: scimerr.Mutability, Detail: "Attribute 'id' is readOnly"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"mutability","detail":"Attribute 'id' is readOnly","status":"400"}`, nil},
		{"no detail: none sent", &Error{Status: 412},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"412"}`, nil},
		// RFC 9110 §10.2.3: 503 with Retry-After.
		{"503 says when to retry", &Error{Status: 503, Detail: "the directory is unavailable; retry later"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"the directory is unavailable; retry later","status":"503"}`,
			map[string]string{"Retry-After": "5"}},
		// RFC 6750 §3: a 401 names the Bearer scheme.
		{"401 names the scheme", &Error{Status: 401, Detail: "no credentials"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"no credentials","status":"401"}`,
			map[string]string{"WWW-Authenticate": `Bearer realm="scim2ldap"`}},
		{"the cause stays out of the body", &Error{Status: 500, Detail: "internal error; see the gateway's log", cause: errors.New("mdb_put: MDB_MAP_FULL")},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"internal error; see the gateway's log","status":"500"}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeError(w, tt.err)
			if w.Code != tt.err.Status {
				t.Errorf("status %d, want %d", w.Code, tt.err.Status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got, want map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, w.Body)
			}
			if err := json.Unmarshal([]byte(tt.body), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body %s, want %s", w.Body, tt.body)
			}
			for k, v := range tt.hdr {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.err.Status != 503 && w.Header().Get("Retry-After") != "" {
				t.Error("Retry-After on a status that promises nothing about waiting")
			}
		})
	}
	// A 401 keeps the challenge the authenticator set (e.g. Basic for a Basic client).
	w := httptest.NewRecorder()
	w.Header().Set("WWW-Authenticate", `Basic realm="scim2ldap"`)
	writeError(w, &Error{Status: 401, Detail: "wrong password"})
	if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="scim2ldap"` {
		t.Errorf("WWW-Authenticate %q, want the authenticator's own", got)
	}
}
