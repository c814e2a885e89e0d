package gateway_test

// Which paths and methods the gateway answers and how: HEAD, 405 with Allow,
// 501 for /Me, a query string's ';', and unauthenticated requests that match
// nothing.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/gateway"
)

// RFC 7644 §3.11: a service provider without /Me SHOULD answer 501. Clients
// authenticate here with provisioning tokens, which are no user.
func TestMeIsNotImplemented(t *testing.T) {
	e := newEnv(t)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		var body any
		if m != "GET" && m != "DELETE" {
			body = map[string]any{"schemas": []string{userSchema}, "userName": "me"}
		}
		wantError(t, e.Do(m, "/Me", body), 501, "", "/Me is not supported", "provisioning credentials")
	}
	if r := e.Do("HEAD", "/Me", nil); r.Status != 501 {
		t.Errorf("HEAD /Me: %d", r.Status)
	}
	if r := e.Do("GET", "/Me", nil, "Authorization", "Bearer wrong"); r.Status != 401 {
		t.Errorf("GET /Me with a wrong token: %d, want 401 before anything else", r.Status)
	}
}

// Protocol edges found by a fresh-eyes review: an unencoded ';' in the query
// string (Go's URL.Query drops the pair: the filter vanished and every user was
// listed), HEAD (RFC 9110 §9.3.2), wrong paths and methods under the SCIM base
// only for authenticated clients, and a bounded method label in the metrics.
func TestQueryHeadAndUnmatchedRequests(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"semi-a", "semi-b"} {
		if r := e.Do("POST", "/Users", user(n, nil)); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Raw)
		}
	}
	wantError(t, e.Do("GET", `/Users?filter=userName%20eq%20%22semi-a;b%22`, nil), 400, "invalidFilter")
	wantError(t, e.Do("GET", `/Users?count=1;startIndex=2`, nil), 400, "invalidValue")
	wantError(t, e.Do("GET", `/Schemas?filter=x;y`, nil), 400, "invalidFilter")
	if r := e.Do("GET", "/Users"+filterQ(`userName eq "semi-a;b"`), nil); r.Status != 200 || r.Body["totalResults"] != float64(0) {
		t.Errorf("an encoded ';' is part of the value: %d %s", r.Status, r.Raw)
	}

	for _, p := range []string{"/Users", "/ServiceProviderConfig", "/Schemas"} {
		if r := e.Do("HEAD", p, nil); r.Status != 200 || r.Raw != "" {
			t.Errorf("HEAD %s: %d %q", p, r.Status, r.Raw)
		}
	}
	if r := e.Do("HEAD", "/Users", nil, "Authorization", ""); r.Status != 401 {
		t.Errorf("HEAD without credentials: %d", r.Status)
	}

	// Without credentials, a wrong method or path under the base is a 401, not
	// a map of the API; outside the base, 404 as before.
	for _, c := range []struct{ method, path string }{{"DELETE", "/Users"}, {"POST", "/Users/x"}, {"GET", "/Nope"}} {
		r := e.Do(c.method, c.path, nil, "Authorization", "")
		wantError(t, r, 401, "")
		if r.Header.Get("Allow") != "" {
			t.Errorf("%s %s without credentials told Allow: %s", c.method, c.path, r.Header.Get("Allow"))
		}
	}
	res, err := http.Get(e.srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("GET /nope: %d", res.StatusCode)
	}

	pe := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{token}})
	pe.call("BREW", "/Users", "Bearer "+token, nil)
	m := pe.call("GET", "/metrics", "", nil)
	if strings.Contains(m.Raw, `method="BREW"`) || !strings.Contains(m.Raw, `method="other"`) {
		t.Error(`a client's method became a metrics label (want "other")`)
	}
}
