package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// setenv sets the SCIM2LDAP_ variables of env (names without the prefix) for
// the test, after clearing every other SCIM2LDAP_ variable.
func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SCIM2LDAP_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv("SCIM2LDAP_"+k, v)
	}
}

// Every problem of the configuration comes in one error, one a line, each
// naming its variable; the variables that failed to parse are left as they were.
func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	setenv(t, map[string]string{"LDAP_CONNS": "four", "LDAP_TIMEOUT": "10", "LDAP_STARTTLS": "yes",
		"MAX_PAGE_SIZE": "0", "TLS_CERT_FILE": "/x.pem", "TRUSTED_PROXIES": "10.0.0.0/8,not-an-address",
		"BULK_MAX_OPERATIONS": "0", "BULK_MAX_PAYLOAD_SIZE": "100", "MODE": "dry-run"})
	_, err := loadConfig()
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`SCIM2LDAP_LDAP_CONNS: "four" is not a valid int (a whole number)`,
		`SCIM2LDAP_LDAP_TIMEOUT: "10" is not a valid duration (e.g. 30s, 2m)`,
		`SCIM2LDAP_LDAP_STARTTLS: "yes" is not a valid boolean (true or false)`,
		`SCIM2LDAP_LDAP_URL is required (e.g. ldap://127.0.0.1:389)`,
		`no client credentials: set SCIM2LDAP_BEARER_TOKENS`,
		`set both SCIM2LDAP_TLS_CERT_FILE and SCIM2LDAP_TLS_KEY_FILE, or neither`,
		`SCIM2LDAP_MAX_PAGE_SIZE must be at least 1`,
		`SCIM2LDAP_BULK_MAX_OPERATIONS must be at least 1`,
		`SCIM2LDAP_BULK_MAX_PAYLOAD_SIZE must be at least 1024`,
		`SCIM2LDAP_TRUSTED_PROXIES: "not-an-address" is neither a CIDR nor an address`,
		`SCIM2LDAP_MODE must be apply (the default) or plan, not "dry-run"`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, err)
		}
	}
	if v := os.Getenv("SCIM2LDAP_LDAP_CONNS"); v != "four" {
		t.Errorf("SCIM2LDAP_LDAP_CONNS is %q after loadConfig", v)
	}
}

// Placeholder secrets, as example manifests ship them, are refused, and the
// error never shows the secret.
func TestConfigRefusesPlaceholderSecrets(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte("# rotate monthly\nchangeme-please\n"), 0o600)
	setenv(t, map[string]string{"LDAP_URL": "ldap://127.0.0.1:389", "LDAP_BIND_DN": "cn=gw,dc=example,dc=org",
		"LDAP_BIND_PASSWORD": "CHANGE-ME", "BEARER_TOKENS": "0123456789abcdef0123,CHANGE-ME-openssl-rand-hex-32", "BEARER_TOKENS_FILE": tokens})
	_, err := loadConfig()
	if err == nil {
		t.Fatal("placeholders accepted")
	}
	for _, w := range []string{"the LDAP bind password is a placeholder", "bearer token 2 (SCIM2LDAP_BEARER_TOKENS or SCIM2LDAP_BEARER_TOKENS_FILE) is a placeholder",
		"bearer token 3 "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%s", w, err)
		}
	}
	if strings.Contains(err.Error(), "openssl-rand-hex-32") || strings.Contains(err.Error(), "please") {
		t.Errorf("a secret is in the error: %s", err)
	}
	if strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want 3 problems:\n%s", err)
	}
	// A real token and password pass.
	setenv(t, map[string]string{"LDAP_URL": "ldap://127.0.0.1:389", "LDAP_BIND_DN": "cn=gw,dc=example,dc=org",
		"LDAP_BIND_PASSWORD": "correct horse", "BEARER_TOKENS": "0123456789abcdef0123"})
	if _, err := loadConfig(); err != nil {
		t.Error(err)
	}
	// A bind DN without a password would be an unauthenticated bind (RFC 4513 §5.1.2).
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", "")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "SCIM2LDAP_LDAP_BIND_DN is set without a password") {
		t.Errorf("bind DN without password: %v", err)
	}
}

