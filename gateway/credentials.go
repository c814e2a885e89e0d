package gateway

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Credentials are the clients the gateway accepts, each with a name (shown in
// logs, metrics and audit events; never a secret) and a scope. Load them from a
// YAML file with LoadCredentials; the format, with every field:
//
//	tokens:                          # static bearer tokens (Authorization: Bearer <token>)
//	  - name: entra-prod
//	    tokenFile: /run/secrets/entra-token   # or token: "..." (file preferred)
//	    scope: read-write            # read-only | read-write (default read-only)
//	    resourceTypes: [User, Group] # optional: only these types (default: all)
//	    plan: false                  # true: writes are planned, not made (plan mode; default false)
//	basicUsers:                      # HTTP Basic (RFC 7617), as Okta can send
//	  - name: okta
//	    username: okta-provisioning
//	    passwordFile: /run/secrets/okta-password  # or password: "..."
//	    scope: read-write
//	jwtIssuers:                      # OAuth 2.0 bearer JWTs (RFC 9068) checked against the issuer's JWKS
//	  - name: entra-oauth
//	    issuer: https://login.microsoftonline.com/<tenant>/v2.0   # exact "iss"
//	    audiences: [api://scim2ldap] # "aud" must hold one of them (required)
//	    jwksURL: https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys
//	    algorithms: [RS256]          # default: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA
//	    clockSkew: 60s               # leeway on exp/nbf/iat (default 60s)
//	    jwksRefresh: 1h              # re-read the JWKS this often (default 1h)
//	    jwksMinRefresh: 10s          # an unknown "kid" re-reads it at most this often (default 10s)
//	    scope: read-write            # what every valid token gets; or, instead, claimScopes:
//	  - name: entra-app-roles
//	    issuer: https://sts.windows.net/<tenant>/
//	    audiences: [api://scim2ldap]
//	    jwksURL: https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys
//	    claimScopes:                 # the first entry whose claim holds its value gives the scope (plan: true on any that does plans);
//	      - claim: roles             # a token matching none is refused (403); no issuer-wide scope then
//	        value: SCIM.ReadWrite    # exact; a string claim (scp) holds its space-separated values,
//	        scope: read-write        # an array claim (roles) its elements
//	      - {claim: roles, value: SCIM.Read, scope: read-only, resourceTypes: [User]}
//	clientCertificates:              # mTLS (needs SCIM2LDAP_TLS_CLIENT_CA_FILE)
//	  - name: hr-feed
//	    subject: hr-feed.example.org # the verified certificate's CN or one of its DNS/URI SANs
//	    scope: read-only
//
// Relative file names are relative to the credentials file. Secret files may end
// with a newline (ignored).
type Credentials struct {
	Tokens             []TokenCredential `yaml:"tokens"`
	BasicUsers         []BasicCredential `yaml:"basicUsers"`
	JWTIssuers         []JWTIssuer       `yaml:"jwtIssuers"`
	ClientCertificates []CertCredential  `yaml:"clientCertificates"`
}

// Scope is what a credential may do: Scope is "read-only" (default) or
// "read-write"; ResourceTypes, when not empty, limits it to those resource types
// (by name, e.g. "User"); Plan, when true, puts its writes in plan mode: they
// are computed and answered as real ones but not sent to the directory (see
// plan.go). Plan needs Scope read-write: Check refuses it on a read-only
// scope, whose writes are refused (403) before anything is planned.
type Scope struct {
	Scope         string   `yaml:"scope"`
	ResourceTypes []string `yaml:"resourceTypes"`
	Plan          bool     `yaml:"plan"`
}

// CanWrite reports whether the scope is read-write.
func (s Scope) CanWrite() bool { return s.Scope == "read-write" }

// scopeName is a scope as an error names it: "" is "read-only (the default)".
func scopeName(scope string) string {
	if scope == "" {
		return "read-only (the default)"
	}
	return scope
}

// TokenCredential is a static bearer token.
type TokenCredential struct {
	Name      string `yaml:"name"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"tokenFile"`
	Scope     `yaml:",inline"`
}

// BasicCredential is an HTTP Basic user.
type BasicCredential struct {
	Name         string `yaml:"name"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
	Scope        `yaml:",inline"`
}

// JWTIssuer accepts JWTs signed by a key of the issuer's JWKS.
type JWTIssuer struct {
	Name           string   `yaml:"name"`
	Issuer         string   `yaml:"issuer"`
	Audiences      []string `yaml:"audiences"`
	JWKSURL        string   `yaml:"jwksURL"`
	Algorithms     []string `yaml:"algorithms"`
	ClockSkew      string   `yaml:"clockSkew"`
	JWKSRefresh    string   `yaml:"jwksRefresh"`
	JWKSMinRefresh string   `yaml:"jwksMinRefresh"`
	// ClaimScopes, when set, take the scope from the token's claims instead of
	// Scope: the first entry whose claim holds its value (see claimHolds).
	ClaimScopes []ClaimScope `yaml:"claimScopes"`
	Scope       `yaml:",inline"`
}

// ClaimScope grants Scope to a JWT whose claim Claim holds Value (e.g. Entra
// ID's app role SCIM.ReadWrite in "roles", or an OAuth scope in "scp").
type ClaimScope struct {
	Claim string `yaml:"claim"`
	Value string `yaml:"value"`
	Scope `yaml:",inline"`
}

// durations parses ClockSkew (default 60s), JWKSRefresh (default 1h) and
// JWKSMinRefresh (default 10s).
func (j *JWTIssuer) durations() (skew, refresh, minRefresh time.Duration, err error) {
	parse := func(key, val string, def time.Duration) time.Duration {
		if val == "" {
			return def
		}
		v, perr := time.ParseDuration(val)
		if perr != nil || v < 0 {
			err = fmt.Errorf("%s must be a duration such as 30s or 1h, not %q", key, val)
			return def
		}
		return v
	}
	skew = parse("clockSkew", j.ClockSkew, time.Minute)
	refresh = parse("jwksRefresh", j.JWKSRefresh, time.Hour)
	minRefresh = parse("jwksMinRefresh", j.JWKSMinRefresh, 10*time.Second)
	return
}

// CertCredential is a client certificate, verified against the client CA.
type CertCredential struct {
	Name    string `yaml:"name"`
	Subject string `yaml:"subject"`
	Scope   `yaml:",inline"`
}

// Empty reports whether no credential is configured.
func (c *Credentials) Empty() bool {
	return c == nil || len(c.Tokens)+len(c.BasicUsers)+len(c.JWTIssuers)+len(c.ClientCertificates) == 0
}

// LoadCredentials reads a credentials file (format: see Credentials), reads the
// secret files it names and checks it. Errors name the file and the entry; they
// never contain a secret.
func LoadCredentials(path string) (*Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	var c Credentials
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.DisallowUnknownField()); err != nil {
		// goccy's message quotes the offending line; it is the caller's own file.
		return nil, fmt.Errorf("credentials file %s: %s", path, yaml.FormatError(err, false, true))
	}
	dir := filepath.Dir(path)
	for i := range c.Tokens {
		t := &c.Tokens[i]
		if t.Token, err = secret(t.Token, t.TokenFile, dir, "token", "tokenFile"); err != nil {
			return nil, fmt.Errorf("credentials file %s: tokens[%d] %q: %w", path, i, t.Name, err)
		}
	}
	for i := range c.BasicUsers {
		b := &c.BasicUsers[i]
		if b.Password, err = secret(b.Password, b.PasswordFile, dir, "password", "passwordFile"); err != nil {
			return nil, fmt.Errorf("credentials file %s: basicUsers[%d] %q: %w", path, i, b.Name, err)
		}
	}
	if err := c.Check(nil); err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return &c, nil
}

func secret(inline, file, dir, inlineKey, fileKey string) (string, error) {
	if inline != "" && file != "" {
		return "", fmt.Errorf("set %s or %s, not both", inlineKey, fileKey)
	}
	if file == "" {
		return inline, nil
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileKey, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// secureKeyURL accepts https:// URLs, and http:// only to a loopback address
// (a local sidecar or a test issuer).
func secureKeyURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Check validates the credentials: unique non-empty names, valid scopes, the
// fields each kind needs, durations; with m, resource type names must exist in
// the mapping.
func (c *Credentials) Check(m *mapping.Mapping) error {
	if c == nil {
		return nil
	}
	var errs []error
	names := map[string]bool{}
	var checkScope func(where, name string, sc Scope)
	check := func(kind string, i int, name string, sc Scope) {
		where := fmt.Sprintf("%s[%d]", kind, i)
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("%s: name is required (it names the client in logs, metrics and audit events)", where))
		case names[name]:
			errs = append(errs, fmt.Errorf("%s: name %q is used twice", where, name))
		}
		names[name] = true
		checkScope(where, name, sc)
	}
	checkScope = func(where, name string, sc Scope) {
		if sc.Scope != "" && sc.Scope != "read-only" && sc.Scope != "read-write" {
			errs = append(errs, fmt.Errorf("%s %q: scope must be read-only or read-write, not %q", where, name, sc.Scope))
		}
		if sc.Plan && (sc.Scope == "" || sc.Scope == "read-only") { // another scope is refused above
			// A read-only credential's writes are 403 before anything is
			// computed: its plan: true would plan nothing, and an admin who
			// set it meant a staging credential that plans (read-write).
			errs = append(errs, fmt.Errorf("%s %q: plan: true needs scope: read-write (the scope is %s; a read-only credential's writes are refused with 403 before anything is planned)", where, name, scopeName(sc.Scope)))
		}
		if m != nil {
			for _, rt := range sc.ResourceTypes {
				if !slices.ContainsFunc(m.Types, func(t *mapping.ResourceType) bool { return strings.EqualFold(t.Name, rt) }) {
					errs = append(errs, fmt.Errorf("%s %q: resource type %q is not in the mapping", where, name, rt))
				}
			}
		}
	}
	for i, t := range c.Tokens {
		check("tokens", i, t.Name, t.Scope)
		if len(t.Token) < 16 {
			errs = append(errs, fmt.Errorf("tokens[%d] %q: the token must be at least 16 characters (e.g. openssl rand -hex 32)", i, t.Name))
		}
	}
	for i, b := range c.BasicUsers {
		check("basicUsers", i, b.Name, b.Scope)
		if b.Username == "" || strings.Contains(b.Username, ":") {
			errs = append(errs, fmt.Errorf("basicUsers[%d] %q: username is required and may not contain ':'", i, b.Name))
		}
		if len(b.Password) < 16 {
			errs = append(errs, fmt.Errorf("basicUsers[%d] %q: the password must be at least 16 characters", i, b.Name))
		}
	}
	for i := range c.JWTIssuers {
		j := &c.JWTIssuers[i]
		issuerScope := j.Scope
		if len(j.ClaimScopes) > 0 {
			issuerScope.Plan = false // refused below: plan: true goes on a claimScopes entry
		}
		check("jwtIssuers", i, j.Name, issuerScope)
		if j.Issuer == "" || j.JWKSURL == "" || len(j.Audiences) == 0 {
			errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: issuer, audiences and jwksURL are required", i, j.Name))
		}
		if j.JWKSURL != "" && !secureKeyURL(j.JWKSURL) {
			// Whoever can change the key set in transit can forge tokens.
			errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: jwksURL must be an https:// URL (plain http:// only on loopback)", i, j.Name))
		}
		for _, a := range j.Algorithms {
			if !slices.Contains(defaultJWTAlgorithms, a) {
				errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: algorithm %q is not one of %s", i, j.Name, a, strings.Join(defaultJWTAlgorithms, " ")))
			}
		}
		if _, _, _, err := j.durations(); err != nil {
			errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: %w", i, j.Name, err))
		}
		if first := slices.IndexFunc(c.JWTIssuers[:i], func(o JWTIssuer) bool { return o.Issuer == j.Issuer }); first >= 0 {
			// fromJWT takes the first entry of a token's issuer: this one would never be used.
			errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: issuer %q is also jwtIssuers[%d]'s, and a token is matched to the first entry of its issuer; tell the apps of one issuer apart with claimScopes (plan: true goes on an entry)", i, j.Name, j.Issuer, first))
		}
		if len(j.ClaimScopes) > 0 && (j.Scope.Scope != "" || len(j.ResourceTypes) > 0 || j.Plan) {
			// Two sources of scope would leave open which one a token without the claim gets.
			errs = append(errs, fmt.Errorf("jwtIssuers[%d] %q: set scope/resourceTypes/plan or claimScopes, not both (with claimScopes a token matching no entry is refused; plan: true goes on a claimScopes entry)", i, j.Name))
		}
		for ci, c := range j.ClaimScopes {
			where := fmt.Sprintf("jwtIssuers[%d].claimScopes[%d]", i, ci)
			if c.Claim == "" || c.Value == "" {
				errs = append(errs, fmt.Errorf("%s %q: claim and value are required (e.g. claim: roles, value: SCIM.ReadWrite)", where, j.Name))
			}
			checkScope(where, j.Name, c.Scope)
		}
	}
	for i, cc := range c.ClientCertificates {
		check("clientCertificates", i, cc.Name, cc.Scope)
		if cc.Subject == "" {
			errs = append(errs, fmt.Errorf("clientCertificates[%d] %q: subject is required", i, cc.Name))
		}
	}
	return errors.Join(errs...)
}

// sharedSecrets refuses a bearer token, or a Basic user name and password,
// given to two credentials (SCIM2LDAP_BEARER_TOKENS and the credentials file
// alike): a request with it would get one of their scopes by their order, a
// staging copy with plan: true the writing one's. The error names the
// credentials, never the secret.
func sharedSecrets(tokens []string, c *Credentials) error {
	var errs []error
	seen := map[[32]byte]string{}
	note := func(secret, name string) {
		sum := sha256.Sum256([]byte(secret))
		if other, ok := seen[sum]; ok {
			errs = append(errs, fmt.Errorf("%s has the same secret as %s: a request with it would get the scope (and plan mode or not) of one of them by their order; give each credential its own", name, other))
			return
		}
		seen[sum] = name
	}
	for i, t := range tokens {
		note(t, fmt.Sprintf("bearer token %d of SCIM2LDAP_BEARER_TOKENS", i+1))
	}
	if c != nil {
		for i, t := range c.Tokens {
			note(t.Token, fmt.Sprintf("tokens[%d] %q", i, t.Name))
		}
		for i, b := range c.BasicUsers {
			note("basic:"+b.Username+":"+b.Password, fmt.Sprintf("basicUsers[%d] %q", i, b.Name))
		}
	}
	return errors.Join(errs...)
}
