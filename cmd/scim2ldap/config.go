package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/kelseyhightower/envconfig"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Config is the gateway's environment (prefix SCIM2LDAP_). These names are a
// public contract: deployment tooling relies on them. `scim2ldap serve --help`
// prints each with its type, default and description, generated from this
// struct's tags (envconfig.Usaget): keep `desc` short and say the unit.
type Config struct {
	ListenAddr           string        `envconfig:"LISTEN_ADDR" default:":8080" desc:"address the SCIM API listens on"`
	MappingFile          string        `envconfig:"MAPPING_FILE" default:"mappings.example.yaml" desc:"the mapping file (scim2ldap mapping check FILE)"`
	LDAPURL              string        `envconfig:"LDAP_URL" desc:"the directory: ldap://host:389 or ldaps://host:636, or its servers in order separated by spaces or commas (required)"`
	LDAPBindDN           string        `envconfig:"LDAP_BIND_DN" desc:"the gateway's service account; empty binds anonymously (a warning)"`
	LDAPBindPassword     string        `envconfig:"LDAP_BIND_PASSWORD" desc:"its password (or LDAP_BIND_PASSWORD_FILE); never logged"`
	LDAPBindPasswordFile string        `envconfig:"LDAP_BIND_PASSWORD_FILE" desc:"file holding the bind password (a trailing newline is dropped)"`
	LDAPStartTLS         bool          `envconfig:"LDAP_STARTTLS" desc:"StartTLS on an ldap:// URL"`
	LDAPCAFile           string        `envconfig:"LDAP_CA_FILE" desc:"PEM CA bundle that verifies the directory's certificate; empty: system roots"`
	LDAPConns            int           `envconfig:"LDAP_CONNS" default:"4" desc:"shared LDAP connections"`
	LDAPTimeout          time.Duration `envconfig:"LDAP_TIMEOUT" default:"10s" desc:"per LDAP operation and dial"`
	BearerTokens         []string      `envconfig:"BEARER_TOKENS" desc:"comma-separated read-write bearer tokens (openssl rand -hex 32)"`
	PublicURL            string        `envconfig:"PUBLIC_URL" desc:"base URL clients use, e.g. https://scim.example.org; empty: from each request"`
	LogLevel             string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	Mode                 string        `envconfig:"MODE" desc:"apply (empty: the default) writes to the directory; plan computes every write, answers it and logs it as LDIF, and sends none"`

	// Clients (gateway/credentials.go has the credentials file's format).
	BearerTokensFile    string        `envconfig:"BEARER_TOKENS_FILE" desc:"file of bearer tokens, one per line; re-read on SIGHUP"`
	CredentialsFile     string        `envconfig:"CREDENTIALS_FILE" desc:"named credentials with scopes (tokens, JWT issuers, mTLS); re-read on SIGHUP"`
	AuthFailureBurst    int           `envconfig:"AUTH_FAILURE_BURST" default:"10" desc:"failed authentications allowed per client address before 429; <0 disables"`
	AuthFailureInterval time.Duration `envconfig:"AUTH_FAILURE_INTERVAL" default:"6s" desc:"then one more per interval"`
	TrustedProxies      []string      `envconfig:"TRUSTED_PROXIES" desc:"comma-separated CIDRs or addresses whose X-Forwarded-For is believed"`

	// Inbound TLS.
	TLSCertFile     string `envconfig:"TLS_CERT_FILE" desc:"PEM certificate for HTTPS (with TLS_KEY_FILE); re-read when it changes"`
	TLSKeyFile      string `envconfig:"TLS_KEY_FILE" desc:"its PEM private key"`
	TLSClientCAFile string `envconfig:"TLS_CLIENT_CA_FILE" desc:"PEM CA bundle for client certificates (mTLS credentials)"`

	// Limits and timeouts.
	RequestTimeout     time.Duration `envconfig:"REQUEST_TIMEOUT" default:"30s" desc:"each request's deadline, LDAP work included"`
	ReadHeaderTimeout  time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"10s" desc:"HTTP server: reading request headers"`
	ReadTimeout        time.Duration `envconfig:"READ_TIMEOUT" default:"30s" desc:"HTTP server: reading a whole request"`
	WriteTimeout       time.Duration `envconfig:"WRITE_TIMEOUT" default:"60s" desc:"HTTP server: writing a response; must exceed REQUEST_TIMEOUT"`
	IdleTimeout        time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s" desc:"HTTP server: keep-alive idle time"`
	ShutdownDelay      time.Duration `envconfig:"SHUTDOWN_DELAY" default:"0s" desc:"on SIGTERM, time /readyz fails before new connections are refused"`
	ShutdownTimeout    time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"then, time in-flight requests get to finish"`
	MaxBodyBytes       int64         `envconfig:"MAX_BODY_BYTES" default:"1048576" desc:"largest request body in bytes (larger: 413); at least 1024"`
	MaxPageSize        int           `envconfig:"MAX_PAGE_SIZE" default:"1000" desc:"largest count a list request gets"`
	BulkMaxOperations  int           `envconfig:"BULK_MAX_OPERATIONS" default:"1000" desc:"most operations in one POST /Bulk (more: 413)"`
	BulkMaxPayloadSize int64         `envconfig:"BULK_MAX_PAYLOAD_SIZE" default:"1048576" desc:"largest POST /Bulk body in bytes (larger: 413); at least 1024"`
	ListMemoryBytes    int64         `envconfig:"LIST_MEMORY_BYTES" desc:"bytes the list pages being served may hold at once (beyond: they wait, then 503); default a quarter of the Go memory limit"`

	// Observability.
	MetricsAddr string `envconfig:"METRICS_ADDR" desc:"separate address for /metrics, /healthz, /readyz; empty: on LISTEN_ADDR"`
	AuditLog    string `envconfig:"AUDIT_LOG" desc:"audit events: empty (the request log on stderr), stdout, stderr or a file"`
	CPUProfile  string `envconfig:"CPU_PROFILE" desc:"write a CPU profile of the whole run to this file at exit (go tool pprof)"`

	trustedProxies []netip.Prefix
	envTokens      []string // SCIM2LDAP_BEARER_TOKENS as given (BearerTokens adds the file's)
}

// readTokens returns the static bearer tokens: SCIM2LDAP_BEARER_TOKENS's, then
// SCIM2LDAP_BEARER_TOKENS_FILE's (one per line; blank lines and # comments
// skipped), read now: SIGHUP calls it again to rotate them.
func (c *Config) readTokens() ([]string, error) {
	var tokens []string
	for _, t := range c.envTokens {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	if c.BearerTokensFile != "" {
		b, err := os.ReadFile(c.BearerTokensFile)
		if err != nil {
			return nil, fmt.Errorf("SCIM2LDAP_BEARER_TOKENS_FILE: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				tokens = append(tokens, t)
			}
		}
	}
	return tokens, nil
}

// listMemory is SCIM2LDAP_LIST_MEMORY_BYTES, by default a quarter of the Go
// memory limit in force (see setMemoryLimit): the rest is the gateway's own
// working set, the other requests' and the collector's headroom.
func (c *Config) listMemory() int64 {
	if c.ListMemoryBytes > 0 {
		return c.ListMemoryBytes
	}
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 {
		return limit / 4
	}
	return 0
}

// envPrefix is the prefix of every variable Config reads.
const envPrefix = "SCIM2LDAP"

// loadConfig reads the environment and checks it. The error lists every
// problem found, one per line, each naming its variable (errors.Join), so an
// admin fixes them in one round. Secrets are never part of an error.
func loadConfig() (*Config, error) {
	c, errs := parseEnv()
	if c == nil {
		return nil, errors.Join(errs...)
	}
	errs = append(errs, c.check()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parseEnv runs envconfig.Process and, on a value that doesn't parse, goes on
// without that variable so every such value is reported, not only the first.
// The variables it sets aside are restored before it returns. c is nil only
// when the struct itself is wrong (a programming error).
func parseEnv() (c *Config, errs []error) {
	restore := map[string]string{}
	defer func() {
		for k, v := range restore {
			os.Setenv(k, v)
		}
	}()
	for range 64 { // at most one round per field
		c = &Config{}
		err := envconfig.Process(envPrefix, c)
		var pe *envconfig.ParseError
		if !errors.As(err, &pe) {
			if err != nil {
				return nil, append(errs, err)
			}
			return c, errs
		}
		// envconfig falls back to the name without the prefix (LDAP_CONNS for
		// SCIM2LDAP_LDAP_CONNS): the value may have come from there.
		name := pe.KeyName
		if _, ok := os.LookupEnv(name); !ok {
			name = strings.TrimPrefix(name, envPrefix+"_")
		}
		if _, ok := os.LookupEnv(name); !ok {
			return c, append(errs, err) // can't happen: the value came from somewhere
		}
		errs = append(errs, fmt.Errorf("%s: %q is not a valid %s%s", name, pe.Value, typeHint(pe.TypeName), exampleFor(pe.TypeName)))
		restore[name] = os.Getenv(name)
		os.Unsetenv(name)
	}
	return c, errs
}

func typeHint(t string) string {
	switch t {
	case "time.Duration", "Duration":
		return "duration"
	case "bool":
		return "boolean"
	}
	return t
}

func exampleFor(t string) string {
	switch t {
	case "time.Duration", "Duration":
		return " (e.g. 30s, 2m)"
	case "bool":
		return " (true or false)"
	case "int", "int64":
		return " (a whole number)"
	}
	return ""
}

// check reads the files the configuration names (bind password, tokens) and
// returns every problem of the values: missing required ones, placeholders,
// contradictions and out-of-range numbers.
func (c *Config) check() []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.ListMemoryBytes < 0 {
		fail("SCIM2LDAP_LIST_MEMORY_BYTES is %d; want a number of bytes, or 0 for a quarter of the Go memory limit", c.ListMemoryBytes)
	}
	if c.LDAPURL == "" {
		fail("SCIM2LDAP_LDAP_URL is required (e.g. ldap://127.0.0.1:389)")
	} else if _, err := ldapstore.SplitURLs(c.LDAPURL); err != nil {
		// One URL, or an ordered list of the servers of one replicated
		// directory: the gateway uses the first that answers.
		fail("SCIM2LDAP_LDAP_URL: %w (several servers: separate their URLs with spaces or commas)", err)
	}
	if c.LDAPBindPasswordFile != "" {
		if c.LDAPBindPassword != "" {
			fail("set SCIM2LDAP_LDAP_BIND_PASSWORD or SCIM2LDAP_LDAP_BIND_PASSWORD_FILE, not both")
		} else if b, err := os.ReadFile(c.LDAPBindPasswordFile); err != nil {
			fail("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE: %w", err)
		} else {
			c.LDAPBindPassword = strings.TrimRight(string(b), "\r\n")
		}
	}
	if isPlaceholder(c.LDAPBindPassword) {
		fail("the LDAP bind password is a placeholder (%s…): set the service account's real password", placeholderPrefix)
	}
	if c.LDAPBindDN != "" && c.LDAPBindPassword == "" {
		fail("SCIM2LDAP_LDAP_BIND_DN is set without a password: set SCIM2LDAP_LDAP_BIND_PASSWORD or SCIM2LDAP_LDAP_BIND_PASSWORD_FILE")
	}
	c.envTokens = c.BearerTokens
	tokens, err := c.readTokens()
	if err != nil {
		errs = append(errs, err)
	}
	c.BearerTokens = tokens
	for i, t := range tokens {
		if isPlaceholder(t) {
			fail("bearer token %d (SCIM2LDAP_BEARER_TOKENS or SCIM2LDAP_BEARER_TOKENS_FILE) is a placeholder (%s…): generate one with openssl rand -hex 32", i+1, placeholderPrefix)
		}
	}
	if len(tokens) == 0 && c.CredentialsFile == "" && err == nil {
		fail("no client credentials: set SCIM2LDAP_BEARER_TOKENS (comma-separated tokens), SCIM2LDAP_BEARER_TOKENS_FILE or SCIM2LDAP_CREDENTIALS_FILE: every SCIM endpoint needs authentication")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		fail("set both SCIM2LDAP_TLS_CERT_FILE and SCIM2LDAP_TLS_KEY_FILE, or neither")
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		fail("SCIM2LDAP_TLS_CLIENT_CA_FILE needs SCIM2LDAP_TLS_CERT_FILE and SCIM2LDAP_TLS_KEY_FILE (client certificates need TLS)")
	}
	positive := true
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"REQUEST_TIMEOUT", c.RequestTimeout}, {"READ_HEADER_TIMEOUT", c.ReadHeaderTimeout}, {"READ_TIMEOUT", c.ReadTimeout},
		{"WRITE_TIMEOUT", c.WriteTimeout}, {"IDLE_TIMEOUT", c.IdleTimeout}, {"SHUTDOWN_TIMEOUT", c.ShutdownTimeout}, {"LDAP_TIMEOUT", c.LDAPTimeout}} {
		if d.v <= 0 {
			fail("SCIM2LDAP_%s must be a positive duration such as 30s", d.name)
			positive = false
		}
	}
	if positive && c.WriteTimeout <= c.RequestTimeout {
		fail("SCIM2LDAP_WRITE_TIMEOUT (%s) must exceed SCIM2LDAP_REQUEST_TIMEOUT (%s), or answers would be cut off", c.WriteTimeout, c.RequestTimeout)
	}
	if c.MaxBodyBytes < 1024 {
		fail("SCIM2LDAP_MAX_BODY_BYTES must be at least 1024")
	}
	if c.MaxPageSize < 1 {
		fail("SCIM2LDAP_MAX_PAGE_SIZE must be at least 1")
	}
	if c.BulkMaxOperations < 1 {
		fail("SCIM2LDAP_BULK_MAX_OPERATIONS must be at least 1")
	}
	if c.BulkMaxPayloadSize < 1024 {
		fail("SCIM2LDAP_BULK_MAX_PAYLOAD_SIZE must be at least 1024")
	}
	if c.LDAPConns < 1 {
		fail("SCIM2LDAP_LDAP_CONNS must be at least 1")
	}
	if c.Mode != "" && c.Mode != "apply" && c.Mode != "plan" {
		fail("SCIM2LDAP_MODE must be apply (the default) or plan, not %q", c.Mode)
	}
	for _, p := range c.TrustedProxies {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				fail("SCIM2LDAP_TRUSTED_PROXIES: %q is neither a CIDR nor an address", p)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, pfx)
	}
	return errs
}

// placeholderPrefix starts the placeholder secrets that example manifests
// ship (deploy/kubernetes/secret.yaml): "CHANGE-ME", "CHANGE-ME-openssl-rand-hex-32".
const placeholderPrefix = "CHANGE-ME"

// isPlaceholder reports whether a secret is an example's placeholder, not a
// real value: it starts with CHANGE-ME, CHANGE_ME or CHANGEME in any case.
// A gateway that took one would accept a credential printed in public manifests.
func isPlaceholder(secret string) bool {
	s := strings.ToUpper(strings.TrimSpace(secret))
	return strings.HasPrefix(s, "CHANGE-ME") || strings.HasPrefix(s, "CHANGE_ME") || strings.HasPrefix(s, "CHANGEME")
}

// placeholderCredentials names each token and Basic password of a credentials
// file that is a placeholder (isPlaceholder), by the credential's name: the
// example Secret's tokenFile holds one.
func placeholderCredentials(creds *gateway.Credentials) error {
	var errs []error
	for _, t := range creds.Tokens {
		if isPlaceholder(t.Token) {
			errs = append(errs, fmt.Errorf("token %q is a placeholder (%s…): generate one with openssl rand -hex 32", t.Name, placeholderPrefix))
		}
	}
	for _, b := range creds.BasicUsers {
		if isPlaceholder(b.Password) {
			errs = append(errs, fmt.Errorf("basic user %q has a placeholder password (%s…): set a real one", b.Name, placeholderPrefix))
		}
	}
	return errors.Join(errs...)
}

// testVariables are SCIM2LDAP_* variables the test suites read, not the
// gateway: serve does not warn about them.
var testVariables = []string{"SCIM2LDAP_SKIP_LDAP", "SCIM2LDAP_REQUIRE_AD", "SCIM2LDAP_MODEL_COMMANDS"}

// knownVariables returns every variable Config reads, from its struct tags
// (the list serve --help prints).
func knownVariables() []string {
	var b strings.Builder
	tmpl := template.Must(template.New("keys").Parse(`{{range .}}{{.Key}}{{"\n"}}{{end}}`))
	if err := envconfig.Usaget(envPrefix, &Config{}, &b, tmpl); err != nil {
		panic(err) // the struct is ours: a bad tag is a programming error
	}
	return strings.Fields(b.String())
}

// configWarnings returns a warning for each SCIM2LDAP_* variable of environ
// that no setting reads (with the closest known name when one is near: a typo
// such as SCIM2LDAP_LDAP_BINDDN would otherwise be ignored without a word), and
// for an anonymous bind. Values are never part of a warning.
func configWarnings(c *Config, environ []string) []string {
	known := knownVariables()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") || slices.Contains(known, name) || slices.Contains(testVariables, name) {
			continue
		}
		out = append(out, fmt.Sprintf("%s is not a setting of scim2ldap and is ignored%s (scim2ldap serve --help lists them all)", name, closest(name, known)))
	}
	sort.Strings(out)
	if c != nil && c.LDAPBindDN == "" {
		out = append(out, "SCIM2LDAP_LDAP_BIND_DN is empty: the gateway binds anonymously, and most directories let an anonymous client read little and write nothing; set SCIM2LDAP_LDAP_BIND_DN and SCIM2LDAP_LDAP_BIND_PASSWORD to the service account")
	}
	return out
}

// closest returns ` (did you mean "NAME"?)` for the known name nearest to name
// by Levenshtein distance, when it is within a third of name's length; else "".
func closest(name string, known []string) string {
	best, bestD := "", len(name)/3+1
	for _, k := range known {
		if d := levenshtein.ComputeDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// refusedInPlanMode is why a command refuses its option flag, which writes to
// the directory, when it is set (on) and so is SCIM2LDAP_MODE=plan: that is a
// plan-mode gateway's environment, which promises that nothing is written;
// "" when it doesn't.
func refusedInPlanMode(on bool, flag string) string {
	if !on || os.Getenv("SCIM2LDAP_MODE") != "plan" {
		return ""
	}
	return flag + " writes to the directory, and SCIM2LDAP_MODE=plan is set, which sends no write; run without " + flag + ", or unset SCIM2LDAP_MODE"
}
