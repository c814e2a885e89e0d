package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/time/rate"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Client authentication (RFC 7644 §2): static bearer tokens, HTTP Basic, OAuth
// 2.0 bearer JWTs checked against the issuer's JWKS, and TLS client
// certificates. Every credential has a name and a scope (see Credentials).
// Repeated failures from one client address are answered 429 for a while.
//
// JWTs are verified with go-jose/v4: it is the JOSE implementation Kubernetes and
// Dex rely on, it has no dependencies beyond the standard library, refuses "none"
// and requires the caller to name the accepted algorithms. The JWKS cache (with
// re-reading on an unknown key id, for key rotation) is the ~80 lines below.

// Identity is who a request authenticated as.
type Identity struct {
	Name    string // the credential's name (logs, metrics, audit); never a secret
	Kind    string // "token", "basic", "jwt" or "mtls"
	Subject string // JWT "sub" or the certificate subject; "" for tokens and Basic
	scope   Scope
	refused string // set: authenticated but granted no scope (a JWT none of whose claims maps to one); the 403's detail
}

// authFailure is a 401 with what the client may be told.
type authFailure struct {
	reason string // metrics label: missing, invalid, expired, audience, issuer, unknown_key
	detail string // sent to the client
}

var defaultJWTAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// authenticator holds the configured credentials in the form used per request.
type authenticator struct {
	tokens  []credDigest // static bearer tokens
	basic   []credDigest // user ":" password digests
	issuers []*issuer
	certs   []CertCredential
	creds   *Credentials // what the set was built from (nil: tokens only), checked against a reloaded mapping
}

type credDigest struct {
	sum [32]byte
	id  Identity
}

func newAuthenticator(tokens []string, creds *Credentials, m *metrics) *authenticator {
	a := &authenticator{}
	for i, t := range tokens {
		a.tokens = append(a.tokens, credDigest{sha256.Sum256([]byte(t)), Identity{Name: "token-" + strconv.Itoa(i+1), Kind: "token", scope: Scope{Scope: "read-write"}}})
	}
	if creds == nil {
		return a
	}
	a.creds = creds
	for _, t := range creds.Tokens {
		a.tokens = append(a.tokens, credDigest{sha256.Sum256([]byte(t.Token)), Identity{Name: t.Name, Kind: "token", scope: t.Scope}})
	}
	for _, b := range creds.BasicUsers {
		a.basic = append(a.basic, credDigest{sha256.Sum256([]byte(b.Username + ":" + b.Password)), Identity{Name: b.Name, Kind: "basic", scope: b.Scope}})
	}
	for _, j := range creds.JWTIssuers {
		skew, refresh, minRefresh, _ := j.durations()
		algs := j.Algorithms
		if len(algs) == 0 {
			algs = defaultJWTAlgorithms
		}
		is := &issuer{cfg: j, skew: skew, keys: &jwks{url: j.JWKSURL, refresh: refresh, minRefresh: minRefresh, metrics: m, name: j.Name,
			client: &http.Client{Timeout: 10 * time.Second}}}
		for _, alg := range algs {
			is.algs = append(is.algs, jose.SignatureAlgorithm(alg))
		}
		a.issuers = append(a.issuers, is)
	}
	a.certs = creds.ClientCertificates
	return a
}

// schemes lists the configured schemes for WWW-Authenticate and discovery.
func (a *authenticator) schemes() (bearer, basic bool) {
	return len(a.tokens) > 0 || len(a.issuers) > 0, len(a.basic) > 0
}

