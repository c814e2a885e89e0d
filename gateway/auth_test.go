package gateway_test

// Authentication and authorisation (RFC 7644 §2): every credential kind the
// gateway accepts (bearer tokens, HTTP Basic, JWTs from a JWKS) and rejects,
// scopes, and the failure rate limit.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/scim2ldap/scim2ldap/gateway"
)

func TestMissingOrWrongTokenIs401(t *testing.T) {
	e := newEnv(t)
	for _, hdr := range []string{"", "Bearer", "Bearer wrong", "Basic dXNlcjpwYXNz", "Bearer " + token + "x"} {
		for _, path := range []string{"/Users", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users/x"} {
			r := e.Do("GET", path, nil, "Authorization", hdr)
			wantError(t, r, 401, "")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", path, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if r := e.Do("GET", "/Users", nil, "Authorization", "bearer "+token); r.Status != 200 {
		t.Errorf("scheme is case-insensitive (RFC 7235): %d", r.Status)
	}
	if strings.Contains(e.logBuf.String(), token) {
		t.Error("the token reached the log")
	}
}

// A JWKS fetched over plain HTTP could be swapped in transit: only https://,
// or http:// to a loopback address, is accepted.
func TestJWKSURLMustBeSecure(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://login.example.org/keys": true, "http://127.0.0.1:8080/keys": true, "http://localhost/keys": true,
		"http://login.example.org/keys": false, "http://10.1.2.3/keys": false, "ftp://x/keys": false,
	} {
		path := filepath.Join(t.TempDir(), "creds.yaml")
		os.WriteFile(path, []byte("jwtIssuers:\n  - {name: idp, issuer: https://idp.example.org, audiences: [scim], jwksURL: \""+url+"\", scope: read-only}\n"), 0o600)
		_, err := gateway.LoadCredentials(path)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted=%v", url, err, ok)
		}
	}
}

const (
	rwToken    = "rw-token-0123456789abcdef"
	roToken    = "ro-token-0123456789abcdef"
	groupToken = "group-token-0123456789abcdef"
	basicUser  = "okta"
	basicPass  = "basic-pass-0123456789abcdef"
	issuerURL  = "https://idp.example.test/tenant"
	audience   = "api://scim2ldap"
)

// keyServer serves a JWKS whose keys the test can rotate.
type keyServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fetches atomic.Int64
}

