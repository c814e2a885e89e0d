package gateway_test

// A directory that goes away and comes back: what clients get meanwhile, and
// what the gateway learns once it answers again.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// The substring rules come from the directory's schema. A gateway that starts
// during an outage learns them once the directory answers; a mapping reload
// during an outage keeps those already learnt.
func TestSubstringRulesLearntAcrossOutages(t *testing.T) {
	f := slapdtest.Unreachable(t, slapd.URL)
	store, err := ldapstore.Open(ldapstore.Config{URL: f.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, StartUnreachable: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := exampleMapping(t)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := gw.CheckMapping(ctx, m); !ldapstore.IsUnavailable(err) {
		t.Fatalf("CheckMapping during the outage: %v", err)
	}
	go gw.LearnSchemaWhenReachable(ctx)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	c := &scimtest.Client{T: t, BaseURL: srv.URL + "/scim/v2", Token: token}
	f.Up(t)
	refused := func() bool { return c.Do("GET", "/Users"+filterQ(`externalId sw "x"`), nil).Status == 400 }
	eventually(t, "substring rules learnt once the directory answers", refused)

	f.Down()
	_, file, _, _ := runtime.Caller(0)
	if err := gw.ReloadMapping(ctx, filepath.Join(filepath.Dir(file), "..", "mappings.example.yaml")); err != nil {
		t.Fatalf("reload during the outage: %v", err)
	}
	f.Up(t)
	eventually(t, "the directory is back", func() bool { return c.Do("GET", "/Users?count=1", nil).Status == 200 })
	if !refused() {
		t.Error("a reload during an outage forgot the substring rules")
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
