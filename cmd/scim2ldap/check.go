package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/preflight"
)

const checkUsage = `usage: scim2ldap mapping check [flags] FILE...
  validates mapping files and prints every problem as file:line:col: message (exit 1 if any).
  With --ldap-url, it also reads the directory's schema (cn=Subschema) and reports LDAP attributes
  and object classes it doesn't define, attributes the object classes don't allow, MUST attributes
  nothing fills, and base DNs the directory doesn't have (or doesn't show the bind account). The
  bind password comes from SCIM2LDAP_LDAP_BIND_PASSWORD or a file, never from the command line.
  (scim2ldap doctor checks more: rights, overlays, indexes, limits, TLS.)
  --ldap-url URL               ldap://host:port or ldaps://host:port
  --bind-dn DN                 (default $SCIM2LDAP_LDAP_BIND_DN)
  --bind-password-file FILE    (default $SCIM2LDAP_LDAP_BIND_PASSWORD_FILE)
  --ca-file FILE               (default $SCIM2LDAP_LDAP_CA_FILE)
  --starttls                   StartTLS on an ldap:// URL
`

// checkFlags are mapping check's flags (checkUsage describes each).
type checkFlags struct {
	fs                          *flag.FlagSet
	url, bindDN, pwFile, caFile *string
	startTLS                    *bool
}

func newCheckFlags() checkFlags {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return checkFlags{fs: fs, url: fs.String("ldap-url", "", ""),
		bindDN:   fs.String("bind-dn", os.Getenv("SCIM2LDAP_LDAP_BIND_DN"), ""),
		pwFile:   fs.String("bind-password-file", os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE"), ""),
		caFile:   fs.String("ca-file", os.Getenv("SCIM2LDAP_LDAP_CA_FILE"), ""),
		startTLS: fs.Bool("starttls", false, "")}
}

// mappingCheck implements `scim2ldap mapping check`.
func mappingCheck(args []string, stdout, stderr io.Writer) int {
	cf := newCheckFlags()
	fs, url, bindDN, pwFile, caFile, startTLS := cf.fs, cf.url, cf.bindDN, cf.pwFile, cf.caFile, cf.startTLS
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping check: %v\n%s", err, checkUsage)
			return 2
		}
		if args = fs.Args(); len(args) > 0 {
			files, args = append(files, args[0]), args[1:]
		}
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, checkUsage)
		return 2
	}
	var schema *ldapstore.Schema
	var store *ldapstore.Store
	if *url != "" {
		password, err := secret(*pwFile, os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD"))
		if err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping check: bind %v\n", err)
			return 1
		}
		store, err = ldapstore.Open(ldapstore.Config{URL: *url, BindDN: *bindDN, BindPassword: password,
			CAFile: *caFile, StartTLS: *startTLS, Conns: 1, Timeout: 10 * time.Second})
		if err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping check: %v\n", err)
			return 1
		}
		defer store.Close()
		schema, err = store.ReadSchema(context.Background())
		if err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping check: %v\n", err)
			return 1
		}
	}
	code := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping check: %v\n", err)
			code = 1
			continue
		}
		m, problems := mapping.ParseAll(f, data)
		if schema != nil && m != nil {
			problems = append(problems, m.CheckSchema(schema)...)
			missing, err := preflight.MissingBases(context.Background(), store, m)
			if err != nil {
				fmt.Fprintf(stderr, "scim2ldap mapping check: %v\n", err)
				code = 1
			}
			for _, mb := range missing {
				problems = append(problems, mapping.Problem{File: f, Line: mb.Pos.Line, Col: mb.Pos.Col, Msg: mb.String()})
			}
			sort.SliceStable(problems, func(i, j int) bool {
				return problems[i].Line < problems[j].Line || (problems[i].Line == problems[j].Line && problems[i].Col < problems[j].Col)
			})
		}
		if len(problems) > 0 {
			fmt.Fprintln(stderr, problems)
			code = 1
			continue
		}
		var names []string
		for _, rt := range m.Types {
			names = append(names, fmt.Sprintf("%s (%d attributes)", rt.Name, len(rt.Attrs)))
		}
		against := ""
		if schema != nil {
			against = " (checked against " + *url + ")"
		}
		fmt.Fprintf(stdout, "%s: OK%s: %s\n", f, against, strings.Join(names, ", "))
	}
	return code
}
