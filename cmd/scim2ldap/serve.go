package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/preflight"
)

// serveCtx runs the gateway until ctx ends (SIGTERM/SIGINT), then drains: /readyz
// fails, after SCIM2LDAP_SHUTDOWN_DELAY new connections are refused and in-flight
// requests finish (up to SCIM2LDAP_SHUTDOWN_TIMEOUT). started, if not nil, gets
// the bound addresses (ops is nil without SCIM2LDAP_METRICS_ADDR). Exit code 0
// after a clean drain, 1 on a start-up error.
func serveCtx(ctx context.Context, cfg *Config, log zerolog.Logger, stderr io.Writer, started func(main, ops net.Addr)) int {
	if lvl, err := zerolog.ParseLevel(cfg.LogLevel); err == nil {
		log = log.Level(lvl)
	}
	build := currentBuild()
	m, err := mapping.Load(cfg.MappingFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		log.Error().Str("file", cfg.MappingFile).Msg("the mapping file has problems; see above (scim2ldap mapping check)")
		return 1
	}
	creds, err := loadCredentialsFile(cfg)
	if err == nil {
		err = gateway.CheckCredentials(m, cfg.BearerTokens, creds)
	}
	if err != nil {
		log.Error().Err(err).Msg("client credentials")
		return 1
	}
	audit, closeAudit, err := openAudit(cfg.AuditLog)
	if err != nil {
		log.Error().Err(err).Msg("SCIM2LDAP_AUDIT_LOG")
		return 1
	}
	defer closeAudit()
	var tlsCfg *tls.Config
	if cfg.TLSCertFile != "" {
		if tlsCfg, err = serverTLS(cfg, log); err != nil {
			log.Error().Err(err).Msg("TLS")
			return 1
		}
	}
	store, err := ldapstore.Open(ldapstore.Config{
		URL: cfg.LDAPURL, BindDN: cfg.LDAPBindDN, BindPassword: cfg.LDAPBindPassword,
		StartTLS: cfg.LDAPStartTLS, CAFile: cfg.LDAPCAFile, Conns: cfg.LDAPConns, Timeout: cfg.LDAPTimeout,
		StartUnreachable: true, // start not ready while the directory is down; a pod started during an outage must not crash-loop
		PlanOnly:         cfg.Mode == "plan",
		OnSwitch: func(sw ldapstore.Switch) {
			log.Warn().Str("from", sw.From).Str("to", sw.To).Str("reason", sw.Reason).Msg("LDAP server switched")
		},
	})
	if err != nil {
		log.Error().Err(err).Msg("directory")
		return 1
	}
	defer store.Close()
	gw := gateway.New(gateway.Config{
		Mapping: m, Store: store, Log: log, Tokens: cfg.BearerTokens, PublicURL: cfg.PublicURL,
		MaxPageSize: cfg.MaxPageSize, ListMemory: cfg.listMemory(), Credentials: creds, RequestTimeout: cfg.RequestTimeout,
		MaxBodyBytes: cfg.MaxBodyBytes, AuthFailureBurst: cfg.AuthFailureBurst, AuthFailureInterval: cfg.AuthFailureInterval,
		BulkMaxOperations: cfg.BulkMaxOperations, BulkMaxPayloadSize: cfg.BulkMaxPayloadSize,
		TrustedProxies: cfg.trustedProxies, Audit: audit, ServeMetrics: cfg.MetricsAddr == "", Build: build,
		Plan: cfg.Mode == "plan",
	})
	if cfg.Mode == "plan" {
		log.Warn().Msg("plan mode (SCIM2LDAP_MODE=plan): writes are computed, answered and audited as LDIF, and not sent to the directory")
	}
	// The mapping against the directory's own schema, as `mapping check --ldap-url` does.
	checkCtx, cancelCheck := context.WithTimeout(ctx, cfg.LDAPTimeout)
	err = gw.CheckMapping(checkCtx, m)
	cancelCheck()
	switch {
	case err != nil && ldapstore.IsUnavailable(err):
		log.Warn().Err(err).Msg("the directory is unreachable: starting not ready; its schema is read (matching rules learnt, the mapping checked) once it answers")
		go gw.LearnSchemaWhenReachable(ctx)
	case err != nil:
		fmt.Fprintln(stderr, err)
		log.Error().Str("file", cfg.MappingFile).Msg("the mapping does not fit the directory's schema; see above (scim2ldap mapping check --ldap-url)")
		return 1
	default:
		// A missing base is not fatal (an admin may be creating it), but every
		// request would fail: say so now, and /readyz fails until it exists.
		checkCtx, cancelCheck := context.WithTimeout(ctx, cfg.LDAPTimeout)
		missing, err := preflight.MissingBases(checkCtx, store, m)
		cancelCheck()
		if err != nil {
			log.Warn().Err(err).Msg("could not check the mapping's base DNs")
		}
		for _, mb := range missing {
			log.Error().Str("file", cfg.MappingFile).Str("dn", mb.DN).Str("resource_type", mb.Type).
				Msg(mb.String() + ": create it or fix the mapping (scim2ldap doctor shows how); /readyz fails until then")
		}
	}
	for i, t := range cfg.BearerTokens {
		if len(t) < 16 {
			log.Warn().Int("token", i+1).Msg("SCIM2LDAP_BEARER_TOKENS: a token shorter than 16 characters is easy to guess; use openssl rand -hex 32")
		}
	}
	errorLog := zerologAdapter(log)
	srv := &http.Server{
		Handler:           gw,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		log.Error().Err(err).Msg("listen")
		return 1
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var opsAddr net.Addr
	if cfg.MetricsAddr != "" {
		ol, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			srv.Close()
			log.Error().Err(err).Msg("listen (SCIM2LDAP_METRICS_ADDR)")
			return 1
		}
		ops := &http.Server{Handler: gw.OpsHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, IdleTimeout: cfg.IdleTimeout, ErrorLog: errorLog}
		servers = append(servers, ops)
		opsAddr = ol.Addr()
		go func() { errc <- ops.Serve(ol) }()
	}
	log.Info().Str("version", build.Version).Str("revision", build.Revision).Str("listen", ln.Addr().String()).Bool("tls", tlsCfg != nil).Bool("mtls", cfg.TLSClientCAFile != "").
		Str("metrics", cfg.MetricsAddr).Str("base_path", gateway.BasePath).Str("ldap", cfg.LDAPURL).
		Str("mapping", cfg.MappingFile).Int("tokens", len(cfg.BearerTokens)).Bool("credentials_file", creds != nil).Msg("scim2ldap serving")
	// SIGHUP reloads the mapping file: a good one applies to the next request, a
	// bad one is logged problem by problem and the mapping in force stays.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if started != nil {
		started(ln.Addr(), opsAddr)
	}
