package gateway_test

// Production features against a real slapd: every credential kind accepted and
// rejected, scopes, the failure rate limit, a directory outage and recovery,
// /metrics and the audit log.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

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

type prodEnv struct {
	t     *testing.T
	srv   *httptest.Server
	log   *syncBuf
	audit *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newProdEnv(t *testing.T, store *ldapstore.Store, cfg gateway.Config) *prodEnv {
	e := &prodEnv{t: t, log: &syncBuf{}, audit: &syncBuf{}}
	cfg.Mapping, cfg.Store, cfg.Log, cfg.Audit, cfg.ServeMetrics = exampleMapping(t), store, zerolog.New(e.log), e.audit, true
	e.srv = httptest.NewServer(gateway.New(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a request; auth is a full Authorization header value ("" for none).
func (e *prodEnv) call(method, path, auth string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	u := e.srv.URL + path
	if !strings.HasPrefix(path, "/healthz") && !strings.HasPrefix(path, "/readyz") && !strings.HasPrefix(path, "/metrics") {
		u = e.srv.URL + "/scim/v2" + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

func bearer(t string) string { return "Bearer " + t }

func basic(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

func newUser(name string) map[string]any {
	return map[string]any{"schemas": []string{userSchema}, "userName": name,
		"name": map[string]any{"givenName": "Given" + name, "familyName": "Family"}}
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

// TestDirectoryOutage stops a private slapd in the middle of a write load:
// requests get 503 + Retry-After within the request deadline, /readyz fails;
// when slapd is back the gateway reconnects by itself, and every write that was
// acknowledged (201) is in the directory.
func TestDirectoryOutage(t *testing.T) {
	own, err := slapdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	store, err := ldapstore.Open(ldapstore.Config{URL: own.URL, BindDN: own.BindDN, BindPassword: own.Password, Conns: 2, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e := newProdEnv(t, store, gateway.Config{Tokens: []string{rwToken}, RequestTimeout: 2 * time.Second})
	auth := bearer(rwToken)
	if r := e.call("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz before: %d", r.Status)
	}

	// A writer creates users throughout; it remembers every acknowledged one.
	var (
		mu    sync.Mutex
		acked = map[string]string{} // userName → id
		codes = map[int]int{}
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("outage-%d", i)
			r := e.call("POST", "/Users", auth, newUser(name))
			mu.Lock()
			codes[r.Status]++
			if r.Status == 201 {
				acked[name] = r.Body["id"].(string)
			}
			mu.Unlock()
			if r.Status != 201 {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; i < 600; i++ { // generous: up to ~30 s
			if cond() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("some acknowledged writes", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 5 })

	if err := own.Halt(); err != nil {
		t.Fatal(err)
	}
	// Down: 503 with Retry-After, answered (the client would give up after 10 s; the deadline is 2 s).
	for _, req := range []struct{ method, path string }{{"GET", "/Users"}, {"POST", "/Users"}, {"GET", "/Users/some-id"}} {
		var body any
		if req.method == "POST" {
			body = newUser("while-down")
		}
		r := e.call(req.method, req.path, auth, body)
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s while down: %d %q %s", req.method, req.path, r.Status, r.Header.Get("Retry-After"), r.Raw)
		}
	}
	if r := e.call("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("readyz while down: %d", r.Status)
	}
	if r := e.call("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("healthz (liveness) while down: %d", r.Status)
	}
	mu.Lock()
	before := codes[503]
	mu.Unlock()
	waitFor("the writer to see 503s", func() bool { mu.Lock(); defer mu.Unlock(); return codes[503] > before })

	if err := own.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor("readyz after the restart", func() bool { return e.call("GET", "/readyz", "", nil).Status == 200 })
	// The next requests succeed, without restarting the gateway.
	if r := e.call("POST", "/Users", auth, newUser("after-restart")); r.Status != 201 {
		t.Errorf("create after restart: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/Users?count=1", auth, nil); r.Status != 200 {
		t.Errorf("list after restart: %d %s", r.Status, r.Raw)
	}
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	waitFor("acknowledged writes after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= n+5 })
	close(stop)
	<-done

	// No acknowledged write is missing from the directory.
	c, err := ldap.DialURL(own.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(own.BindDN, own.Password); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest("ou=people,"+own.BaseDN, ldap.ScopeSingleLevel, 0, 0, 0, false, "(uid=outage-*)", []string{"uid", "entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	inDir := map[string]string{}
	for _, en := range res.Entries {
		inDir[en.GetAttributeValue("uid")] = en.GetAttributeValue("entryUUID")
	}
	mu.Lock()
	defer mu.Unlock()
	for name, id := range acked {
		if inDir[name] != id {
			t.Errorf("acknowledged %s (%s) is missing from the directory", name, id)
		}
	}
	if codes[503] == 0 || codes[500] != 0 {
		t.Errorf("writer saw %v; want 503s during the outage and never a 500", codes)
	}
	t.Logf("writer: %v, %d acknowledged", codes, len(acked))
}

func TestMetricsAndAudit(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{rwToken}, AuthFailureBurst: -1})
	auth := bearer(rwToken)
	const secretPassword = "Sup3r-Secret-Passw0rd!"

	// Changes of every kind, with a password and a token in flight.
	u := newUser("audited")
	u["password"] = secretPassword
	u["emails"] = []any{map[string]any{"type": "work", "value": "audited-mail@example.org"}}
	c := e.call("POST", "/Users", auth, u, "X-Request-Id", "req-create-1")
	if c.Status != 201 {
		t.Fatalf("create: %d %s", c.Status, c.Raw)
	}
	if c.Header.Get("X-Request-Id") != "req-create-1" {
		t.Errorf("X-Request-Id not propagated: %q", c.Header.Get("X-Request-Id"))
	}
	id := c.Body["id"].(string)
	p := e.call("PATCH", "/Users/"+id, auth, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Chief"}, map[string]any{"op": "add", "path": "password", "value": secretPassword}}})
	if p.Status != 200 {
		t.Fatalf("patch: %d %s", p.Status, p.Raw)
	}
	u["name"] = map[string]any{"givenName": "Renamed", "familyName": "Family"}
	if r := e.call("PUT", "/Users/"+id, auth, u); r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Raw)
	}
	g := e.call("POST", "/Groups", auth, map[string]any{"displayName": "audited-group", "members": []any{map[string]any{"value": id}}})
	if g.Status != 201 {
		t.Fatalf("group: %d %s", g.Status, g.Raw)
	}
	gid := g.Body["id"].(string)
	if r := e.call("DELETE", "/Groups/"+gid, auth, nil); r.Status != 204 {
		t.Fatalf("delete group: %d", r.Status)
	}
	if r := e.call("DELETE", "/Users/"+id, auth, nil); r.Status != 204 {
		t.Fatalf("delete: %d", r.Status)
	}
	// Not changes: reads, failures.
	e.call("GET", "/Users", auth, nil)
	e.call("GET", "/Users/"+id, auth, nil)
	e.call("GET", "/Users", bearer("wrong-token-value-0123456789"), nil)

	// Audit: one event per change, in order, never a value.
	type event struct {
		Log, Event, RequestID, Client, Auth, Operation, ResourceType, ID, DN string
		Attributes                                                           []string
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		ev := event{Log: str(raw["log"]), Event: str(raw["event"]), RequestID: str(raw["request_id"]), Client: str(raw["client"]), Auth: str(raw["auth"]),
			Operation: str(raw["operation"]), ResourceType: str(raw["resource_type"]), ID: str(raw["id"]), DN: str(raw["dn"])}
		for _, a := range raw["attributes"].([]any) {
			ev.Attributes = append(ev.Attributes, a.(string))
		}
		events = append(events, ev)
	}
	want := []struct{ op, rt, id, dnPrefix, attr string }{
		{"create", "User", id, "uid=audited,", "mail"},
		{"patch", "User", id, "uid=audited,", "title"},
		{"replace", "User", id, "uid=audited,", "givenName"},
		{"create", "Group", gid, "cn=audited-group,", "member"},
		{"delete", "Group", gid, "cn=audited-group,", ""},
		{"delete", "User", id, "uid=audited,", ""},
	}
	if len(events) != len(want) {
		t.Fatalf("%d audit events, want %d:\n%s", len(events), len(want), e.audit.String())
	}
	for i, w := range want {
		ev := events[i]
		if ev.Log != "audit" || ev.Event != "scim.change" || ev.Operation != w.op || ev.ResourceType != w.rt || ev.ID != w.id ||
			!strings.HasPrefix(ev.DN, w.dnPrefix) || ev.Client != "token-1" || ev.Auth != "token" || ev.RequestID == "" {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if w.attr != "" && !contains(ev.Attributes, w.attr) {
			t.Errorf("event %d attributes %v lack %s", i, ev.Attributes, w.attr)
		}
		if w.attr == "" && len(ev.Attributes) != 0 {
			t.Errorf("event %d: a delete lists attributes %v", i, ev.Attributes)
		}
	}
	if events[0].RequestID != "req-create-1" {
		t.Errorf("the create event's request id is %q", events[0].RequestID)
	}
	all := e.audit.String() + e.log.String()
	for _, secret := range []string{secretPassword, rwToken, "wrong-token-value-0123456789", "audited-mail@example.org", "Chief", "Renamed"} {
		if strings.Contains(e.audit.String(), secret) {
			t.Errorf("the audit log contains the value %q", secret)
		}
	}
	for _, secret := range []string{secretPassword, rwToken, "wrong-token-value-0123456789"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs contain the secret %q", secret)
		}
	}

	// Metrics: scrape and check the series.
	m := e.call("GET", "/metrics", "", nil)
	if m.Status != 200 {
		t.Fatalf("/metrics: %d", m.Status)
	}
	for _, series := range []string{
		`scim2ldap_http_requests_total{client="token-1",method="POST",route="/scim/v2/Users",status="201"} 1`,
		`scim2ldap_http_requests_total{client="token-1",method="GET",route="/scim/v2/Users/{id}",status="404"} 1`,
		`scim2ldap_http_requests_total{client="-",method="GET",route="/scim/v2/Users",status="401"} 1`,
		`scim2ldap_http_requests_total{client="token-1",method="DELETE",route="/scim/v2/Groups/{id}",status="204"} 1`,
		`scim2ldap_http_request_duration_seconds_bucket{method="PATCH",route="/scim/v2/Users/{id}",le="+Inf"} 1`,
		`scim2ldap_ldap_operations_total{op="add",result="0"} 2`,
		`scim2ldap_ldap_operations_total{op="delete",result="0"} 2`,
		`scim2ldap_ldap_operation_duration_seconds_count{op="search"}`,
		`scim2ldap_ldap_connections{state="up"} 4`,
		`scim2ldap_ldap_connections{state="down"} 0`,
		`scim2ldap_auth_failures_total{reason="invalid"} 1`,
		`scim2ldap_audit_events_total{operation="create",resource_type="User"} 1`,
		`scim2ldap_audit_events_total{operation="patch",resource_type="User"} 1`,
		`scim2ldap_http_requests_in_flight`,
		`go_goroutines`,
	} {
		if !strings.Contains(m.Raw, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if regexp.MustCompile(`route="/scim/v2/Users/[0-9a-f]{8}-`).MatchString(m.Raw) {
		t.Error("a raw path (with an id) is a metrics label")
	}
}

func str(v any) string { s, _ := v.(string); return s }

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func TestBodyLimitAndRequestID(t *testing.T) {
	e := newProdEnv(t, openStore(t), gateway.Config{Tokens: []string{rwToken}, MaxBodyBytes: 2048})
	big := newUser("big")
	big["title"] = strings.Repeat("x", 4096)
	r := e.call("POST", "/Users", bearer(rwToken), big)
	if r.Status != 413 || !strings.Contains(r.Raw, "2048") {
		t.Errorf("oversized body: %d %s", r.Status, r.Raw)
	}
	if r := e.call("GET", "/ServiceProviderConfig", bearer(rwToken), nil); !strings.Contains(r.Raw, `"maxPayloadSize":2048`) {
		t.Errorf("body limit not advertised: %s", r.Raw)
	}
	// A request id that is not sane is replaced.
	r = e.call("GET", "/Users?count=0", bearer(rwToken), nil, "X-Request-Id", "bad id\twith spaces")
	if id := r.Header.Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("request id %q, want a fresh 32-hex one", id)
	}
}
