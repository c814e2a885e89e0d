package gateway_test

// ETags and preconditions (RFC 7644 §3.14, RFC 7232 §3): If-Match and
// If-None-Match end to end; the header parsing itself is in
// etag_internal_test.go.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// A malformed If-Match (neither "*" nor a list of entity-tags, RFC 7232 §3.1)
// was read as no If-Match, and the write went through unconditionally. It is
// now 400 invalidValue naming the header, before anything is read or written.
func TestMalformedIfMatchIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	e := newEnv(t)
	c := e.Do("POST", "/Users", user("rv-badetag", map[string]any{"title": "T0"}))
	id, etag := c.Body["id"].(string), c.Header.Get("ETag")
	for _, h := range []string{`"`, `W/`, `,,,`, `abc`, `w/"x"`, `"x" junk`, `*, ` + etag, etag + `"`, " "} {
		for _, r := range []response{
			e.Do("PUT", "/Users/"+id, user("rv-badetag", map[string]any{"title": "T1"}), "If-Match", h),
			e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T2")), "If-Match", h),
			e.Do("DELETE", "/Users/"+id, nil, "If-Match", h),
			// Checked before the body, too.
			e.Do("PATCH", "/Users/"+id, "{", "If-Match", h),
		} {
			wantError(t, r, 400, "invalidValue", "If-Match", "RFC 7232")
		}
	}
	// An empty If-Match (an unset variable in a client's template) too.
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if r := rawDo(t, e, m, "/Users/"+id, patchBody(op("replace", "title", "T3")), map[string][]string{"If-Match": {""}}); r.Status != 400 {
			t.Errorf("%s with an empty If-Match: %d %s", m, r.Status, r.Raw)
		}
	}
	got := e.entry("(uid=rv-badetag)")
	if got == nil || got.GetAttributeValue("title") != "T0" {
		t.Fatalf("the user after refused writes: %+v", got)
	}

	// `""` is a well-formed tag that names no version: 412, nothing written.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T4")), "If-Match", `""`), 412, "")
	wantError(t, e.Do("PUT", "/Users/"+id, user("rv-badetag", map[string]any{"title": "T4"}), "If-Match", `W/""`), 412, "")
	wantError(t, e.Do("DELETE", "/Users/"+id, nil, "If-Match", `""`), 412, "")
	if got := e.entry("(uid=rv-badetag)"); got == nil || got.GetAttributeValue("title") != "T0" {
		t.Fatalf("the user after stale writes: %+v", got)
	}
	// Empty list elements are allowed (RFC 7230 §7), and several If-Match
	// lines are one list (RFC 7230 §3.2.2).
	if r := e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T5")), "If-Match", ` ,"nope",, `+etag+` ,`); r.Status != 200 {
		t.Fatalf("If-Match with empty list elements: %d %s", r.Status, r.Raw)
	}
	etag = e.Do("GET", "/Users/"+id, nil).Header.Get("ETag")
	if r := rawDo(t, e, "PATCH", "/Users/"+id, patchBody(op("replace", "title", "T6")), map[string][]string{"If-Match": {`"nope"`, etag}}); r.Status != 200 {
		t.Fatalf("If-Match on two lines: %d %s", r.Status, r.Raw)
	}

	// GET: a malformed If-None-Match matches no version, so the resource is
	// sent (as without the header); nothing is at stake on a read.
	etag = e.Do("GET", "/Users/"+id, nil).Header.Get("ETag")
	for _, h := range []string{`"`, `W/`, `,,,`, etag + ` junk`} {
		if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", h); g.Status != 200 || g.Body["id"] != id {
			t.Errorf("GET with If-None-Match %q: %d %s", h, g.Status, g.Raw)
		}
	}
	if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", `"nope", `+etag); g.Status != 304 {
		t.Errorf("GET with If-None-Match holding the current ETag: %d %s", g.Status, g.Raw)
	}
}

// rawDo sends a request with header lines as given (scimtest.Client.Do sets
// one value per header and drops empty ones).
func rawDo(t *testing.T, e *env, method, path string, body any, hdr map[string][]string) response {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.BaseURL+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
}

func TestIfMatchGuardsPutAndDelete(t *testing.T) {
	e := newEnv(t)
	c := e.Do("POST", "/Users", user("etag@example.org", nil))
	id, etag := c.Body["id"].(string), c.Header.Get("ETag")
	p := e.Do("PUT", "/Users/"+id, user("etag@example.org", map[string]any{"title": "v2"}), "If-Match", etag)
	if p.Status != 200 || p.Header.Get("ETag") == etag {
		t.Fatalf("PUT with the current ETag: %d %s", p.Status, p.Raw)
	}
	wantError(t, e.Do("PUT", "/Users/"+id, user("etag@example.org", map[string]any{"title": "v3"}), "If-Match", etag), 412, "")
	if e.entry("(uid=etag@example.org)").GetAttributeValue("title") != "v2" {
		t.Error("a stale If-Match wrote")
	}
	wantError(t, e.Do("DELETE", "/Users/"+id, nil, "If-Match", etag), 412, "")
	if d := e.Do("DELETE", "/Users/"+id, nil, "If-Match", p.Header.Get("ETag")); d.Status != 204 {
		t.Errorf("delete with the current ETag: %d %s", d.Status, d.Raw)
	}
}

func TestIfNoneMatchAndETagLists(t *testing.T) {
	e := newEnv(t)
	c := e.Do("POST", "/Users", user("rv-etag", nil))
	id, etag := c.Body["id"].(string), c.Header.Get("ETag")
	if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", etag); g.Status != 304 || g.Raw != "" || g.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match with the current ETag: %d %q", g.Status, g.Raw)
	}
	if g := e.Do("GET", "/Users/"+id, nil, "If-None-Match", `W/"old"`); g.Status != 200 {
		t.Errorf("If-None-Match with another ETag: %d", g.Status)
	}
	if p := e.Do("PUT", "/Users/"+id, user("rv-etag", map[string]any{"title": "x"}), "If-Match", `"nope", `+etag); p.Status != 200 {
		t.Errorf("If-Match list holding the current ETag: %d %s", p.Status, p.Raw)
	}
}