// A SCIM2LDAP_ variable that is no setting gets a warning with the nearest
// name; an anonymous bind gets one too; the values never show.
func TestConfigWarnsAboutUnknownVariablesAndAnonymousBind(t *testing.T) {
	c := &Config{}
	got := configWarnings(c, []string{"SCIM2LDAP_LDAP_BINDDN=cn=admin,dc=example,dc=org", "SCIM2LDAP_LDAP_BIND_PASSWROD=s3cret",
		"SCIM2LDAP_LDAP_URL=ldap://x", "SCIM2LDAP_SKIP_LDAP=1", "SCIM2LDAP_FROBNICATE=1", "HOME=/root", "SCIM2LDAPX=1"})
	want := []string{
		`SCIM2LDAP_FROBNICATE is not a setting of scim2ldap and is ignored (scim2ldap serve --help lists them all)`,
		`SCIM2LDAP_LDAP_BINDDN is not a setting of scim2ldap and is ignored (did you mean "SCIM2LDAP_LDAP_BIND_DN"?) (scim2ldap serve --help lists them all)`,
		`SCIM2LDAP_LDAP_BIND_PASSWROD is not a setting of scim2ldap and is ignored (did you mean "SCIM2LDAP_LDAP_BIND_PASSWORD"?) (scim2ldap serve --help lists them all)`,
		`SCIM2LDAP_LDAP_BIND_DN is empty: the gateway binds anonymously`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if strings.Contains(strings.Join(got, "\n"), "s3cret") {
		t.Error("a value is in a warning")
	}
	c.LDAPBindDN = "cn=gw,dc=example,dc=org"
	if got := configWarnings(c, nil); len(got) != 0 {
		t.Errorf("warnings for a clean environment: %v", got)
	}
}

// serve logs the warnings and every problem, then exits 1.
func TestServeLogsEveryConfigurationProblem(t *testing.T) {
	setenv(t, map[string]string{"LDAP_BINDDN": "cn=admin,dc=example,dc=org", "LDAP_CONNS": "x", "BEARER_TOKENS": "CHANGE-ME-openssl-rand-hex-32"})
	var out, errOut bytes.Buffer
	if code := run([]string{"serve"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d", code)
	}
	logs := errOut.String()
	for _, w := range []string{`"level":"warn"`, `did you mean \"SCIM2LDAP_LDAP_BIND_DN\"?`, `SCIM2LDAP_LDAP_CONNS: \"x\" is not a valid int`,
		"SCIM2LDAP_LDAP_URL is required", "bearer token 1 (SCIM2LDAP_BEARER_TOKENS or SCIM2LDAP_BEARER_TOKENS_FILE) is a placeholder"} {
		if !strings.Contains(logs, w) {
			t.Errorf("missing %q in:\n%s", w, logs)
		}
	}
	if strings.Contains(logs, "openssl-rand") {
		t.Error("the token is in the log")
	}
}

// Only the SCIM2LDAP_ names are read: envconfig's fallback to a setting's name
// without the prefix (LDAP_CONNS) is shut, so another program's MODE,
// LISTEN_ADDR or TRUSTED_PROXIES changes nothing, and those variables are left
// as they were.
func TestConfigIgnoresUnprefixedVariables(t *testing.T) {
	setenv(t, map[string]string{"LDAP_URL": "ldap://127.0.0.1:389", "BEARER_TOKENS": "0123456789abcdef0123"})
	other := map[string]string{"LDAP_CONNS": "many", "MODE": "production", "LISTEN_ADDR": "0.0.0.0:1",
		"TRUSTED_PROXIES": "0.0.0.0/0", "BEARER_TOKENS": "unprefixed-token-0123456789"}
	for k, v := range other {
		t.Setenv(k, v)
	}
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.LDAPConns != 4 || c.Mode != "" || c.ListenAddr != ":8080" || len(c.TrustedProxies) != 0 {
		t.Errorf("unprefixed variables were read: conns %d, mode %q, listen %q, proxies %v", c.LDAPConns, c.Mode, c.ListenAddr, c.TrustedProxies)
	}
	if !slices.Equal(c.BearerTokens, []string{"0123456789abcdef0123"}) {
		t.Errorf("bearer tokens %d, want only SCIM2LDAP_BEARER_TOKENS's", len(c.BearerTokens))
	}
	for k, v := range other {
		if got := os.Getenv(k); got != v {
			t.Errorf("%s is %q after loadConfig, want %q", k, got, v)
		}
	}
	// The prefixed name still wins when both are set, and a bad value is named by it.
	t.Setenv("SCIM2LDAP_LDAP_CONNS", "lots")
	if _, err := loadConfig(); err == nil || err.Error() != `SCIM2LDAP_LDAP_CONNS: "lots" is not a valid int (a whole number)` {
		t.Errorf("got %v", err)
	}
}

// The credentials file's secrets are held to the same rule: a tokenFile or
// Basic password that is a placeholder stops the start, named by credential.
func TestServeRefusesPlaceholderInCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "entra-token"), []byte("CHANGE-ME-openssl-rand-hex-32\n"), 0o600)
	file := filepath.Join(dir, "credentials.yaml")
	os.WriteFile(file, []byte("tokens:\n  - {name: entra, tokenFile: entra-token, scope: read-write}\n"+
		"basicUsers:\n  - {name: okta, username: okta, password: CHANGEME-okta-password, scope: read-write}\n"), 0o600)
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password,
		"CREDENTIALS_FILE": file, "MAPPING_FILE": "../../mappings.example.yaml", "LISTEN_ADDR": "127.0.0.1:0"})
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if code := serveCtx(context.Background(), cfg, zerolog.New(&logs), &logs, nil); code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`token \"entra\" is a placeholder`, `basic user \"okta\" has a placeholder password`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("missing %s in:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "openssl-rand-hex-32") || strings.Contains(logs.String(), "okta-password") {
		t.Error("the secret is in the log")
	}
}
