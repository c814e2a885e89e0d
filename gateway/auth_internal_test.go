package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http/httptest"
	"testing"
)

// A client certificate that names the subjects of two credentials (its CN one,
// a DNS name the other) gets the first one's scope, planned when either plans:
// a certificate that a plan: true credential names never writes, whatever
// else it names.
func TestClientCertificatePlanWins(t *testing.T) {
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: "hr-feed"}, DNSNames: []string{"staging.hr.example.org"}}
	for name, certs := range map[string][]CertCredential{
		"plan first": {
			{Name: "staging", Subject: "staging.hr.example.org", Scope: Scope{Scope: "read-write", Plan: true}},
			{Name: "prod", Subject: "hr-feed", Scope: Scope{Scope: "read-write"}},
		},
		"plan second": {
			{Name: "prod", Subject: "hr-feed", Scope: Scope{Scope: "read-write"}},
			{Name: "staging", Subject: "staging.hr.example.org", Scope: Scope{Scope: "read-write", Plan: true}},
		},
	} {
		a := newAuthenticator(nil, &Credentials{ClientCertificates: certs}, nil)
		r := httptest.NewRequest("POST", "/scim/v2/Users", nil)
		r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}
		id, fail := a.identify(r)
		if fail != nil || id == nil || !id.scope.Plan || !id.scope.CanWrite() {
			t.Errorf("%s: identity %+v, failure %v: want a read-write scope in plan mode", name, id, fail)
		}
	}
}
