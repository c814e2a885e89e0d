package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// startServe runs `serve` against the test slapd on a free loopback port, with
// env (SCIM2LDAP_ names without the prefix) on top of the directory settings,
// until the test ends. It returns the SCIM base URL and the log.
func startServe(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	for k, v := range map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password, "LISTEN_ADDR": "127.0.0.1:0"} {
		t.Setenv("SCIM2LDAP_"+k, v)
	}
	for k, v := range env {
		t.Setenv("SCIM2LDAP_"+k, v)
	}
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	exit := make(chan int, 1)
	go func() { exit <- serveCtx(ctx, cfg, zerolog.New(logs), logs, func(m, _ net.Addr) { addrs <- m }) }()
	t.Cleanup(func() { cancel(); <-exit })
	select {
	case a := <-addrs:
		return "http://" + a.String() + "/scim/v2", logs
	case code := <-exit:
		exit <- code // for the cleanup, which waits for it
		t.Fatalf("serve exited %d: %s", code, logs.String())
		return "", nil
	}
}

// SIGHUP with a broken mapping file leaves the gateway serving with the old
// mapping; with a good file the new rules apply to the next request.
func TestServeReloadsMappingOnSIGHUP(t *testing.T) {
	good, err := os.ReadFile("../../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "mapping.yaml")
	os.WriteFile(file, good, 0o644)
	const token = "reload-test-token"
	base, logs := startServe(t, map[string]string{"BEARER_TOKENS": token, "MAPPING_FILE": file})
	schema := func() string {
		req, _ := http.NewRequest("GET", base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	waitLog := func(what string) {
		for i := 0; i < 200 && !strings.Contains(logs.String(), what); i++ {
			time.Sleep(25 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), what) {
			t.Fatalf("no %q in the log:\n%s", what, logs.String())
		}
	}
	if !strings.Contains(schema(), `"name":"title"`) {
		t.Fatal("title is not advertised at start")
	}
	// A broken file: rejected, problems logged, the old mapping serves.
	os.WriteFile(file, []byte(strings.Replace(string(good), "title:", "titel:", 1)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog("mapping reload rejected")
	if !strings.Contains(logs.String(), `unknown SCIM attribute \"titel\"`) {
		t.Errorf("the problem is not in the log:\n%s", logs.String())
	}
	if !strings.Contains(schema(), `"name":"title"`) {
		t.Error("a rejected reload changed the mapping in force")
	}
	// A file the loader accepts but the directory's schema does not: rejected too.
	os.WriteFile(file, []byte(strings.Replace(string(good), "title:                         {ldap: title}", "title:                         {ldap: titel}", 1)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for i := 0; i < 200 && strings.Count(logs.String(), "mapping reload rejected") < 2; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `the directory's schema has no attribute \"titel\"`) {
		t.Errorf("the schema problem is not in the log:\n%s", logs.String())
	}
	// A good file without title: the next request no longer sees it.
	var kept []string
	for _, line := range strings.Split(string(good), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "title:") {
			kept = append(kept, line)
		}
	}
	os.WriteFile(file, []byte(strings.Join(kept, "\n")), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog("mapping reloaded")
	if s := schema(); strings.Contains(s, `"name":"title"`) || !strings.Contains(s, `"name":"userName"`) {
		t.Errorf("after the reload: %s", s)
	}
}

// serve refuses a mapping that doesn't fit the directory's schema.
func TestServeRefusesMappingTheSchemaRejects(t *testing.T) {
	good, _ := os.ReadFile("../../mappings.example.yaml")
	file := filepath.Join(t.TempDir(), "mapping.yaml")
	os.WriteFile(file, []byte(strings.Replace(string(good), "{ldap: title}", "{ldap: titel}", 1)), 0o644)
	for k, v := range map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password,
		"BEARER_TOKENS": "a-long-enough-token-123", "LISTEN_ADDR": "127.0.0.1:0", "MAPPING_FILE": file} {
		t.Setenv("SCIM2LDAP_"+k, v)
	}
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if code := serveCtx(context.Background(), cfg, zerolog.New(logs), logs, nil); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(logs.String(), `the directory's schema has no attribute "titel"`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// SIGHUP re-reads SCIM2LDAP_BEARER_TOKENS_FILE and SCIM2LDAP_CREDENTIALS_FILE:
// a rotated token works at once and the old one gets 401; a broken file is
// refused and the credentials in force stay. No secret reaches the log.
func TestServeRotatesCredentialsOnSIGHUP(t *testing.T) {
	tmp := t.TempDir()
	tokensFile, credsFile := filepath.Join(tmp, "tokens"), filepath.Join(tmp, "credentials.yaml")
	const oldToken, newToken, named, named2 = "old-token-0123456789abcdef", "new-token-0123456789abcdef", "named-token-0123456789abc", "named-token-2-0123456789a"
	os.WriteFile(tokensFile, []byte("# rotated by the secret store\n"+oldToken+"\n"), 0o600)
	os.WriteFile(credsFile, []byte("tokens:\n  - {name: okta, token: "+named+", scope: read-only}\n"), 0o600)
	base, logs := startServe(t, map[string]string{"BEARER_TOKENS_FILE": tokensFile, "CREDENTIALS_FILE": credsFile, "MAPPING_FILE": "../../mappings.example.yaml"})
	status := func(token string) int {
		req, _ := http.NewRequest("GET", base+"/Users?count=1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	hup := func(wantLog string, n int) {
		t.Helper()
		syscall.Kill(os.Getpid(), syscall.SIGHUP)
		for i := 0; i < 200 && strings.Count(logs.String(), wantLog) < n; i++ {
			time.Sleep(25 * time.Millisecond)
		}
		if strings.Count(logs.String(), wantLog) < n {
			t.Fatalf("no %q in the log:\n%s", wantLog, logs.String())
		}
	}
	for tok, want := range map[string]int{oldToken: 200, named: 200, newToken: 401} {
		if got := status(tok); got != want {
			t.Errorf("before: token %.9s… → %d, want %d", tok, got, want)
		}
	}
	os.WriteFile(tokensFile, []byte(newToken+"\n"), 0o600)
	os.WriteFile(credsFile, []byte("tokens:\n  - {name: okta, token: "+named2+", scope: read-only}\n"), 0o600)
	hup("client credentials reloaded", 1)
	for tok, want := range map[string]int{oldToken: 401, named: 401, newToken: 200, named2: 200} {
		if got := status(tok); got != want {
			t.Errorf("after the rotation: token %.9s… → %d, want %d", tok, got, want)
		}
	}
	// A credentials file naming a resource type the mapping doesn't serve: refused.
	os.WriteFile(credsFile, []byte("tokens:\n  - {name: okta, token: "+named+", resourceTypes: [Printers]}\n"), 0o600)
	hup("credentials reload rejected", 1)
	if !strings.Contains(logs.String(), `resource type \"Printers\" is not in the mapping`) {
		t.Errorf("the problem is not in the log:\n%s", logs.String())
	}
	if status(newToken) != 200 || status(named2) != 200 || status(named) != 401 {
		t.Error("a rejected reload changed the credentials in force")
	}
	// Emptying every source would lock every client out: refused too.
	os.WriteFile(tokensFile, nil, 0o600)
	os.WriteFile(credsFile, []byte("{}\n"), 0o600)
	hup("credentials reload rejected", 2)
	if status(newToken) != 200 {
		t.Error("an empty set of credentials was put in force")
	}
	for _, secret := range []string{oldToken, newToken, named, named2} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a token reached the log")
		}
	}
}
