// Command scim2ldap is a SCIM 2.0 (RFC 7643/7644) to LDAP gateway.
//
//	scim2ldap serve                      run the gateway (configured from SCIM2LDAP_* variables)
//	scim2ldap mapping check FILE...      validate mapping files; problems as file:line:col: message
//	scim2ldap filter [--mapping FILE] [--type User] 'FILTER'   the LDAP filter a SCIM filter becomes
//	scim2ldap version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

var version = "dev"

const usage = `scim2ldap — a SCIM 2.0 to LDAP gateway

Usage:
  scim2ldap serve                    run the gateway; configuration from the environment:
      SCIM2LDAP_LISTEN_ADDR              listen address (default :8080)
      SCIM2LDAP_MAPPING_FILE             mapping file (default mappings.example.yaml)
      SCIM2LDAP_LDAP_URL                 ldap://host:port or ldaps://host:port (required)
      SCIM2LDAP_LDAP_BIND_DN             bind DN (empty: anonymous)
      SCIM2LDAP_LDAP_BIND_PASSWORD       bind password, or
      SCIM2LDAP_LDAP_BIND_PASSWORD_FILE  a file holding it (trailing newline ignored)
      SCIM2LDAP_LDAP_STARTTLS            true: StartTLS on an ldap:// URL
      SCIM2LDAP_LDAP_CA_FILE             PEM CA bundle for the directory's certificate
      SCIM2LDAP_BEARER_TOKENS            accepted bearer tokens, comma-separated (required)
      SCIM2LDAP_PUBLIC_URL               absolute URL clients use (default: from each request)
      SCIM2LDAP_LOG_LEVEL                debug, info (default), warn, error
  scim2ldap mapping check [--ldap-url URL ...] FILE...
                                     validate mapping files; every problem as file:line:col: message; with
                                     --ldap-url, also against the live directory's schema (cn=Subschema)
  scim2ldap mapping explain [--mapping FILE] [--type User] INPUT
                                     dry run: a SCIM resource (JSON) as the LDIF entry it becomes, or LDIF as SCIM
  scim2ldap filter [--mapping FILE] [--type User] 'SCIM FILTER'
                                     print the LDAP filter the gateway sends for it (offline; see filter.go)
  scim2ldap version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(stderr)
	case "mapping":
		if len(args) >= 2 && args[1] == "check" {
			return mappingCheck(args[2:], stdout, stderr)
		}
		if len(args) >= 2 && args[1] == "explain" {
			return explainCmd(args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: scim2ldap mapping check FILE...\n       scim2ldap mapping explain [--mapping FILE] [--type User] INPUT\n")
		return 2
	case "filter":
		return filterCmd(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "scim2ldap", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "scim2ldap: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// Config is the gateway's environment (prefix SCIM2LDAP_). These names are a
// public contract: deployment tooling relies on them.
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
	var tokens []string
	for _, t := range c.BearerTokens {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	c.BearerTokens = tokens
	if len(tokens) == 0 {
		return nil, errors.New("SCIM2LDAP_BEARER_TOKENS is required: every SCIM endpoint needs a bearer token (comma-separate several)")
	}
	return &c, nil
}

func serve(stderr io.Writer) int {
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig()
	if err != nil {
		log.Error().Err(err).Msg("configuration")
		return 1
	}
	if lvl, err := zerolog.ParseLevel(cfg.LogLevel); err == nil {
		log = log.Level(lvl)
	}
	m, err := mapping.Load(cfg.MappingFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		log.Error().Str("file", cfg.MappingFile).Msg("the mapping file has problems; see above (scim2ldap mapping check)")
		return 1
	}
	store, err := ldapstore.Open(ldapstore.Config{
		URL: cfg.LDAPURL, BindDN: cfg.LDAPBindDN, BindPassword: cfg.LDAPBindPassword,
		StartTLS: cfg.LDAPStartTLS, CAFile: cfg.LDAPCAFile, Conns: cfg.LDAPConns, Timeout: cfg.LDAPTimeout,
	})
	if err != nil {
		log.Error().Err(err).Msg("directory")
		return 1
	}
	defer store.Close()
	srv := &http.Server{
		Addr: cfg.ListenAddr,
		Handler: gateway.New(gateway.Config{
			Mapping: m, Store: store, Log: log, Tokens: cfg.BearerTokens, PublicURL: cfg.PublicURL,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info().Str("listen", cfg.ListenAddr).Str("base_path", gateway.BasePath).Str("ldap", cfg.LDAPURL).
		Str("mapping", cfg.MappingFile).Int("tokens", len(cfg.BearerTokens)).Msg("scim2ldap serving")
	select {
	case err := <-errc:
		log.Error().Err(err).Msg("listen")
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	log.Info().Msg("stopped")
	return 0
}