// identify authenticates r: the Authorization header when present, else a
// verified client certificate.
func (a *authenticator) identify(r *http.Request) (*Identity, *authFailure) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if id := a.fromCertificate(r); id != nil {
			return id, nil
		}
		return nil, &authFailure{"missing", "authentication required"}
	}
	scheme, cred, _ := strings.Cut(auth, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		if id := match(a.tokens, sha256.Sum256([]byte(cred))); id != nil {
			return id, nil
		}
		if len(a.issuers) > 0 && strings.Count(cred, ".") == 2 {
			return a.fromJWT(r.Context(), cred)
		}
		return nil, &authFailure{"invalid", "invalid bearer token"}
	case strings.EqualFold(scheme, "Basic") && len(a.basic) > 0:
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil || !strings.Contains(string(raw), ":") {
			return nil, &authFailure{"invalid", "malformed Basic credentials"}
		}
		if id := match(a.basic, sha256.Sum256(raw)); id != nil {
			return id, nil
		}
		return nil, &authFailure{"invalid", "invalid user name or password"}
	}
	return nil, &authFailure{"invalid", "unsupported Authorization scheme"}
}

// match compares sum with every digest in constant time, so neither a secret's
// content nor its length, nor which entry matched, leaks through timing.
func match(list []credDigest, sum [32]byte) *Identity {
	found := -1
	for i := range list {
		if subtle.ConstantTimeCompare(sum[:], list[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil
	}
	id := list[found].id
	return &id
}

// fromCertificate is the identity of the first credential whose subject the
// verified client certificate has, in plan mode when any credential whose
// subject it has plans (one certificate can name several: its CN and DNS
// names), so that a certificate a plan: true credential names never writes.
func (a *authenticator) fromCertificate(r *http.Request) *Identity {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(a.certs) == 0 {
		return nil
	}
	leaf := r.TLS.VerifiedChains[0][0]
	var id *Identity
	for _, c := range a.certs {
		if !certHasSubject(leaf, c.Subject) {
			continue
		}
		if id == nil {
			id = &Identity{Name: c.Name, Kind: "mtls", Subject: c.Subject, scope: c.Scope}
		}
		id.scope.Plan = id.scope.Plan || c.Plan
	}
	return id
}

func certHasSubject(cert *x509.Certificate, subject string) bool {
	if cert.Subject.CommonName == subject {
		return true
	}
	for _, d := range cert.DNSNames {
		if strings.EqualFold(d, subject) {
			return true
		}
	}
	for _, u := range cert.URIs {
		if u.String() == subject {
			return true
		}
	}
	return false
}

// issuer is one configured JWT issuer with its key cache.
type issuer struct {
	cfg  JWTIssuer
	skew time.Duration
	algs []jose.SignatureAlgorithm
	keys *jwks
}

func (a *authenticator) fromJWT(ctx context.Context, raw string) (*Identity, *authFailure) {
	var algs []jose.SignatureAlgorithm
	for _, is := range a.issuers {
		algs = append(algs, is.algs...)
	}
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil {
		return nil, &authFailure{"invalid", "malformed token or unaccepted signature algorithm"}
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, &authFailure{"invalid", "malformed token claims"}
	}
	var is *issuer
	for _, c := range a.issuers {
		if c.cfg.Issuer == unverified.Issuer {
			is = c
			break
		}
	}
	if is == nil {
		return nil, &authFailure{"issuer", "token issuer is not trusted"}
	}
	hdr := tok.Headers[0]
	if !containsAlg(is.algs, hdr.Algorithm) {
		return nil, &authFailure{"invalid", "signature algorithm not accepted for this issuer"}
	}
	keys, err := is.keys.lookup(ctx, hdr.KeyID)
	if err != nil {
		return nil, &authFailure{"unknown_key", "the issuer's keys could not be read; retry later"}
	}
	if len(keys) == 0 {
		return nil, &authFailure{"unknown_key", "token signed with an unknown key"}
	}
	var claims jwt.Claims
	var all map[string]any // every claim, for claimScopes
	verified := false
	for _, k := range keys {
		if err := tok.Claims(k.Key, &claims, &all); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, &authFailure{"invalid", "invalid token signature"}
	}
	if claims.Expiry == nil {
		return nil, &authFailure{"invalid", "token has no expiry (exp)"}
	}
	err = claims.ValidateWithLeeway(jwt.Expected{Issuer: is.cfg.Issuer, AnyAudience: is.cfg.Audiences, Time: time.Now()}, is.skew)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, &authFailure{"expired", "token expired"}
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, &authFailure{"expired", "token not valid yet"}
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, &authFailure{"audience", "token audience is not this service"}
	case err != nil:
		return nil, &authFailure{"invalid", "invalid token claims"}
	}
	id := &Identity{Name: is.cfg.Name, Kind: "jwt", Subject: claims.Subject, scope: is.cfg.Scope}
	if len(is.cfg.ClaimScopes) > 0 {
		sc, ok := claimScope(is.cfg.ClaimScopes, all)
		id.scope = sc
		if !ok {
			id.refused = fmt.Sprintf("token of issuer %q grants no scope here: none of its claims holds a value that claimScopes maps", is.cfg.Name)
		}
	}
	return id, nil
}

// claimScope is the scope of the first entry whose claim holds its value, in
// plan mode when any entry whose claim holds its value has plan: true (a token
// holding a planning role never writes, whatever else it holds or the order
// of the entries); ok is false when no entry's claim holds its value.
func claimScope(entries []ClaimScope, claims map[string]any) (sc Scope, ok bool) {
	for _, c := range entries {
		if !claimHolds(claims[c.Claim], c.Value) {
			continue
		}
		if !ok {
			sc, ok = c.Scope, true
		}
		sc.Plan = sc.Plan || c.Plan
	}
	return sc, ok
}

// claimHolds reports whether a claim holds want: a string claim holds its
// space-separated values (the OAuth "scope" claim, RFC 8693 §4.2, and Microsoft
// Entra ID's "scp"), an array claim its string elements ("roles", "groups",
// RFC 9068 §2.2.3.1, Entra ID's app roles, Okta's "scp"). Values are compared
// exactly, case and all.
func claimHolds(v any, want string) bool {
	switch v := v.(type) {
	case string:
		return slices.Contains(strings.Fields(v), want)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

func containsAlg(list []jose.SignatureAlgorithm, alg string) bool {
	for _, a := range list {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// jwks caches an issuer's JSON Web Key Set. It is read on first use, again every
// refresh, and again when a token names a key id it does not hold (key
// rotation), at most once per minRefresh. When a read fails, the keys already
// held stay in use.
//
// The read runs without the lock, one at a time: while it runs, a login whose
// key is already held verifies with it at once (a stale set keeps serving until
// the new one arrives), and only a login that needs the new set (the first one,
// or one naming an unknown key id) waits for it, no longer than its request.
type jwks struct {
	url                 string
	name                string
	client              *http.Client
	refresh, minRefresh time.Duration
	metrics             *metrics

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time     // last successful read
	tried    time.Time     // last attempt started
	inflight chan struct{} // closed when the running read ends; nil when none runs
}

// lookup returns the signing keys for kid (all signing keys when kid is empty).
// The error is set only when no key set could ever be read.
func (k *jwks) lookup(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	now := time.Now()
	stale := k.fetched.IsZero() || now.Sub(k.fetched) >= k.refresh
	if stale && (k.fetched.IsZero() || now.Sub(k.tried) >= k.minRefresh) {
		done := k.start(ctx)
		if k.fetched.IsZero() { // nothing to verify with yet
			k.wait(ctx, done)
		}
	}
	found := k.find(kid)
	if len(found) == 0 && kid != "" {
		// An unknown key id: wait for the read under way, or start one.
		if k.inflight != nil || now.Sub(k.tried) >= k.minRefresh {
			k.wait(ctx, k.start(ctx))
			found = k.find(kid)
		}
	}
	ok := !k.fetched.IsZero()
	k.mu.Unlock()
	if !ok {
		return nil, errors.New("JWKS unavailable")
	}
	return found, nil
}

// start starts a read unless one runs, and returns the channel its end closes.
// Called with k.mu held.
func (k *jwks) start(ctx context.Context) chan struct{} {
	if k.inflight != nil {
		return k.inflight
	}
	done := make(chan struct{})
	k.inflight, k.tried = done, time.Now()
	// The read outlives the request that started it: others may be waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	go func() {
		defer cancel()
		keys, err := k.fetch(ctx)
		k.mu.Lock()
		if err == nil {
			k.keys, k.fetched = keys, time.Now()
		}
		k.inflight = nil
		close(done)
		k.mu.Unlock()
	}()
	return done
}

// wait releases k.mu until done is closed or ctx ends, then takes it again.
func (k *jwks) wait(ctx context.Context, done chan struct{}) {
	k.mu.Unlock()
	defer k.mu.Lock()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (k *jwks) find(kid string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, key := range k.keys {
		if (key.Use == "" || key.Use == "sig") && (kid == "" || key.KeyID == kid) {
			out = append(out, key)
		}
	}
	return out
}

// fetch reads the key set (without k.mu) and returns its valid public keys.
func (k *jwks) fetch(ctx context.Context) (keys []jose.JSONWebKey, err error) {
	defer func() {
		result := "ok"
		if err != nil {
			result = "error"
		}
		k.metrics.jwksRefresh(k.name, result)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS %s: HTTP %d", k.url, res.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, err
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("JWKS %s: no keys", k.url)
	}
	for _, key := range set.Keys {
		if key.Valid() && key.IsPublic() {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// failureLimiter counts failed authentications per client address (a token
// bucket each: Burst failures, then one more per Interval); a client address out
// of tokens gets 429 on every request, valid or not, so that a guesser learns
// nothing while blocked.
type failureLimiter struct {
	every rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*failClient
}

type failClient struct {
	lim  *rate.Limiter
	last time.Time
}

// maxTrackedClients bounds the limiter's memory; idle entries are swept first.
const maxTrackedClients = 100_000

func newFailureLimiter(burst int, interval time.Duration) *failureLimiter {
	if burst <= 0 {
		return nil
	}
	return &failureLimiter{every: rate.Every(interval), burst: burst, clients: map[string]*failClient{}}
}

// blocked reports whether addr is out of failures, and when it may retry.
func (f *failureLimiter) blocked(addr string) (time.Duration, bool) {
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[addr]
	now := time.Now()
	if c == nil || c.lim.TokensAt(now) >= 1 {
		return 0, false
	}
	r := c.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return d, true
}

func (f *failureLimiter) fail(addr string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	c := f.clients[addr]
	if c == nil {
		if len(f.clients) >= maxTrackedClients {
			f.sweep(now)
		}
		c = &failClient{lim: rate.NewLimiter(f.every, f.burst)}
		f.clients[addr] = c
	}
	c.lim.AllowN(now, 1)
	c.last = now
}

// sweep forgets clients whose bucket has refilled; if none has, the oldest half.
func (f *failureLimiter) sweep(now time.Time) {
	for k, c := range f.clients {
		if c.lim.TokensAt(now) >= float64(f.burst) {
			delete(f.clients, k)
		}
	}
	if len(f.clients) < maxTrackedClients {
		return
	}
	cut := now.Add(-time.Duration(float64(time.Second) / float64(f.every) * float64(f.burst) / 2))
	for k, c := range f.clients {
		if c.last.Before(cut) {
			delete(f.clients, k)
		}
	}
}

// clientAddr is the address failures are counted against: the peer's IP, or,
// when the peer is a trusted proxy, the right-most X-Forwarded-For address that
// is not a trusted proxy.
func (s *Server) clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		host = ap.Addr().Unmap().String()
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(ip) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		h = h.Unmap()
		if !s.trusted(h) {
			return h.String()
		}
	}
	return host
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// authenticate requires a valid credential on every SCIM endpoint, then checks
// its scope: 401 with WWW-Authenticate (RFC 6750 §3, RFC 7617) when missing or
// invalid, 403 when the credential may not do this, 429 with Retry-After while
// the client address has failed too often.
//
// served are the resource types of the mapping whose router reaches next:
// the request is authorized against the routes it is dispatched through, even
// when a reload has put another mapping in force since (a Bulk request's
// operations keep the mapping it started with).
func (s *Server) authenticate(served []*mapping.ResourceType, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r.Context())
		addr := s.clientAddr(r)
		// An operation of a Bulk request is authenticated with it (bulk.go):
		// neither identified nor rate-limited again.
		id, fail := bulkIdentity(r.Context()), (*authFailure)(nil)
		if id == nil {
			if wait, blocked := s.limiter.blocked(addr); blocked {
				s.metrics.authFailure("rate_limited")
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait.Seconds(), 1)))))
				writeError(w, errorf(429, "", "too many failed authentications from %s; retry later", addr))
				return
			}
			id, fail = s.auth.Load().identify(r)
		}
		if fail != nil {
			s.limiter.fail(addr)
			s.metrics.authFailure(fail.reason)
			s.challenge(w, r, fail)
			writeError(w, errorf(401, "", "%s", fail.detail))
			return
		}
		if info != nil {
			info.identity = id
		}
		if e := authorize(id, r, served); e != nil {
			s.metrics.authFailure("forbidden")
			writeError(w, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// challenge sets WWW-Authenticate for every configured scheme; writeError then
// leaves it alone.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, f *authFailure) {
	bearer, basic := s.auth.Load().schemes()
	h := w.Header()
	// RFC 6750's error attributes describe a bearer token: only then.
	sentBearer := strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ")
	if bearer || !basic {
		v := `Bearer realm="scim2ldap"`
		if f.reason != "missing" && sentBearer {
			v += `, error="invalid_token", error_description="` + f.detail + `"`
		}
		h.Add("WWW-Authenticate", v)
	}
	if basic {
		h.Add("WWW-Authenticate", `Basic realm="scim2ldap", charset="UTF-8"`)
	}
}

// authorize checks id's scope against the request: a credential granted no
// scope may do nothing (not even discovery); writes (POST, PUT, PATCH,
// DELETE, except POST …/.search and POST /Bulk, whose operations are each
// authorized) need read-write; a credential limited to
// resource types may only reach those types' endpoints and discovery (not the
// root /.search, which spans every type). served are the resource types of
// the mapping whose routes serve r.
func authorize(id *Identity, r *http.Request, served []*mapping.ResourceType) *Error {
	rel := strings.TrimPrefix(r.URL.Path, BasePath)
	// POST /Bulk writes nothing itself: each of its operations is authorized
	// as the request it stands for (bulk.go).
	write := isWrite(r) && rel != "/Bulk"
	if id.refused != "" {
		return errorf(403, "", "%s", id.refused) // RFC 6750 §3.1 insufficient_scope
	}
	if write && !id.scope.CanWrite() {
		return errorf(403, "", "credential %q is read-only", id.Name)
	}
	if len(id.scope.ResourceTypes) == 0 {
		return nil
	}
	if rel == "/.search" {
		return errorf(403, "", "credential %q is limited to %s; search their endpoints instead", id.Name, strings.Join(id.scope.ResourceTypes, ", "))
	}
	for _, rt := range served {
		if rel == rt.Endpoint || strings.HasPrefix(rel, rt.Endpoint+"/") {
			for _, allowed := range id.scope.ResourceTypes {
				if strings.EqualFold(allowed, rt.Name) {
					return nil
				}
			}
			return errorf(403, "", "credential %q may not access %s", id.Name, rt.Name)
		}
	}
	return nil // discovery
}

// describeSchemes is for /ServiceProviderConfig's authenticationSchemes.
func (s *Server) describeSchemes() []any {
	var out []any
	bearer, basic := s.auth.Load().schemes()
	if bearer {
		out = append(out, map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "A static bearer token or an OAuth 2.0 access token (JWT) of a configured issuer (RFC 6750).",
			"specUri":     "https://www.rfc-editor.org/info/rfc6750",
		})
	}
	if basic {
		out = append(out, map[string]any{
			"type": "httpbasic", "name": "HTTP Basic", "primary": !bearer,
			"description": "HTTP Basic authentication (RFC 7617) with a configured user.",
			"specUri":     "https://www.rfc-editor.org/info/rfc7617",
		})
	}
	return out
}
