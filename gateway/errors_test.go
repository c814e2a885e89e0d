package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Errors the directory answers, end to end: what the client gets and what the
// request log says. Tests that reconfigure slapd (cn=config) get a slapd of
// their own, so a failure cannot leave the shared one changed.

// storeOf opens one connection to own, as its admin.
func storeOf(t *testing.T, own *slapdtest.Server) *ldapstore.Store {
	t.Helper()
	store, err := ldapstore.Open(ldapstore.Config{URL: own.URL, BindDN: own.BindDN, BindPassword: own.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// ownSlapd starts a private slapd and returns it with a connection to its
// cn=config (ldapi, authorised by the test process's peer credentials, as
// scripts/slapd-up.sh grants).
func ownSlapd(t *testing.T) (*slapdtest.Server, *ldap.Conn) {
	t.Helper()
	own, err := slapdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	cfg, err := ldap.DialURL("ldapi://" + url.PathEscape(filepath.Join(own.Dir, "ldapi")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cfg.Close() })
	if err := cfg.ExternalBind(); err != nil {
		t.Fatal(err)
	}
	return own, cfg
}

// setDBConfig replaces attr of the main database's configuration entry.
func setDBConfig(t *testing.T, cfg *ldap.Conn, attr, value string) {
	t.Helper()
	m := ldap.NewModifyRequest("olcDatabase={1}mdb,cn=config", nil)
	m.Replace(attr, []string{value})
	if err := cfg.Modify(m); err != nil {
		t.Fatal(err)
	}
}

// raw sends a request like Do, but takes any status: Do reports every 5xx
// other than 503 as a test error, and these tests want some.
func (e *env) raw(method, path string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(data)}
	_ = json.Unmarshal(data, &out.Body)
	return out
}

// requestLine returns the request log line of the request with id reqID (nil
// when there is none).
func requestLine(log, reqID string) map[string]any {
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == "request" && m["request_id"] == reqID {
			return m
		}
	}
	return nil
}

// A write the directory fails for its own reasons (slapd's database is full:
// 80 other, "entry store failed" or "txn_commit failed") is a 500 whose detail tells the client
// nothing, and the request's log line says why, at error level, with the
// request id. The request carried a password: it is nowhere in the log.
func TestServerErrorLogsItsCause(t *testing.T) {
	own, cfg := ownSlapd(t)
	e := newEnvOn(t, loadMapping(t, "docs/examples/openldap-posix.yaml"), storeOf(t, own))
	const secret = "Tr0ub4dor-Never-Logged"
	newUser := func(name string) map[string]any {
		return user(name, map[string]any{"password": secret, entSchema: map[string]any{"employeeNumber": "7"}})
	}
	e.MustCreate("/Users", newUser("before-full")) // the mapping and the password work

	// LMDB keeps the map at least as large as the data in it: this leaves no room.
	setDBConfig(t, cfg, "olcDbMaxSize", "65536")
	r := e.raw("POST", "/Users", newUser("when-full"), "X-Request-Id", "full-db-1")
	wantError(t, r, 500, "")
	if strings.Contains(r.Raw, "store") || strings.Contains(r.Raw, "LDAP") {
		t.Errorf("the client was told the directory's internals: %s", r.Raw)
	}
	line := requestLine(e.logBuf.String(), "full-db-1")
	if line == nil {
		t.Fatalf("no request log line for full-db-1:\n%s", e.logBuf)
	}
	cause, _ := line["cause"].(string)
	if line["level"] != "error" || line["status"] != 500.0 || line["method"] != "POST" || line["path"] != "/scim/v2/Users" ||
		!strings.Contains(cause, `LDAP Result Code 80 "Other": `) || !strings.Contains(cause, "failed") {
		t.Errorf("log line: %v", line)
	}
	if strings.Contains(e.logBuf.String(), secret) {
		t.Error("the password reached the log")
	}
}

// A directory that can't be reached is a 503 (Retry-After) for SCIM requests
// and /readyz alike, as is /readyz while draining; each logs why at warn level
// with its request id.
func TestUnavailableLogsItsCause(t *testing.T) {
	f := slapdtest.Unreachable(t, slapd.URL)
	store, err := ldapstore.Open(ldapstore.Config{URL: f.URL(), BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1, StartUnreachable: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	logBuf := &bytes.Buffer{}
	gw := gateway.New(gateway.Config{Mapping: exampleMapping(t), Store: store, Log: zerolog.New(zerolog.SyncWriter(logBuf)), Tokens: []string{token}, AuthFailureBurst: -1})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, logBuf: logBuf}
	if r := e.raw("GET", "/Users", nil, "X-Request-Id", "down-1"); r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("GET /Users while down: %d %s", r.Status, r.Raw)
	}
	readyz := func(reqID string) {
		req, _ := http.NewRequest("GET", srv.URL+"/readyz", nil)
		req.Header.Set("X-Request-Id", reqID)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 503 {
			t.Errorf("readyz %s: %v %v", reqID, res, err)
		} else {
			res.Body.Close()
		}
	}
	readyz("down-2")
	gw.Drain()
	readyz("draining-1")
	// The cause names the failure: go-ldap's dial error, or the store's own
	// "directory unavailable" while it waits before redialling.
	for id, want := range map[string]string{"down-1": "Network Error", "down-2": "unavailable", "draining-1": "draining"} {
		line := requestLine(logBuf.String(), id)
		if cause, _ := line["cause"].(string); line["level"] != "warn" || line["status"] != 503.0 || !(strings.Contains(cause, want) || strings.Contains(cause, "unavailable")) {
			t.Errorf("log line of %s: %v", id, line)
		}
	}
}

// DELETE of a user with an entry below it (here a role an administrator put
// there): slapd answers 66 notAllowedOnNonLeaf, a 409 saying why; the user stays.
func TestDeleteEntryWithChildren(t *testing.T) {
	e := newEnv(t)
	name := fmt.Sprintf("parent-%x", time.Now().UnixNano())
	id := e.MustCreate("/Users", user(name, nil))
	dn := "uid=" + name + ",ou=people,dc=example,dc=org"
	child := ldap.NewAddRequest("cn=role,"+dn, nil)
	child.Attribute("objectClass", []string{"organizationalRole"})
	child.Attribute("cn", []string{"role"})
	if err := e.ldap.Add(child); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.ldap.Del(ldap.NewDelRequest("cn=role,"+dn, nil))
		e.ldap.Del(ldap.NewDelRequest(dn, nil))
	})
	r := e.Do("DELETE", "/Users/"+id, nil)
	wantError(t, r, 409, "", "entries below it")
	if strings.Contains(r.Raw, "cn=role") {
		t.Errorf("the detail names another entry: %s", r.Raw)
	}
	if e.Do("GET", "/Users/"+id, nil).Status != 200 {
		t.Error("the user is gone")
	}
}

