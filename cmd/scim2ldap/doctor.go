package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/preflight"
)

const doctorUsage = `usage: scim2ldap doctor [flags]
  a pre-flight check of a live directory against the mapping, as the gateway would use them: TLS and
  the certificate's expiry, the bind, the mapping against the schema, base DNs, the bind account's
  rights to read, create, modify, rename and delete there, the overlays the mapping depends on
  (memberof, refint, ppolicy, sssvlv), equality indexes, the size limit against
  SCIM2LDAP_MAX_PAGE_SIZE, and on Active Directory the effective rights. Each finding comes with
  its fix. Read-only unless --write-probe. Exit 0 when nothing blocks serving, 1 otherwise.
  Defaults come from the gateway's own SCIM2LDAP_* variables (SCIM2LDAP_LDAP_TIMEOUT bounds each
  operation); passwords only from them or files.
  --mapping FILE               (default $SCIM2LDAP_MAPPING_FILE, then mappings.example.yaml)
` + ldapFlagsUsage + `  --config-bind-dn DN          OpenLDAP: a DN that may read cn=config (e.g. cn=admin,cn=config), to
                               read overlays, indexes and limits instead of inferring them
  --config-password-file FILE  its password
  --max-page-size N            (default $SCIM2LDAP_MAX_PAGE_SIZE, then 1000)
  --write-probe                also create, modify, rename and delete one probe entry per resource
                               type (named s2l-doctor-…): proves the rights end to end; refused
                               (exit 2) when SCIM2LDAP_MODE=plan is set
  --json                       the report as JSON: {"ok": bool, "findings": [{"check", "severity",
                               "subject", "message", "fix"}]}
  --verbose                    also list the checks that passed
`

// doctorFlags are doctor's flags (doctorUsage describes each).
type doctorFlags struct {
	fs                                  *flag.FlagSet
	ldap                                ldapFlags
	mapping, configBindDN, configPwFile *string
	writeProbe, asJSON, verbose         *bool
	maxPageSize                         *int
}

func newDoctorFlags() doctorFlags {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	maxPage, err := strconv.Atoi(os.Getenv("SCIM2LDAP_MAX_PAGE_SIZE"))
	if err != nil {
		maxPage = 1000
	}
	return doctorFlags{fs: fs,
		mapping:      fs.String("mapping", envOr("SCIM2LDAP_MAPPING_FILE", "mappings.example.yaml"), ""),
		ldap:         addLDAPFlags(fs),
		configBindDN: fs.String("config-bind-dn", "", ""),
		configPwFile: fs.String("config-password-file", "", ""),
		maxPageSize:  fs.Int("max-page-size", maxPage, ""),
		writeProbe:   fs.Bool("write-probe", false, ""),
		asJSON:       fs.Bool("json", false, ""),
		verbose:      fs.Bool("verbose", false, ""),
	}
}

// doctorCmd implements `scim2ldap doctor`: preflight.Run with the gateway's
// settings, the report as text or JSON on stdout. Exit 0 when the report has
// no error, 1 when it has (or the mapping doesn't load), 2 for bad usage.
func doctorCmd(args []string, stdout, stderr io.Writer) int {
	f := newDoctorFlags()
	if !parseFlags(f.fs, args, "doctor", doctorUsage, stderr) {
		return 2
	}
	if msg := refusedInPlanMode(*f.writeProbe, "--write-probe"); msg != "" {
		fmt.Fprintf(stderr, "scim2ldap doctor: %s\n", msg)
		return 2
	}
	ldapCfg, err := f.ldap.config(0)
	if err == nil && *f.configBindDN != "" && *f.configPwFile == "" {
		err = fmt.Errorf("--config-bind-dn needs --config-password-file")
	}
	var configPassword string
	if err == nil {
		configPassword, err = secret(*f.configPwFile, "")
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap doctor: %v\n", err)
		return 2
	}
	var rep *preflight.Report
	m, err := mapping.Load(*f.mapping)
	if err != nil {
		rep = &preflight.Report{}
		for _, line := range strings.Split(err.Error(), "\n") {
			rep.Findings = append(rep.Findings, preflight.Finding{Check: "mapping", Severity: preflight.Error, Subject: *f.mapping, Message: line,
				Fix: "fix the mapping file (scim2ldap mapping check " + *f.mapping + ")"})
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		rep = preflight.Run(ctx, preflight.Options{Mapping: m, MaxPageSize: *f.maxPageSize, WriteProbe: *f.writeProbe,
			LDAP:         ldapCfg,
			ConfigBindDN: *f.configBindDN, ConfigBindPassword: configPassword})
	}
	// A mistyped variable (SCIM2LDAP_LDAP_BINDDN) would otherwise show only as
	// its effect (an anonymous bind, bases that seem missing): name it first.
	var typos []preflight.Finding
	for _, w := range configWarnings(nil, os.Environ()) {
		typos = append(typos, preflight.Finding{Check: "config", Severity: preflight.Warning, Subject: "environment", Message: w,
			Fix: "rename the variable as scim2ldap serve --help lists it"})
	}
	rep.Findings = append(typos, rep.Findings...)
	if *f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(rep)
	} else {
		fmt.Fprint(stdout, rep.Text(*f.verbose))
	}
	if !rep.OK {
		return 1
	}
	return 0
}
