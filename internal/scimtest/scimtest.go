// Package scimtest is the SCIM client side of the integration tests: requests
// to a gateway under test, SCIM error assertions (RFC 7644 §3.12) and request
// builders, shared by the OpenLDAP (gateway) and Active Directory
// (gateway/adtest) test packages.
package scimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Schema URNs the tests use.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	PatchOpSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// Response is a gateway response with its JSON body decoded.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Client sends authenticated SCIM requests to BaseURL (".../scim/v2").
type Client struct {
	T       testing.TB
	BaseURL string
	Token   string
	// HTTP sends the requests; nil: http.DefaultClient. A test can put a
	// RoundTripper in it that sees every request of a scenario.
	HTTP *http.Client
}

// Do sends a request. body is a string (sent as is) or a value sent as JSON;
// hdr are name/value pairs (an empty value removes the header). A response body
// must be JSON with Content-Type application/scim+json, and no response may be
// a 5xx other than 503 and 501.
func (c *Client) Do(method, path string, body any, hdr ...string) Response {
	t := c.T
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.BaseURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := Response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: response is not JSON: %q", method, path, raw)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	// 503 (directory down) and 501 (/Me: not supported) are answers the
	// gateway means; any other 5xx is a bug.
	if out.Status >= 500 && out.Status != http.StatusServiceUnavailable && out.Status != http.StatusNotImplemented {
		t.Errorf("%s %s: %d %s", method, path, out.Status, raw)
	}
	return out
}

// MustCreate POSTs body and returns the new resource's id (201 required).
func (c *Client) MustCreate(path string, body map[string]any) string {
	c.T.Helper()
	r := c.Do("POST", path, body)
	if r.Status != 201 {
		c.T.Fatalf("create %s: %d %s", path, r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

// MustPatch sends a PATCH that must succeed (200 or 204).
func (c *Client) MustPatch(path string, body map[string]any, hdr ...string) Response {
	c.T.Helper()
	r := c.Do("PATCH", path, body, hdr...)
	if r.Status != 200 && r.Status != 204 {
		c.T.Fatalf("PATCH %s: %d %s", path, r.Status, r.Raw)
	}
	return r
}

// WantError asserts a SCIM error response (RFC 7644 §3.12): the status (also as
// a string in the body), the scimType ("" for none), a detail, the Error schema,
// and that the detail mentions each of mention.
func WantError(t testing.TB, r Response, status int, scimType string, mention ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if r.Body["status"] != fmt.Sprint(status) {
		t.Errorf("body status %v, want the string %q", r.Body["status"], fmt.Sprint(status))
	}
	if st, _ := r.Body["scimType"].(string); st != scimType {
		t.Errorf("scimType %q, want %q (%s)", st, scimType, r.Raw)
	}
	d, _ := r.Body["detail"].(string)
	if d == "" {
		t.Errorf("no detail: %s", r.Raw)
	}
	for _, m := range mention {
		if !strings.Contains(d, m) {
			t.Errorf("detail should mention %q: %s", m, r.Raw)
		}
	}
	if s, _ := r.Body["schemas"].([]any); len(s) != 1 || s[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("schemas %v", r.Body["schemas"])
	}
}

// PatchBody is a PatchOp request with the given operations.
func PatchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{PatchOpSchema}, "Operations": ops}
}

// Op is one PATCH operation; an empty path or a nil value is left out.
func Op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// User is a User resource with the core and enterprise schemas and extra attributes.
func User(userName string, extra map[string]any) map[string]any {
	u := map[string]any{"schemas": []string{UserSchema, EnterpriseSchema}, "userName": userName}
	for k, v := range extra {
		u[k] = v
	}
	return u
}

// FilterQ is the query string of a SCIM filter.
func FilterQ(f string) string { return "?filter=" + url.QueryEscape(f) }

// Get walks a decoded JSON body: object keys and array indexes ("0").
func Get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// MemberDNs returns an entry's member values, lower-cased and sorted.
func MemberDNs(e *ldap.Entry) []string {
	var out []string
	for _, v := range e.GetAttributeValues("member") {
		out = append(out, strings.ToLower(v))
	}
	slices.Sort(out)
	return out
}

// Eventually polls cond (up to 10 s) for what a directory does
// asynchronously (slapd's refint overlay rewrites references after the rename
// that calls for it has returned), and fails the test when it never holds.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: still not the case after 10s", what)
}