// A directory that takes writes only over an encrypted connection (slapd's
// olcSecurity update_ssf) refuses the gateway's plain one with 13
// confidentialityRequired: a configuration problem of the gateway's, 502 with
// a detail naming the settings that fix it, and the cause in the log. The
// request carried a password (the write refused is the Password Modify
// operation): it is nowhere in the log.
func TestDirectoryWantsTLS(t *testing.T) {
	own, cfg := ownSlapd(t)
	e := newEnvOn(t, loadMapping(t, "docs/examples/openldap-posix.yaml"), storeOf(t, own))
	id := e.MustCreate("/Users", user("tls-wanted", map[string]any{entSchema: map[string]any{"employeeNumber": "8"}}))

	setDBConfig(t, cfg, "olcSecurity", "update_ssf=128")
	const secret = "Pl41n-Text-Never-Logged"
	r := e.raw("PATCH", "/Users/"+id, patchBody(op("replace", "password", secret)), "X-Request-Id", "tls-1")
	wantError(t, r, 502, "", "SCIM2LDAP_LDAP_STARTTLS", "ldaps://")
	line := requestLine(e.logBuf.String(), "tls-1")
	if cause, _ := line["cause"].(string); line["level"] != "error" || line["status"] != 502.0 ||
		!strings.Contains(cause, `LDAP Result Code 13 "Confidentiality Required": confidentiality required`) {
		t.Errorf("log line: %v", line)
	}
	if strings.Contains(e.logBuf.String(), secret) {
		t.Error("the password reached the log")
	}
}
