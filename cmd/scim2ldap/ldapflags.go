package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// ldapFlagsUsage describes the flags addLDAPFlags defines, for the usages of
// doctor, reconcile and mapping init.
const ldapFlagsUsage = `  --ldap-url URL               (default $SCIM2LDAP_LDAP_URL)
  --bind-dn DN                 (default $SCIM2LDAP_LDAP_BIND_DN)
  --bind-password-file FILE    (default $SCIM2LDAP_LDAP_BIND_PASSWORD_FILE, else $SCIM2LDAP_LDAP_BIND_PASSWORD)
  --ca-file FILE               (default $SCIM2LDAP_LDAP_CA_FILE)
  --starttls                   StartTLS on an ldap:// URL (default $SCIM2LDAP_LDAP_STARTTLS)
`

// ldapFlags are the directory flags of the admin commands (doctor, reconcile,
// mapping init), their defaults the gateway's own SCIM2LDAP_* variables, so
// that a command run with the gateway's environment reads the directory as
// the gateway does.
type ldapFlags struct {
	url, bindDN, pwFile, caFile *string
	startTLS                    *bool
	envErr                      error // a variable the defaults come from that does not parse
}

// addLDAPFlags defines --ldap-url, --bind-dn, --bind-password-file, --ca-file
// and --starttls on fs (ldapFlagsUsage).
func addLDAPFlags(fs *flag.FlagSet) ldapFlags {
	var envErr error
	startTLS := false
	if v := os.Getenv("SCIM2LDAP_LDAP_STARTTLS"); v != "" {
		var err error
		if startTLS, err = strconv.ParseBool(v); err != nil {
			envErr = fmt.Errorf("SCIM2LDAP_LDAP_STARTTLS=%q: want true or false", v)
		}
	}
	return ldapFlags{
		url:      fs.String("ldap-url", os.Getenv("SCIM2LDAP_LDAP_URL"), ""),
		bindDN:   fs.String("bind-dn", os.Getenv("SCIM2LDAP_LDAP_BIND_DN"), ""),
		pwFile:   fs.String("bind-password-file", os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE"), ""),
		caFile:   fs.String("ca-file", os.Getenv("SCIM2LDAP_LDAP_CA_FILE"), ""),
		startTLS: fs.Bool("starttls", startTLS, ""),
		envErr:   envErr,
	}
}

// config returns the ldapstore.Config the flags name, with conns connections
// (0: ldapstore's default): the bind password read from --bind-password-file
// (a trailing newline dropped) or else SCIM2LDAP_LDAP_BIND_PASSWORD, each
// operation and dial bounded by SCIM2LDAP_LDAP_TIMEOUT (a Go duration,
// default 10s), as `scim2ldap serve` reads them. Errors: no URL, a password
// file that cannot be read, SCIM2LDAP_LDAP_TIMEOUT or SCIM2LDAP_LDAP_STARTTLS
// that does not parse (never silently the default: a mistyped StartTLS would
// send the password in clear).
func (l ldapFlags) config(conns int) (ldapstore.Config, error) {
	if l.envErr != nil {
		return ldapstore.Config{}, l.envErr
	}
	if *l.url == "" {
		return ldapstore.Config{}, fmt.Errorf("give --ldap-url or set SCIM2LDAP_LDAP_URL (e.g. ldaps://ldap.example.org)")
	}
	timeout := 10 * time.Second
	if v := os.Getenv("SCIM2LDAP_LDAP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return ldapstore.Config{}, fmt.Errorf("SCIM2LDAP_LDAP_TIMEOUT=%q: want a positive Go duration such as 10s", v)
		}
		timeout = d
	}
	password, err := secret(*l.pwFile, os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD"))
	if err != nil {
		return ldapstore.Config{}, fmt.Errorf("bind %w", err)
	}
	return ldapstore.Config{URL: *l.url, BindDN: *l.bindDN, BindPassword: password, CAFile: *l.caFile, StartTLS: *l.startTLS,
		Conns: conns, Timeout: timeout}, nil
}

// secret reads a password from file (a trailing newline dropped), or returns
// def when file is "".
func secret(file, def string) (string, error) {
	if file == "" {
		return def, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// parseFlags parses an admin command's arguments, which are flags only: a
// flag it doesn't know or an argument left over is bad usage, said on stderr
// with the command's usage (the caller exits 2).
func parseFlags(fs *flag.FlagSet, args []string, cmd, usage string, stderr io.Writer) bool {
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap %s: %v\n%s", cmd, err, usage)
		return false
	}
	return true
}
