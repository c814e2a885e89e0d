package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/reconcile"
)

const reconcileUsage = `usage: scim2ldap reconcile [flags]
  a read-only report over the directory, through the mapping: every entry of every resource type,
  page by page, as the gateway reads it. It finds
    unmanaged           entries with no sign of an identity provider: no externalId and (OpenLDAP)
                        neither created nor last modified by the gateway's bind DN (creatorsName,
                        modifiersName)
    dangling            member and manager values that name no entry (the next entry created with
                        that name inherits the grant)
    unmapped-reference  member and manager values naming an entry of no resource type (SCIM clients
                        never see them, so no IdP can remove them)
    unrenderable        what SCIM cannot show: a required attribute without a value, a value not in
                        its SCIM type's syntax, extra values of a single-valued attribute
    duplicate           values of uniqueness: server attributes held by several entries
    lock-mismatch       accounts whose lock state (ppolicy pwdAccountLockedTime; AD ACCOUNTDISABLE,
                        lockout, accountExpires) disagrees with active
    missing-object-class  entries without an object class the mapping gives new entries (e.g.
                        extensibleObject): the gateway's writes of what only it allows are refused
  Output: a table (default), --json or --csv, on stdout. Exit 0 when clean, 1 with findings (with
  --fix-dangling: findings other than the dangling values it removed), 2 on bad usage, a mapping
  that does not load, or a directory that cannot be read. Defaults come from the gateway's own
  SCIM2LDAP_* variables (SCIM2LDAP_LDAP_TIMEOUT bounds each operation); passwords only from them or
  files. docs/reconcile.md has a worked migration example.
  --mapping FILE               (default $SCIM2LDAP_MAPPING_FILE, then mappings.example.yaml)
  --ldap-url URL               (default $SCIM2LDAP_LDAP_URL)
  --bind-dn DN                 (default $SCIM2LDAP_LDAP_BIND_DN)
  --bind-password-file FILE    (default $SCIM2LDAP_LDAP_BIND_PASSWORD_FILE, else $SCIM2LDAP_LDAP_BIND_PASSWORD)
  --ca-file FILE               (default $SCIM2LDAP_LDAP_CA_FILE)
  --starttls                   StartTLS on an ldap:// URL (default $SCIM2LDAP_LDAP_STARTTLS)
  --gateway-dn DN              the gateway's bind DN, whose writes count as an IdP's (default --bind-dn);
                               set it when reconcile binds as another account
  --skip LIST                  checks to leave out, comma-separated: the kinds above, external-id or
                               writer (the two tests of unmanaged; e.g. external-id for Okta, which
                               sends no externalId)
  --page-size N                entries per paged-results page (default 500)
  --json                       the report as JSON: {"findings": [{"kind", "resourceType", "dn", "id",
                               "attribute", "ldapAttribute", "value", "detail"}], "summary": {"scanned",
                               "counts", "notChecked", "removed", "fixErrors", "clean"}}
  --csv                        the findings as CSV with a header row (removals as rows of kind removed)
  --fix-dangling               remove the dangling member and manager values found (never by default):
                               the gateway's own reference upkeep, each removal an audit event
                               (SCIM2LDAP_AUDIT_LOG: stdout, stderr or a file; default stderr);
                               refused (exit 2) when SCIM2LDAP_MODE=plan is set
`

// reconcileFlags are reconcile's flags (reconcileUsage describes each).
type reconcileFlags struct {
	fs                                                    *flag.FlagSet
	mapping, url, bindDN, pwFile, caFile, gatewayDN, skip *string
	startTLS, asJSON, asCSV, fix                          *bool
	pageSize                                              *int
}

