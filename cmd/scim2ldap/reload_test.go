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
	for k, v := range map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password,
		"BEARER_TOKENS": token, "LISTEN_ADDR": "127.0.0.1:0", "MAPPING_FILE": file} {
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
	defer func() { cancel(); <-exit }()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String() + "/scim/v2"
	case code := <-exit:
		t.Fatalf("serve exited %d: %s", code, logs.String())
	}
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