func newKeyServer(t *testing.T) *keyServer {
	k := &keyServer{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		k.mu.Lock()
		defer k.mu.Unlock()
		json.NewEncoder(w).Encode(k.set)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *keyServer) publish(keys ...jose.JSONWebKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.set = jose.JSONWebKeySet{}
	for _, key := range keys {
		k.set.Keys = append(k.set.Keys, key.Public())
	}
}

func rsaKey(t *testing.T, kid string) jose.JSONWebKey {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: pk, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func ecKey(t *testing.T, kid string) jose.JSONWebKey {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: pk, KeyID: kid, Algorithm: "ES256", Use: "sig"}
}

func signJWT(t *testing.T, key jose.JSONWebKey, c jwt.Claims) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.Claims {
	now := time.Now()
	return jwt.Claims{Issuer: issuerURL, Audience: jwt.Audience{audience}, Subject: "app-123",
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
}

// writeCredentials writes a credentials file (with the secrets in files, as
// mounted secrets would be) and loads it.
func writeCredentials(t *testing.T, jwksURL string) *gateway.Credentials {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rw"), []byte(rwToken+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "okta-pass"), []byte(basicPass+"\n"), 0o600)
	yaml := fmt.Sprintf(`
tokens:
  - {name: entra-rw, tokenFile: rw, scope: read-write}
  - {name: auditor, token: %q, scope: read-only}
  - {name: groups-only, token: %q, scope: read-write, resourceTypes: [Group]}
basicUsers:
  - {name: okta, username: %s, passwordFile: okta-pass, scope: read-write}
jwtIssuers:
  - name: oauth-app
    issuer: %s
    audiences: [%s]
    jwksURL: %s
    algorithms: [RS256, ES256]
    clockSkew: 5s
    jwksRefresh: 0s
    jwksMinRefresh: 0s
    scope: read-write
`, roToken, groupToken, basicUser, issuerURL, audience, jwksURL)
	path := filepath.Join(dir, "credentials.yaml")
	os.WriteFile(path, []byte(yaml), 0o600)
	c, err := gateway.LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(exampleMapping(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

func bearer(t string) string { return "Bearer " + t }

func basic(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

func TestCredentialKinds(t *testing.T) {
	keys := newKeyServer(t)
	k1, k2, stranger := rsaKey(t, "k1"), ecKey(t, "k2"), rsaKey(t, "k-unknown")
	keys.publish(k1)
	e := newProdEnv(t, openStore(t), gateway.Config{Credentials: writeCredentials(t, keys.srv.URL), AuthFailureBurst: -1})

	// Accepted: each kind reads; read-write ones write.
	for name, auth := range map[string]string{
		"static token": bearer(rwToken), "read-only token": bearer(roToken), "basic": basic(basicUser, basicPass),
		"jwt": bearer(signJWT(t, k1, validClaims())),
	} {
		if r := e.call("GET", "/Users", auth, nil); r.Status != 200 {
			t.Errorf("%s: GET /Users %d %s", name, r.Status, r.Raw)
		}
	}
	for i, auth := range []string{bearer(rwToken), basic(basicUser, basicPass), bearer(signJWT(t, k1, validClaims()))} {
		if r := e.call("POST", "/Users", auth, newUser(fmt.Sprintf("cred-kind-%d", i))); r.Status != 201 {
			t.Errorf("write %d: %d %s", i, r.Status, r.Raw)
		}
	}

	// Rejected: 401 with WWW-Authenticate naming both schemes.
	expired := validClaims()
	expired.Expiry, expired.NotBefore, expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)), jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(-2*time.Hour))
	wrongAud := validClaims()
	wrongAud.Audience = jwt.Audience{"api://someone-else"}
	wrongIss := validClaims()
	wrongIss.Issuer = "https://evil.example.test"
	notYet := validClaims()
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	noExp := validClaims()
	noExp.Expiry = nil
	tampered := signJWT(t, k1, validClaims())
	tampered = tampered[:len(tampered)-4] + "AAAA"
	for name, c := range map[string]struct{ auth, desc string }{
		"none":              {"", ""},
		"wrong token":       {bearer("not-a-configured-token-at-all"), "invalid bearer token"},
		"wrong basic":       {basic(basicUser, "wrong-password-0123456789"), "invalid user name or password"},
		"unknown basic":     {basic("mallory", basicPass), "invalid user name or password"},
		"expired jwt":       {bearer(signJWT(t, k1, expired)), "token expired"},
		"not yet valid jwt": {bearer(signJWT(t, k1, notYet)), "token not valid yet"},
		"wrong audience":    {bearer(signJWT(t, k1, wrongAud)), "token audience is not this service"},
		"wrong issuer":      {bearer(signJWT(t, k1, wrongIss)), "token issuer is not trusted"},
		"unknown key id":    {bearer(signJWT(t, stranger, validClaims())), "token signed with an unknown key"},
		"no exp":            {bearer(signJWT(t, k1, noExp)), "token has no expiry"},
		"bad signature":     {bearer(tampered), "invalid token signature"},
		"other scheme":      {"Digest abc", "unsupported Authorization scheme"},
	} {
		r := e.call("GET", "/Users", c.auth, nil)
		if r.Status != 401 {
			t.Errorf("%s: status %d, want 401: %s", name, r.Status, r.Raw)
			continue
		}
		wa := strings.Join(r.Header.Values("WWW-Authenticate"), " | ")
		if !strings.Contains(wa, `Bearer realm="scim2ldap"`) || !strings.Contains(wa, `Basic realm="scim2ldap"`) {
			t.Errorf("%s: WWW-Authenticate %q", name, wa)
		}
		if c.desc != "" && !strings.Contains(r.Raw, c.desc) {
			t.Errorf("%s: body %s should say %q", name, r.Raw, c.desc)
		}
	}

	// Scopes: read-only writing → 403; a credential limited to Groups reaching Users → 403.
	if r := e.call("POST", "/Users", bearer(roToken), newUser("ro-write")); r.Status != 403 || !strings.Contains(r.Raw, "read-only") {
		t.Errorf("read-only POST: %d %s", r.Status, r.Raw)
	}
	if r := e.call("DELETE", "/Users/whatever", bearer(roToken), nil); r.Status != 403 {
		t.Errorf("read-only DELETE: %d %s", r.Status, r.Raw)
	}
	if r := e.call("POST", "/Users/.search", bearer(roToken), map[string]any{}); r.Status == 403 {
		t.Errorf("POST …/.search is a read: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/Users", bearer(groupToken), nil); r.Status != 403 {
		t.Errorf("groups-only on /Users: %d %s", r.Status, r.Raw)
	}
	if r := e.call("POST", "/Groups", bearer(groupToken), map[string]any{"displayName": "scoped-group"}); r.Status != 201 {
		t.Errorf("groups-only on /Groups: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/ServiceProviderConfig", bearer(groupToken), nil); r.Status != 200 {
		t.Errorf("discovery with a limited credential: %d", r.Status)
	} else if !strings.Contains(r.Raw, `"httpbasic"`) || !strings.Contains(r.Raw, `"oauthbearertoken"`) || !strings.Contains(r.Raw, `"maxPayloadSize":1048576`) {
		t.Errorf("ServiceProviderConfig should advertise both schemes and the body limit: %s", r.Raw)
	}

	// Key rotation: the issuer now signs with k2 (a new kid): accepted after the
	// gateway re-reads the JWKS on the unknown kid; k1, withdrawn, is refused.
	keys.publish(k2)
	if r := e.call("GET", "/Users", bearer(signJWT(t, k2, validClaims())), nil); r.Status != 200 {
		t.Errorf("rotated key: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/Users", bearer(signJWT(t, k1, validClaims())), nil); r.Status != 401 {
		t.Errorf("withdrawn key: %d %s", r.Status, r.Raw)
	}
	// The JWKS being unreachable keeps the keys already read.
	keys.srv.Close()
	if r := e.call("GET", "/Users", bearer(signJWT(t, k2, validClaims())), nil); r.Status != 200 {
		t.Errorf("cached key while the JWKS is down: %d %s", r.Status, r.Raw)
	}

	// Secrets never reach the log.
	for _, secret := range []string{rwToken, roToken, groupToken, basicPass, base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + basicPass))} {
		if strings.Contains(e.log.String(), secret) || strings.Contains(e.audit.String(), secret) {
			t.Errorf("a secret is in the logs")
		}
	}
	if !strings.Contains(e.log.String(), `"client":"oauth-app"`) || !strings.Contains(e.log.String(), `"client":"okta"`) {
		t.Errorf("the request log should name the client")
	}
}

func TestAuthFailureRateLimit(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{rwToken}, AuthFailureBurst: 3, AuthFailureInterval: time.Hour,
		TrustedProxies: []netip.Prefix{loopback}})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip + ", 127.0.0.1"} }
	for i := 0; i < 3; i++ {
		if r := e.call("GET", "/Users", bearer("guess-"+strconv.Itoa(i)), nil, from("203.0.113.9")...); r.Status != 401 {
			t.Fatalf("failure %d: %d", i, r.Status)
		}
	}
	// Out of failures: 429 with Retry-After for every request from that client, even a valid one.
	for _, auth := range []string{bearer("guess-4"), bearer(rwToken)} {
		r := e.call("GET", "/Users", auth, nil, from("203.0.113.9")...)
		if r.Status != 429 {
			t.Fatalf("after the burst: %d %s", r.Status, r.Raw)
		}
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	// Another client is not affected.
	if r := e.call("GET", "/Users", bearer(rwToken), nil, from("203.0.113.10")...); r.Status != 200 {
		t.Errorf("other client: %d", r.Status)
	}
}