serving:
	for {
		select {
		case err := <-errc:
			log.Error().Err(err).Msg("serve")
			return 1
		case <-hup:
			if err := gw.ReloadMapping(ctx, cfg.MappingFile); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					log.Error().Str("file", cfg.MappingFile).Str("problem", line).Msg("mapping reload rejected; the previous mapping keeps serving")
				}
			} else {
				log.Info().Str("file", cfg.MappingFile).Msg("mapping reloaded")
			}
			if cfg.BearerTokensFile != "" || cfg.CredentialsFile != "" {
				reloadCredentials(cfg, gw, log)
			}
		case <-ctx.Done():
			break serving
		}
	}
	log.Info().Dur("delay", cfg.ShutdownDelay).Msg("draining: /readyz fails from now on")
	gw.Drain()
	time.Sleep(cfg.ShutdownDelay)
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	code := 0
	var mu sync.Mutex
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(shutdown); err != nil {
				log.Error().Err(err).Msg("shutdown: in-flight requests cut off")
				mu.Lock()
				code = 1
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	log.Info().Msg("stopped")
	return code
}

// loadCredentialsFile reads SCIM2LDAP_CREDENTIALS_FILE (nil when unset) and
// refuses placeholder secrets in it, at start-up and on SIGHUP alike.
func loadCredentialsFile(cfg *Config) (*gateway.Credentials, error) {
	if cfg.CredentialsFile == "" {
		return nil, nil
	}
	creds, err := gateway.LoadCredentials(cfg.CredentialsFile)
	if err == nil {
		err = placeholderCredentials(creds)
	}
	if err != nil {
		return nil, fmt.Errorf("SCIM2LDAP_CREDENTIALS_FILE: %w", err)
	}
	return creds, nil
}

