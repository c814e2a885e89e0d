package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for cn (a server certificate for
// 127.0.0.1, or a client one).
func (ca *testCA) issue(t *testing.T, cn string, client bool) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if client {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeTLSReloadMTLSAndDrain runs `serve` as configured from the
// environment, over TLS with a client CA, against a private slapd: the server
// certificate is reloaded when its files change (a broken pair is not), a client
// certificate authenticates with its scope, the healthcheck verb works, and
// cancelling the context (SIGTERM) lets an in-flight request finish.
func TestServeTLSReloadMTLSAndDrain(t *testing.T) {
	dir, err := slapdtest.Start()
	if err != nil && strings.Contains(err.Error(), "not installed") {
		t.Skip(err) // `make unit` on a machine without slapd; `make test` installs it
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Stop)
	tmp := t.TempDir()
	serverCA, clientCA := newCA(t, "server CA"), newCA(t, "client CA")
	certFile, keyFile := filepath.Join(tmp, "tls.crt"), filepath.Join(tmp, "tls.key")
	writePair := func(cn string) {
		c, k := serverCA.issue(t, cn, false)
		os.WriteFile(certFile, c, 0o600)
		os.WriteFile(keyFile, k, 0o600)
	}
	writePair("first")
	os.WriteFile(filepath.Join(tmp, "client-ca.pem"), clientCA.pem, 0o600)
	os.WriteFile(filepath.Join(tmp, "credentials.yaml"), []byte("clientCertificates:\n  - {name: hr-feed, subject: hr-feed.example.org, scope: read-only}\n"), 0o600)
	const token = "serve-test-token-0123456789"
	for k, v := range map[string]string{
		"LDAP_URL": dir.URL, "LDAP_BIND_DN": dir.BindDN, "LDAP_BIND_PASSWORD": dir.Password, "BEARER_TOKENS": token,
		"LISTEN_ADDR": "127.0.0.1:0", "METRICS_ADDR": "127.0.0.1:0", "MAPPING_FILE": "../../mappings.example.yaml",
		"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile, "TLS_CLIENT_CA_FILE": filepath.Join(tmp, "client-ca.pem"),
		"CREDENTIALS_FILE": filepath.Join(tmp, "credentials.yaml"), "REQUEST_TIMEOUT": "5s", "AUDIT_LOG": filepath.Join(tmp, "audit.log"),
	} {
		t.Setenv("SCIM2LDAP_"+k, v)
	}
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan [2]net.Addr, 1)
	exit := make(chan int, 1)
	go func() {
		exit <- serveCtx(ctx, cfg, zerolog.New(logs), logs, func(m, o net.Addr) { addrs <- [2]net.Addr{m, o} })
	}()
	var mainAddr, opsAddr string
	select {
	case a := <-addrs:
		mainAddr, opsAddr = a[0].String(), a[1].String()
	case code := <-exit:
		t.Fatalf("serve exited %d: %s", code, logs.String())
	}
	base := "https://" + mainAddr + "/scim/v2"

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(serverCA.pem)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	get := func(c *http.Client, method, url, auth string, body io.Reader) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, body)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	servedCN := func() string {
		res, _ := get(client(), "GET", base+"/ServiceProviderConfig", "Bearer "+token, nil)
		if res.StatusCode != 200 {
			t.Fatalf("ServiceProviderConfig: %d", res.StatusCode)
		}
		return res.TLS.PeerCertificates[0].Subject.CommonName
	}

	// TLS, then reload.
	if cn := servedCN(); cn != "first" {
		t.Fatalf("serving %q", cn)
	}
	writePair("second-after-reload")
	if cn := servedCN(); cn != "second-after-reload" {
		t.Errorf("after rewriting the files: serving %q", cn)
	}
	os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"), 0o600)
	if cn := servedCN(); cn != "second-after-reload" {
		t.Errorf("after a broken write: serving %q, want the previous certificate", cn)
	}
	if !strings.Contains(logs.String(), "do not load") {
		t.Error("the broken certificate should be logged")
	}
	writePair("third")
	if cn := servedCN(); cn != "third" {
		t.Errorf("after repairing the files: serving %q", cn)
	}
	// Plain HTTP is refused on the TLS port.
	if _, err := http.Get("http://" + mainAddr + "/healthz"); err == nil {
		if res, err := http.Get("http://" + mainAddr + "/healthz"); err == nil && res.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS listener")
		}
	}

	// mTLS: a verified client certificate authenticates, with its (read-only) scope.
	cc, ck := clientCA.issue(t, "hr-feed.example.org", true)
	pair, _ := tls.X509KeyPair(cc, ck)
	if res, body := get(client(pair), "GET", base+"/Users", "", nil); res.StatusCode != 200 {
		t.Errorf("client certificate GET: %d %s", res.StatusCode, body)
	}
	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"drain-user","name":{"givenName":"D","familyName":"U"}}`
	if res, body := get(client(pair), "POST", base+"/Users", "", strings.NewReader(user)); res.StatusCode != 403 {
		t.Errorf("read-only client certificate POST: %d %s", res.StatusCode, body)
	}
	if res, _ := get(client(), "GET", base+"/Users", "", nil); res.StatusCode != 401 {
		t.Errorf("no certificate, no header: %d", res.StatusCode)
	}
	// A certificate from another CA fails the handshake.
	other := newCA(t, "other CA")
	oc, ok := other.issue(t, "hr-feed.example.org", true)
	opair, _ := tls.X509KeyPair(oc, ok)
	forced := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &opair, nil }}}}
	if res, err := forced.Get(base + "/Users"); err == nil {
		res.Body.Close()
		t.Errorf("a client certificate of an unknown CA was accepted: %d", res.StatusCode)
	}

	// healthcheck verb, explicit URL and from the environment (SCIM2LDAP_METRICS_ADDR).
	var out, errOut bytes.Buffer
	if code := run([]string{"healthcheck", "http://" + opsAddr + "/healthz"}, &out, &errOut); code != 0 {
		t.Errorf("healthcheck: %d %s", code, errOut.String())
	}
	t.Setenv("SCIM2LDAP_METRICS_ADDR", opsAddr)
	if code := run([]string{"healthcheck"}, &out, &errOut); code != 0 {
		t.Errorf("healthcheck from env: %d %s", code, errOut.String())
	}
	if res, err := http.Get("http://" + opsAddr + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Errorf("readyz on the ops address: %v", err)
	}

	// Drain: a request in flight when SIGTERM comes still gets its answer.
	pr, pw := io.Pipe()
	type result struct {
		status int
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/Users", pr)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := client().Do(req)
		if err != nil {
			resc <- result{0, err}
			return
		}
		res.Body.Close()
		resc <- result{res.StatusCode, nil}
	}()
	pw.Write([]byte(user[:20]))
	for i := 0; ; i++ { // wait until the gateway holds the request
		res, err := http.Get("http://" + opsAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(b), "scim2ldap_http_requests_in_flight 1") {
				break
			}
		}
		if i == 400 {
			t.Fatal("the request never got in flight")
		}
		time.Sleep(25 * time.Millisecond)
	}
	cancel()            // SIGTERM
	for i := 0; ; i++ { // new connections are refused once shutdown began
		if _, err := net.DialTimeout("tcp", mainAddr, time.Second); err != nil {
			break
		}
		if i == 400 {
			t.Fatal("still accepting connections after SIGTERM")
		}
		time.Sleep(25 * time.Millisecond)
	}
	pw.Write([]byte(user[20:]))
	pw.Close()
	if r := <-resc; r.err != nil || r.status != 201 {
		t.Errorf("in-flight request during drain: %d %v", r.status, r.err)
	}
	if code := <-exit; code != 0 {
		t.Errorf("serve exited %d", code)
	}
	audit, _ := os.ReadFile(filepath.Join(tmp, "audit.log"))
	if !strings.Contains(string(audit), `"operation":"create"`) || strings.Contains(string(audit), token) {
		t.Errorf("audit log file: %s", audit)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), dir.Password) {
		t.Error("a secret is in the log")
	}
}
