// Package preflight checks a live directory against a mapping before the
// gateway serves it, the way an admin would by hand: do the bases exist, may
// the bind account read, create, modify, rename and delete there, are the
// overlays and settings the mapping's features depend on in place (memberof,
// refint, ppolicy, sssvlv; on Active Directory the rights on unicodePwd and
// userAccountControl), are the attributes the gateway searches by indexed, do
// the directory's limits fit SCIM2LDAP_MAX_PAGE_SIZE, and when does its TLS
// certificate expire. Each Finding carries the exact fix: the LDIF to apply,
// the delegation to grant, or the line of the mapping to change.
//
// It is read-only unless Options.WriteProbe is set; then it creates, modifies,
// renames and deletes one entry named s2l-doctor-… per resource
// type. It imports ldapstore and mapping only, so the gateway (readiness) and
// the scim2ldap command (doctor, mapping check, start-up) share its rules.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Severity says whether a finding blocks serving.
type Severity string

const (
	// Error: the gateway would fail requests (a missing base, a right the
	// mapping needs, an overlay a mapped attribute depends on).
	Error Severity = "error"
	// Warning: it works, but slower, less safely or not for long (no index,
	// a certificate that expires within 30 days, refint missing).
	Warning Severity = "warning"
	// OK: checked and fine.
	OK Severity = "ok"
	// Skipped: could not be checked; Message says why and Fix how to check it.
	Skipped Severity = "skipped"
)

// Finding is one result of a check. Check is a stable identifier for
// automation (the values are a contract, listed in docs/doctor.md):
// connect, bind, schema, base, read, rights.add, rights.modify, rights.rename,
// rights.delete, write-probe, config, overlay.memberof, overlay.refint,
// overlay.ppolicy, overlay.sssvlv, index, limits.size, limits.time,
// tls.certificate, ad.rights, plugin.usn, plugin.memberof, plugin.refint
// (389 DS) (and mapping, which the doctor command adds for
// a mapping file that does not load).
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Subject  string   `json:"subject,omitempty"` // what it is about: a DN, an attribute, an overlay
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"` // the exact remedy: LDIF, a command, a mapping edit
}

// Report is every finding of a run, in the order checked.
type Report struct {
	// OK is true when no finding is an Error: nothing blocks serving.
	OK       bool      `json:"ok"`
	Findings []Finding `json:"findings"`
}

// Options is what Run checks and how.
type Options struct {
	Mapping *mapping.Mapping
	// LDAP is how the gateway reaches the directory (SCIM2LDAP_LDAP_*): Run
	// binds with it, so rights are the gateway's own.
	LDAP ldapstore.Config
	// ConfigBindDN and ConfigBindPassword, when set, bind a second connection
	// that may read OpenLDAP's cn=config (e.g. cn=admin,cn=config): overlays,
	// their settings, indexes and limits are then read rather than inferred.
	ConfigBindDN, ConfigBindPassword string
	// MaxPageSize is SCIM2LDAP_MAX_PAGE_SIZE (default 1000), compared with the
	// directory's size limits.
	MaxPageSize int
	// WriteProbe creates, modifies, renames and deletes one probe entry per
	// resource type, proving the rights end to end (it writes!).
	WriteProbe bool
	// Now is the time certificates are judged at (default time.Now()).
	Now time.Time
}

// run is the state of one Run.
type run struct {
	opts   Options
	m      *mapping.Mapping
	store  *ldapstore.Store
	schema *ldapstore.Schema
	config *configReader // nil when cn=config can't be read
	rep    *Report
}

func (r *run) add(f Finding) {
	if f.Severity == Error {
		r.rep.OK = false
	}
	r.rep.Findings = append(r.rep.Findings, f)
}

// Run checks the directory against the mapping and returns every finding.
// It never returns an error: a check that can't run is a Skipped finding, a
// directory that can't be reached or bound an Error one (and nothing else is
// checked then).
func Run(ctx context.Context, opts Options) *Report {
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &run{opts: opts, m: opts.Mapping, rep: &Report{OK: true}}
	cfg := opts.LDAP
	cfg.Conns, cfg.StartUnreachable = 1, false
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	r.checkTLS(ctx)
	store, err := ldapstore.Open(cfg)
	if err != nil {
		r.add(connectFinding(cfg, err))
		return r.rep
	}
	defer store.Close()
	r.store = store
	r.add(bindFinding(cfg))
	c, err := openConfigReader(opts, cfg)
	if c != nil {
		defer c.close()
		if c.load(ctx, store, r.m) {
			r.config = c
		} else if opts.ConfigBindDN != "" {
			err = errors.New("no database under cn=config holds the mapping's first base")
		}
	}
	if err != nil && opts.ConfigBindDN != "" {
		r.add(Finding{Check: "config", Severity: Warning, Subject: opts.ConfigBindDN,
			Message: fmt.Sprintf("could not read cn=config as %q: %v; overlays, indexes and limits are inferred instead", opts.ConfigBindDN, err),
			Fix:     "check --config-bind-dn and --config-password-file (slapd-up.sh and Debian's slapd: cn=admin,cn=config), and that it may read cn=config"})
	}
	r.checkSchema(ctx)
	missing := r.checkBases(ctx)
	r.checkRights(ctx, missing)
	r.checkOverlays()
	if r.m.Dialect.Flavor == mapping.Flavor389DS {
		r.checkDS389(ctx)
	}
	r.checkIndexes(ctx)
	r.checkLimits(ctx)
	if r.m.Dialect.IsAD() {
		r.checkAD(ctx, missing)
	}
	return r.rep
}

// Text renders the report for a terminal: one block per finding that is not
// OK (all of them with verbose), its fix under it as is (not indented: LDIF
// and here-documents must paste unchanged), and a last line with the counts.
func (rep *Report) Text(verbose bool) string {
	var b strings.Builder
	counts := map[Severity]int{}
	for _, f := range rep.Findings {
		counts[f.Severity]++
		if f.Severity == OK && !verbose {
			continue
		}
		fmt.Fprintf(&b, "%-7s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Check, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(&b, "  fix:\n%s\n\n", strings.TrimRight(f.Fix, "\n"))
		}
	}
	verdict := "nothing blocks serving"
	if !rep.OK {
		verdict = "fix the errors above before serving"
	}
	fmt.Fprintf(&b, "%d errors, %d warnings, %d skipped, %d ok: %s\n", counts[Error], counts[Warning], counts[Skipped], counts[OK], verdict)
	return b.String()
}
