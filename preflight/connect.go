package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// connectFinding says why ldapstore.Open failed: a refused bind, a
// certificate that doesn't verify, or a directory that can't be reached.
func connectFinding(cfg ldapstore.Config, err error) Finding {
	var le *ldap.Error
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	switch {
	case errors.As(err, &le) && le.ResultCode == ldap.LDAPResultInvalidCredentials:
		return Finding{Check: "bind", Severity: Error, Subject: cfg.BindDN,
			Message: fmt.Sprintf("the directory refused the bind as %q: invalid credentials (LDAP 49)", cfg.BindDN),
			Fix:     "check SCIM2LDAP_LDAP_BIND_DN (the full DN of the service account) and its password (SCIM2LDAP_LDAP_BIND_PASSWORD or _FILE); on OpenLDAP test it with: ldapwhoami -x -H " + cfg.URL + " -D '" + cfg.BindDN + "' -W"}
	case errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &cerr):
		return Finding{Check: "connect", Severity: Error, Subject: cfg.URL,
			Message: fmt.Sprintf("the directory's TLS certificate does not verify: %v", err),
			Fix:     "set SCIM2LDAP_LDAP_CA_FILE to the PEM of the CA that issued the directory's certificate, and use the host name the certificate names in SCIM2LDAP_LDAP_URL"}
	case le != nil && le.ResultCode != ldap.ErrorNetwork:
		return Finding{Check: "bind", Severity: Error, Subject: cfg.BindDN,
			Message: fmt.Sprintf("binding as %q failed: %v", cfg.BindDN, err),
			Fix:     "check SCIM2LDAP_LDAP_BIND_DN and its password; a directory that requires TLS for binds needs an ldaps:// URL or SCIM2LDAP_LDAP_STARTTLS=true"}
	}
	return Finding{Check: "connect", Severity: Error, Subject: cfg.URL,
		Message: fmt.Sprintf("cannot reach the directory at %s: %v", cfg.URL, err),
		Fix:     "check SCIM2LDAP_LDAP_URL (ldap://host:389 or ldaps://host:636), that the directory listens there, and that no firewall is between"}
}

func bindFinding(cfg ldapstore.Config) Finding {
	if cfg.BindDN == "" {
		return Finding{Check: "bind", Severity: Warning, Message: "bound anonymously: most directories let an anonymous client read little and write nothing",
			Fix: "set SCIM2LDAP_LDAP_BIND_DN and SCIM2LDAP_LDAP_BIND_PASSWORD (or _FILE) to the gateway's service account"}
	}
	return Finding{Check: "bind", Severity: OK, Subject: cfg.BindDN, Message: fmt.Sprintf("bound as %q", cfg.BindDN)}
}

// certWarning is how long before expiry a certificate is reported.
const certWarning = 30 * 24 * time.Hour

// checkTLS reads the directory's certificate (ldaps:// or StartTLS) and says
// when it expires; on plain ldap:// it warns that binds and passwords travel
// in clear. Verification itself is the bind's business (connectFinding):
// here the chain is read without verifying, to report expiry even of a
// certificate that no longer verifies.
//
// Of a list of servers (SCIM2LDAP_LDAP_URL "ldaps://a ldaps://b"), every one
// is checked: after a failover the gateway binds and sends passwords to the
// next, so a plain ldap:// server anywhere in the list is a warning, and so is
// a server of the list that does not answer (the gateway would fail over).
func (r *run) checkTLS(ctx context.Context) {
	cfg := r.opts.LDAP
	urls, err := ldapstore.SplitURLs(cfg.URL)
	if err != nil {
		urls = []string{cfg.URL}
	}
	for i, raw := range urls {
		subject := raw
		if len(urls) > 1 {
			subject = fmt.Sprintf("%s (server %d of %d)", raw, i+1, len(urls))
		}
		r.checkServerTLS(ctx, raw, subject, len(urls) > 1)
	}
}

// checkServerTLS is checkTLS for one server of the list, named subject; inList
// says whether it is one of several (then it is also checked to answer).
func (r *run) checkServerTLS(ctx context.Context, raw, subject string, inList bool) {
	cfg := r.opts.LDAP
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldaps" && !cfg.StartTLS) {
		r.add(Finding{Check: "tls.certificate", Severity: Warning, Subject: subject,
			Message: "the connection to the directory is not encrypted: the bind password and every password SCIM clients set travel in clear",
			Fix:     "use an ldaps:// URL in SCIM2LDAP_LDAP_URL, or set SCIM2LDAP_LDAP_STARTTLS=true (with SCIM2LDAP_LDAP_CA_FILE for a private CA)"})
		if inList && err == nil {
			if c, derr := ldap.DialURL(raw, ldap.DialWithDialer(&net.Dialer{Timeout: timeout})); derr != nil {
				r.add(Finding{Check: "connect", Severity: Warning, Subject: subject,
					Message: fmt.Sprintf("this server of the list does not answer (%v): the gateway fails over to the next one", derr),
					Fix:     "start it, or remove it from SCIM2LDAP_LDAP_URL"})
			} else {
				c.Close()
			}
		}
		return
	}
	host := u.Hostname()
	insecure := &tls.Config{InsecureSkipVerify: true, ServerName: host} // #nosec: only reads the chain's dates
	var state tls.ConnectionState
	if u.Scheme == "ldaps" {
		port := u.Port()
		if port == "" {
			port = "636"
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: insecure}
		c, derr := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if derr != nil {
			err = derr
		} else {
			state = c.(*tls.Conn).ConnectionState()
			c.Close()
		}
	} else {
		c, derr := ldap.DialURL(raw, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}))
		if derr != nil {
			err = derr
		} else {
			if err = c.StartTLS(insecure); err == nil {
				state, _ = c.TLSConnectionState()
			}
			c.Close()
		}
	}
	if err != nil || len(state.PeerCertificates) == 0 {
		severity := Skipped
		if inList {
			severity = Warning // a server of the list that doesn't answer: the gateway fails over
		}
		r.add(Finding{Check: "tls.certificate", Severity: severity, Subject: subject, Message: fmt.Sprintf("could not read the directory's certificate: %v", err)})
		return
	}
	leaf := state.PeerCertificates[0]
	left := leaf.NotAfter.Sub(r.opts.Now)
	subject += ": " + leaf.Subject.String()
	switch {
	case left <= 0:
		r.add(Finding{Check: "tls.certificate", Severity: Error, Subject: subject,
			Message: fmt.Sprintf("the directory's certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly)),
			Fix:     "renew the directory's certificate (OpenLDAP: olcTLSCertificateFile and olcTLSCertificateKeyFile; AD: the domain controller's certificate)"})
	case left < certWarning:
		r.add(Finding{Check: "tls.certificate", Severity: Warning, Subject: subject,
			Message: fmt.Sprintf("the directory's certificate expires on %s, in %d days", leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)),
			Fix:     "renew the directory's certificate before then"})
	default:
		r.add(Finding{Check: "tls.certificate", Severity: OK, Subject: subject,
			Message: fmt.Sprintf("the directory's certificate is valid until %s", leaf.NotAfter.UTC().Format(time.DateOnly))})
	}
}
