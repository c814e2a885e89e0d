package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// SCIM2LDAP_LDAP_URL takes one URL, as always, or an ordered list separated by
// spaces or commas; a malformed entry is named.
func TestLDAPURLList(t *testing.T) {
	t.Setenv("SCIM2LDAP_BEARER_TOKENS", "a-token")
	for _, ok := range []string{"ldap://127.0.0.1:389", "ldaps://a.example.org:636 ldaps://b.example.org:636", "ldap://a:389,ldap://b:389", " ldap://a:389 , ldap://b:389 "} {
		t.Setenv("SCIM2LDAP_LDAP_URL", ok)
		c, err := loadConfig()
		if err != nil {
			t.Errorf("%q: %v", ok, err)
		} else if c.LDAPURL != ok {
			t.Errorf("%q: kept as %q", ok, c.LDAPURL)
		}
	}
	for _, bad := range []string{"ldap://a:389 http://b:389", "ldaps://a:636 ldap:///dc=example", ","} {
		t.Setenv("SCIM2LDAP_LDAP_URL", bad)
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "SCIM2LDAP_LDAP_URL") {
			t.Errorf("%q: %v, want an error naming SCIM2LDAP_LDAP_URL", bad, err)
		}
	}
}

// With the first URL of the list on a closed port and the second on a live
// slapd, serve is ready and serves README's first session.
func TestServeWithTheFirstServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ldap://" + l.Addr().String()
	l.Close()
	const token = "first-server-down-token-0123456789"
	base, _ := startServe(t, map[string]string{"LDAP_URL": closed + " " + slapd.URL, "BEARER_TOKENS": token, "MAPPING_FILE": "../../mappings.example.yaml"})
	root := strings.TrimSuffix(base, "/scim/v2")
	call := func(method, path, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := call("GET", root+"/readyz", ""); code != 200 || !strings.Contains(body, slapd.URL+" (2 of 2)") {
		t.Fatalf("readyz: %d %q, want 200 naming %s", code, body, slapd.URL)
	}
	code, body := call("POST", base+"/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"alice-first-down@example.org","name":{"givenName":"Alice","familyName":"Smith"},
		"emails":[{"type":"work","value":"alice-first-down@example.org"}]}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	for _, step := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "ALICE-first-down@example.org"`), "", 200},
		{"GET", "/Users/" + id, "", 200},
		{"PUT", "/Users/" + id, `{"userName":"alice-first-down@example.org","name":{"givenName":"Alicia","familyName":"Smith"}}`, 200},
		{"DELETE", "/Users/" + id, "", 204},
		{"GET", "/Schemas", "", 200},
	} {
		if code, body := call(step.method, base+step.path, step.body); code != step.want {
			t.Errorf("%s %s: %d %s, want %d", step.method, step.path, code, body, step.want)
		}
	}
}