func newReconcileFlags() reconcileFlags {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	startTLS, _ := strconv.ParseBool(os.Getenv("SCIM2LDAP_LDAP_STARTTLS"))
	return reconcileFlags{fs: fs,
		mapping:   fs.String("mapping", envOr("SCIM2LDAP_MAPPING_FILE", "mappings.example.yaml"), ""),
		url:       fs.String("ldap-url", os.Getenv("SCIM2LDAP_LDAP_URL"), ""),
		bindDN:    fs.String("bind-dn", os.Getenv("SCIM2LDAP_LDAP_BIND_DN"), ""),
		pwFile:    fs.String("bind-password-file", os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE"), ""),
		caFile:    fs.String("ca-file", os.Getenv("SCIM2LDAP_LDAP_CA_FILE"), ""),
		startTLS:  fs.Bool("starttls", startTLS, ""),
		gatewayDN: fs.String("gateway-dn", "", ""),
		skip:      fs.String("skip", "", ""),
		pageSize:  fs.Int("page-size", 500, ""),
		asJSON:    fs.Bool("json", false, ""),
		asCSV:     fs.Bool("csv", false, ""),
		fix:       fs.Bool("fix-dangling", false, ""),
	}
}

// reconcileCmd implements `scim2ldap reconcile`: reconcile.Run with the
// gateway's settings, the report on stdout. Exit 0 when clean, 1 with
// findings, 2 for bad usage, a mapping that doesn't load or a directory that
// can't be read.
func reconcileCmd(args []string, stdout, stderr io.Writer) int {
	f := newReconcileFlags()
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "scim2ldap reconcile: "+format+"\n", a...)
		return 2
	}
	if err := f.fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "scim2ldap reconcile: %v\n%s", err, reconcileUsage)
		return 2
	}
	switch {
	case f.fs.NArg() > 0:
		return fail("unexpected argument %q (scim2ldap reconcile --help)", f.fs.Arg(0))
	case *f.url == "":
		return fail("give --ldap-url or set SCIM2LDAP_LDAP_URL (e.g. ldap://127.0.0.1:389)")
	case *f.asJSON && *f.asCSV:
		return fail("--json and --csv exclude each other")
	case *f.pageSize <= 0:
		return fail("--page-size must be a positive number of entries, e.g. 500")
	case refusedInPlanMode(*f.fix, "--fix-dangling") != "":
		return fail("%s", refusedInPlanMode(*f.fix, "--fix-dangling"))
	}
	var skip []string
	for _, s := range strings.Split(*f.skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		known := s == "external-id" || s == "writer"
		for _, k := range reconcile.Kinds {
			known = known || s == string(k)
		}
		if !known {
			return fail("--skip %q: not a check; one of unmanaged, external-id, writer, dangling, unmapped-reference, unrenderable, duplicate, lock-mismatch, missing-object-class", s)
		}
		skip = append(skip, s)
	}
	password, err := secret(*f.pwFile, os.Getenv("SCIM2LDAP_LDAP_BIND_PASSWORD"))
	if err != nil {
		return fail("%v", err)
	}
	m, err := mapping.Load(*f.mapping)
	if err != nil {
		return fail("the mapping does not load (scim2ldap mapping check %s):\n%v", *f.mapping, err)
	}
	timeout, err := time.ParseDuration(envOr("SCIM2LDAP_LDAP_TIMEOUT", "10s"))
	if err != nil || timeout <= 0 {
		timeout = 10 * time.Second
	}
	store, err := ldapstore.Open(ldapstore.Config{URL: *f.url, BindDN: *f.bindDN, BindPassword: password, CAFile: *f.caFile,
		StartTLS: *f.startTLS, Conns: 2, Timeout: timeout})
	if err != nil {
		return fail("%v", err)
	}
	defer store.Close()
	format := "table"
	if *f.asJSON {
		format = "json"
	} else if *f.asCSV {
		format = "csv"
	}
	w, err := reconcile.NewWriter(format, stdout)
	if err != nil {
		return fail("%v", err)
	}
	audit := zerolog.Nop()
	if *f.fix {
		dest, closeAudit, err := openAudit(os.Getenv("SCIM2LDAP_AUDIT_LOG"))
		if err != nil {
			return fail("SCIM2LDAP_AUDIT_LOG: %v", err)
		}
		defer closeAudit()
		if dest == nil || dest == os.Stderr {
			dest = stderr
		}
		audit = zerolog.New(dest).With().Timestamp().Logger()
	}
	gatewayDN := *f.gatewayDN
	if gatewayDN == "" {
		gatewayDN = *f.bindDN
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := reconcile.Run(ctx, reconcile.Options{Mapping: m, Store: store, GatewayDN: gatewayDN, Skip: skip, PageSize: *f.pageSize,
		FixDangling: *f.fix, Audit: audit, Log: zerolog.New(stderr).With().Timestamp().Logger(), OnFinding: w.Finding})
	if err != nil {
		return fail("%v", err)
	}
	if err := w.Close(sum); err != nil {
		return fail("%v", err)
	}
	for _, e := range sum.FixErrors {
		fmt.Fprintf(stderr, "scim2ldap reconcile: not removed: %s\n", e)
	}
	if !sum.Clean {
		return 1
	}
	return 0
}
