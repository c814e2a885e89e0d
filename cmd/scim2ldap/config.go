package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Config is the gateway's environment (prefix SCIM2LDAP_). These names are a
// public contract: deployment tooling relies on them. README.md, section
// "Configuration", lists each with its default.
type Config struct {
	ListenAddr           string        `envconfig:"LISTEN_ADDR" default:":8080"`
	MappingFile          string        `envconfig:"MAPPING_FILE" default:"mappings.example.yaml"`
	LDAPURL              string        `envconfig:"LDAP_URL"`
	LDAPBindDN           string        `envconfig:"LDAP_BIND_DN"`
	LDAPBindPassword     string        `envconfig:"LDAP_BIND_PASSWORD"`
	LDAPBindPasswordFile string        `envconfig:"LDAP_BIND_PASSWORD_FILE"`
	LDAPStartTLS         bool          `envconfig:"LDAP_STARTTLS"`
	LDAPCAFile           string        `envconfig:"LDAP_CA_FILE"`
	LDAPConns            int           `envconfig:"LDAP_CONNS" default:"4"`
	LDAPTimeout          time.Duration `envconfig:"LDAP_TIMEOUT" default:"10s"`
	BearerTokens         []string      `envconfig:"BEARER_TOKENS"`
	PublicURL            string        `envconfig:"PUBLIC_URL"`
	LogLevel             string        `envconfig:"LOG_LEVEL" default:"info"`

	// Clients (gateway/credentials.go has the credentials file's format).
	BearerTokensFile    string        `envconfig:"BEARER_TOKENS_FILE"` // one token per line
	CredentialsFile     string        `envconfig:"CREDENTIALS_FILE"`
	AuthFailureBurst    int           `envconfig:"AUTH_FAILURE_BURST" default:"10"`
	AuthFailureInterval time.Duration `envconfig:"AUTH_FAILURE_INTERVAL" default:"6s"`
	TrustedProxies      []string      `envconfig:"TRUSTED_PROXIES"` // CIDRs or addresses

	// Inbound TLS.
	TLSCertFile     string `envconfig:"TLS_CERT_FILE"`
	TLSKeyFile      string `envconfig:"TLS_KEY_FILE"`
	TLSClientCAFile string `envconfig:"TLS_CLIENT_CA_FILE"`

	// Limits and timeouts.
	RequestTimeout    time.Duration `envconfig:"REQUEST_TIMEOUT" default:"30s"`
	ReadHeaderTimeout time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"10s"`
	ReadTimeout       time.Duration `envconfig:"READ_TIMEOUT" default:"30s"`
	WriteTimeout      time.Duration `envconfig:"WRITE_TIMEOUT" default:"60s"`
	IdleTimeout       time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s"`
	ShutdownDelay     time.Duration `envconfig:"SHUTDOWN_DELAY" default:"0s"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s"`
	MaxBodyBytes      int64         `envconfig:"MAX_BODY_BYTES" default:"1048576"`
	MaxPageSize       int           `envconfig:"MAX_PAGE_SIZE" default:"1000"`

	// Observability.
	MetricsAddr string `envconfig:"METRICS_ADDR"`
	AuditLog    string `envconfig:"AUDIT_LOG"` // "" (with the request log on stderr), stdout, stderr or a file

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

// loadConfig reads the environment and checks it, naming the variable at fault.
func loadConfig() (*Config, error) {
	var c Config
	if err := envconfig.Process("SCIM2LDAP", &c); err != nil {
		return nil, err
	}
	if c.LDAPURL == "" {
		return nil, errors.New("SCIM2LDAP_LDAP_URL is required (e.g. ldap://127.0.0.1:389)")
	}
	// One URL, or an ordered list of the servers of one replicated directory,
	// separated by spaces or commas: the gateway uses the first that answers.
	if _, err := ldapstore.SplitURLs(c.LDAPURL); err != nil {
		return nil, fmt.Errorf("SCIM2LDAP_LDAP_URL: %w (several servers: separate their URLs with spaces or commas)", err)
	}
	if c.LDAPBindPasswordFile != "" {
		if c.LDAPBindPassword != "" {
			return nil, errors.New("set SCIM2LDAP_LDAP_BIND_PASSWORD or SCIM2LDAP_LDAP_BIND_PASSWORD_FILE, not both")
		}
		b, err := os.ReadFile(c.LDAPBindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE: %w", err)
		}
		c.LDAPBindPassword = strings.TrimRight(string(b), "\r\n")
	}
	c.envTokens = c.BearerTokens
	tokens, err := c.readTokens()
	if err != nil {
		return nil, err
	}
	c.BearerTokens = tokens
	if len(tokens) == 0 && c.CredentialsFile == "" {
		return nil, errors.New("no client credentials: set SCIM2LDAP_BEARER_TOKENS (comma-separated tokens), SCIM2LDAP_BEARER_TOKENS_FILE or SCIM2LDAP_CREDENTIALS_FILE: every SCIM endpoint needs authentication")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, errors.New("set both SCIM2LDAP_TLS_CERT_FILE and SCIM2LDAP_TLS_KEY_FILE, or neither")
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		return nil, errors.New("SCIM2LDAP_TLS_CLIENT_CA_FILE needs SCIM2LDAP_TLS_CERT_FILE and SCIM2LDAP_TLS_KEY_FILE (client certificates need TLS)")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"REQUEST_TIMEOUT", c.RequestTimeout}, {"READ_HEADER_TIMEOUT", c.ReadHeaderTimeout}, {"READ_TIMEOUT", c.ReadTimeout},
		{"WRITE_TIMEOUT", c.WriteTimeout}, {"IDLE_TIMEOUT", c.IdleTimeout}, {"SHUTDOWN_TIMEOUT", c.ShutdownTimeout}, {"LDAP_TIMEOUT", c.LDAPTimeout}} {
		if d.v <= 0 {
			return nil, fmt.Errorf("SCIM2LDAP_%s must be a positive duration such as 30s", d.name)
		}
	}
	if c.WriteTimeout <= c.RequestTimeout {
		return nil, fmt.Errorf("SCIM2LDAP_WRITE_TIMEOUT (%s) must exceed SCIM2LDAP_REQUEST_TIMEOUT (%s), or answers would be cut off", c.WriteTimeout, c.RequestTimeout)
	}
	if c.MaxBodyBytes < 1024 {
		return nil, errors.New("SCIM2LDAP_MAX_BODY_BYTES must be at least 1024")
	}
	if c.MaxPageSize < 1 {
		return nil, errors.New("SCIM2LDAP_MAX_PAGE_SIZE must be at least 1")
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
				return nil, fmt.Errorf("SCIM2LDAP_TRUSTED_PROXIES: %q is neither a CIDR nor an address", p)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, pfx)
	}
	return &c, nil
}