// reloadCredentials re-reads the token and credentials files (SIGHUP) and puts
// them in force, or logs why not and keeps the ones in force. Secrets are never
// logged: only counts and file names.
func reloadCredentials(cfg *Config, gw *gateway.Server, log zerolog.Logger) {
	tokens, err := cfg.readTokens()
	var creds *gateway.Credentials
	if err == nil {
		creds, err = loadCredentialsFile(cfg)
	}
	if err == nil {
		err = gw.ReloadCredentials(tokens, creds)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error().Str("problem", line).Msg("credentials reload rejected; the previous credentials stay in force")
		}
		return
	}
	log.Info().Int("tokens", len(tokens)).Bool("credentials_file", creds != nil).Msg("client credentials reloaded")
}

func openAudit(dest string) (io.Writer, func(), error) {
	switch strings.ToLower(dest) {
	case "":
		return nil, func() {}, nil
	case "stdout":
		return os.Stdout, func() {}, nil
	case "stderr":
		return os.Stderr, func() {}, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// serverTLS is the inbound TLS configuration: TLS 1.2 or later with Go's
// default (AEAD-only, forward-secret) cipher suites, the certificate re-read when
// its files change, and client certificates verified against
// SCIM2LDAP_TLS_CLIENT_CA_FILE when set (optional: clients without one use
// the Authorization header).
func serverTLS(cfg *Config, log zerolog.Logger) (*tls.Config, error) {
	kp := &certReloader{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile, log: log}
	if err := kp.load(); err != nil {
		return nil, err
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.getCertificate}
	if cfg.TLSClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("SCIM2LDAP_TLS_CLIENT_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SCIM2LDAP_TLS_CLIENT_CA_FILE %s: no PEM certificate found", cfg.TLSClientCAFile)
		}
		t.ClientCAs, t.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return t, nil
}

// certReloader serves a certificate and key from files, re-reading them when
// either file's size or modification time changes (checked on each handshake:
// two stat calls). A pair that fails to load (e.g. written halfway) is logged
// and the previous one stays in use.
type certReloader struct {
	certFile, keyFile string
	log               zerolog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	stamp  string // size and mtime of both files when cert was loaded
	failed string // stamp of the last pair that failed to load
}

func fileStamp(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			b.WriteString("missing;")
			continue
		}
		fmt.Fprintf(&b, "%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

func (c *certReloader) load() error {
	stamp := fileStamp(c.certFile, c.keyFile)
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("SCIM2LDAP_TLS_CERT_FILE/SCIM2LDAP_TLS_KEY_FILE: %w", err)
	}
	c.cert, c.stamp = &kp, stamp
	return nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stamp := fileStamp(c.certFile, c.keyFile); stamp != c.stamp && stamp != c.failed {
		if err := c.load(); err != nil {
			c.failed = stamp
			c.log.Warn().Err(err).Msg("TLS certificate files changed but do not load; still serving the previous certificate")
		} else {
			c.log.Info().Str("cert", c.certFile).Msg("TLS certificate reloaded")
		}
	}
	return c.cert, nil
}

const healthcheckUsage = `usage: scim2ldap healthcheck [URL]
  GETs URL (default: /healthz of the local gateway, on SCIM2LDAP_METRICS_ADDR if set, else
  SCIM2LDAP_LISTEN_ADDR, https with SCIM2LDAP_TLS_CERT_FILE) and exits 0 on 200, else 1: for
  container HEALTHCHECKs on images without a shell or curl.
`

// healthcheck GETs /healthz of the local gateway: for container HEALTHCHECKs on
// images without a shell. The URL defaults to the ops address
// (SCIM2LDAP_METRICS_ADDR) or the main one, on loopback; https when
// SCIM2LDAP_TLS_CERT_FILE is set (the certificate is not verified: it names the
// public host, and the check sends no secret).
func healthcheck(args []string, stdout, stderr io.Writer) int {
	url := ""
	if len(args) > 0 {
		url = args[0]
	} else {
		addr, scheme := os.Getenv("SCIM2LDAP_METRICS_ADDR"), "http"
		if addr == "" {
			addr = os.Getenv("SCIM2LDAP_LISTEN_ADDR")
			if addr == "" {
				addr = ":8080"
			}
			if os.Getenv("SCIM2LDAP_TLS_CERT_FILE") != "" {
				scheme = "https"
			}
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			fmt.Fprintf(stderr, "healthcheck: listen address %q: %v\n", addr, err)
			return 1
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		url = scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s: %s\n", url, res.Status)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: %s\n", url)
	return 0
}

// zerologAdapter routes net/http's error log (TLS handshake failures…) to the log.
func zerologAdapter(log zerolog.Logger) *stdlog.Logger {
	return stdlog.New(log.With().Str("source", "net/http").Logger(), "", 0)
}
