package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

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
` + ldapFlagsUsage + `  --gateway-dn DN              the gateway's bind DN, whose writes count as an IdP's (default --bind-dn);
                               set it when reconcile binds as another account
  --skip LIST                  checks to leave out, comma-separated: the kinds above, external-id or
                               writer (the two tests of unmanaged; e.g. external-id for Okta, which
                               sends no externalId)
  --page-size N                entries per paged-results page (default 500)
  --json                       the report as JSON: {"findings": [{"kind", "resourceType", "dn", "id",
                               "attribute", "ldapAttribute", "value", "detail"}], "summary": {"scanned",
                               "counts", "notChecked", "removed", "fixErrors", "clean"}}
  --csv                        the findings as CSV with a header row (removals as rows of kind removed)
  --fix-dangling               remove the dangling member and manager values found under the
                               mapping's bases (never by default; outside them an access control may
                               hide an entry that exists): the gateway's own reference upkeep, each
                               removal an audit event
                               (SCIM2LDAP_AUDIT_LOG: stderr, a file, or stdout but not with --json or
                               --csv, which it would corrupt; default stderr); refused (exit 2)
                               when SCIM2LDAP_MODE=plan is set
`

// reconcileFlags are reconcile's flags (reconcileUsage describes each).
type reconcileFlags struct {
	fs                       *flag.FlagSet
	ldap                     ldapFlags
	mapping, gatewayDN, skip *string
	asJSON, asCSV, fix       *bool
	pageSize                 *int
}

func newReconcileFlags() reconcileFlags {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return reconcileFlags{fs: fs,
		mapping:   fs.String("mapping", envOr("SCIM2LDAP_MAPPING_FILE", "mappings.example.yaml"), ""),
		ldap:      addLDAPFlags(fs),
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
	if !parseFlags(f.fs, args, "reconcile", reconcileUsage, stderr) {
		return 2
	}
	switch {
	case *f.asJSON && *f.asCSV:
		return fail("--json and --csv exclude each other")
	case *f.pageSize <= 0 || *f.pageSize > math.MaxInt32: // RFC 2696: size is an INTEGER (0..maxInt)
		return fail("--page-size must be a positive number of entries, at most %d, e.g. 500", math.MaxInt32)
	case *f.fix && (*f.asJSON || *f.asCSV) && strings.EqualFold(os.Getenv("SCIM2LDAP_AUDIT_LOG"), "stdout"):
		return fail("SCIM2LDAP_AUDIT_LOG=stdout would mix the audit events of --fix-dangling into the report on stdout: set it to stderr or a file")
	case refusedInPlanMode(*f.fix, "--fix-dangling") != "":
		return fail("%s", refusedInPlanMode(*f.fix, "--fix-dangling"))
	}
	var skip []string
	for _, s := range strings.Split(*f.skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		checks := []string{"external-id", "writer"}
		for _, k := range reconcile.Kinds {
			checks = append(checks, string(k))
		}
		if !slices.Contains(checks, s) {
			return fail("--skip %q: not a check; one of %s", s, strings.Join(checks, ", "))
		}
		skip = append(skip, s)
	}
	ldapCfg, err := f.ldap.config(2)
	if err != nil {
		return fail("%v", err)
	}
	m, err := mapping.Load(*f.mapping)
	if err != nil {
		return fail("the mapping does not load (scim2ldap mapping check %s):\n%v", *f.mapping, err)
	}
	store, err := ldapstore.Open(ldapCfg)
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
		gatewayDN = ldapCfg.BindDN
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
	if changed := changedAsGateway(sum, ldapCfg.BindDN, gatewayDN); len(changed) > 0 {
		fmt.Fprintf(stderr, "scim2ldap reconcile: the removals were written as %s, the gateway's account: from now on reconcile "+
			"counts %s as last modified by the gateway (modifiersName; the writer test of unmanaged) whether an IdP manages "+
			"them or not; this run's findings of them stand. To keep that test telling, bind --fix-dangling as another "+
			"account (--bind-dn, --bind-password-file) with --gateway-dn %s\n", gatewayDN, strings.Join(changed, "; "), gatewayDN)
	}
	if !sum.Clean {
		return 1
	}
	return 0
}

// changedAsGateway returns the entries --fix-dangling changed (distinct, in
// order) when it bound as the gateway's own account: slapd then records that
// account as their modifiersName (RFC 4512 §3.4), which reconcile's writer
// test reads as a sign that an IdP manages them. None otherwise.
func changedAsGateway(sum *reconcile.Summary, bindDN, gatewayDN string) []string {
	if bindDN == "" || mapping.RefKey(bindDN) != mapping.RefKey(gatewayDN) {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range sum.Removed {
		if k := mapping.RefKey(r.DN); !seen[k] {
			seen[k] = true
			out = append(out, r.DN)
		}
	}
	return out
}
