// Command scim2ldap is a SCIM 2.0 (RFC 7643/7644) to LDAP gateway.
//
//	scim2ldap serve                      run the gateway (configured from SCIM2LDAP_* variables)
//	scim2ldap doctor [flags]             pre-flight check of a live directory against a mapping
//	scim2ldap reconcile [flags]          report what the directory holds that no IdP manages or SCIM can't show
//	scim2ldap mapping check FILE...      validate mapping files; problems as file:line:col: message
//	scim2ldap mapping explain INPUT      a SCIM resource as the LDIF it becomes, or back
//	scim2ldap mapping init --ldap-url URL  draft a mapping from the live directory
//	scim2ldap filter [--mapping FILE] [--type User] 'FILTER'   the LDAP filter a SCIM filter becomes
//	scim2ldap healthcheck [URL]          GET /healthz of the local gateway
//	scim2ldap version                    (or --version) version, VCS revision, Go version
//
// Every command answers -h/--help with its usage on stdout and exit 0; bad
// usage exits 2, a failed check or start-up 1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	memlimit "github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"
)

const usage = `scim2ldap — a SCIM 2.0 to LDAP gateway

Usage:
  scim2ldap serve                    run the gateway; configured from SCIM2LDAP_* variables
                                     (scim2ldap serve --help lists every one with its default)
  scim2ldap doctor [flags]           pre-flight check of a live directory against the mapping: bases,
                                     the bind account's rights, overlays, indexes, limits, TLS; each
                                     finding with its fix; exit 0 when nothing blocks serving, else 1
  scim2ldap reconcile [flags]        read-only report over the directory through the mapping: unmanaged
                                     entries, dangling references, unrenderable entries, duplicates, lock
                                     mismatches; --json, --csv, --fix-dangling; exit 0 clean, 1 findings
  scim2ldap healthcheck [URL]        GET /healthz of the local gateway (default: from
                                     SCIM2LDAP_METRICS_ADDR or SCIM2LDAP_LISTEN_ADDR); exit 0 if 200
  scim2ldap mapping check [--ldap-url URL ...] FILE...
                                     validate mapping files; every problem as file:line:col: message; with
                                     --ldap-url, also against the live directory's schema (cn=Subschema)
                                     and its base DNs
  scim2ldap mapping explain [--mapping FILE] [--type User] INPUT
                                     dry run: a SCIM resource (JSON) as the LDIF entry it becomes, or LDIF as SCIM
  scim2ldap mapping init --ldap-url URL [--idp entra|okta] [-o FILE]
                                     draft a mapping from the live directory's schema and entries, and
                                     the attribute table to configure in the IdP
  scim2ldap filter [--mapping FILE] [--type User] 'SCIM FILTER'
                                     print the LDAP filter the gateway sends for it (offline)
  scim2ldap version                  (or --version) the version, VCS revision and Go version
  scim2ldap help [COMMAND]           (or -h, --help) this text, or a command's

Every command takes -h or --help for its own usage.
`

// command is a verb: its usage (printed for -h/--help, exit 0) and its body.
type command struct {
	usage string
	run   func(args []string, stdout, stderr io.Writer) int
}

// commands are the verbs by name ("mapping check" has a space).
var commands = map[string]command{
	"serve":           {serveUsage(), serve},
	"doctor":          {doctorUsage, doctorCmd},
	"healthcheck":     {healthcheckUsage, healthcheck},
	"mapping check":   {checkUsage, mappingCheck},
	"mapping explain": {explainUsage, explainCmd},
	"mapping init":    {initUsage, mappingInit},
	"filter":          {filterUsage, filterCmd},
	"reconcile":       {reconcileUsage, reconcileCmd},
	"version":         {versionUsage, func(_ []string, stdout, _ io.Writer) int { return printVersion(stdout) }},
}

const mappingUsage = `usage: scim2ldap mapping check [--ldap-url URL ...] FILE...
       scim2ldap mapping explain [--mapping FILE] [--type User] INPUT
       scim2ldap mapping init --ldap-url URL [--idp entra|okta] [-o FILE]
  scim2ldap mapping COMMAND --help describes each.
`

const versionUsage = `usage: scim2ldap version   (or scim2ldap --version)
  prints "scim2ldap VERSION (revision REVISION, GOVERSION)": the version and revision set at link
  time (-ldflags "-X main.version=… -X main.revision=…"), else the module version and VCS revision
  the Go toolchain stamped into the binary.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			name := strings.Join(args[1:], " ")
			if c, ok := commands[name]; ok {
				fmt.Fprint(stdout, c.usage)
				return 0
			}
			if name == "mapping" {
				fmt.Fprint(stdout, mappingUsage)
				return 0
			}
			fmt.Fprintf(stderr, "scim2ldap help: unknown command %q\n\n%s", name, usage)
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "--version", "-version":
		return printVersion(stdout)
	}
	name, rest := args[0], args[1:]
	if name == "mapping" {
		if len(rest) == 0 || (rest[0] != "check" && rest[0] != "explain" && rest[0] != "init") {
			if wantsHelp(rest) {
				fmt.Fprint(stdout, mappingUsage)
				return 0
			}
			fmt.Fprint(stderr, mappingUsage)
			return 2
		}
		name, rest = "mapping "+rest[0], rest[1:]
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "scim2ldap: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if wantsHelp(rest) {
		fmt.Fprint(stdout, c.usage)
		return 0
	}
	return c.run(rest, stdout, stderr)
}

// wantsHelp reports whether args ask for help: -h, -help or --help before any
// "--" (after it, arguments are operands, e.g. a file named --help).
func wantsHelp(args []string) bool {
	end := slices.Index(args, "--")
	if end < 0 {
		end = len(args)
	}
	return slices.ContainsFunc(args[:end], func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
}

// setMemoryLimit sets Go's soft heap limit unless GOMEMLIMIT is set: 90% of
// the memory limit of the process's cgroup (a container's limit; cgroup v1 or
// v2, read by automemlimit), or fallbackMemoryLimit where there is none. Below
// the working set a soft limit makes the collector run without end instead of
// bounding anything, so the memory of large list pages is bounded by design
// (SCIM2LDAP_LIST_MEMORY_BYTES, a quarter of this limit) and the limit only
// keeps the heap from growing GOGC-fold past it (docs/performance.md).
func setMemoryLimit() int64 {
	limit, err := memlimit.Set(memlimit.WithRatio(1), memlimit.WithProvider(
		memlimit.ApplyFallback(memlimit.ApplyRatio(memlimit.FromCgroup, 0.9), memlimit.Limit(fallbackMemoryLimit))))
	if err != nil { // an unreadable cgroup file: the fallback
		debug.SetMemoryLimit(fallbackMemoryLimit)
		return fallbackMemoryLimit
	}
	return limit
}

// fallbackMemoryLimit is the soft heap limit outside a memory-limited cgroup.
const fallbackMemoryLimit = 80 << 20

// defaultGCPercent is GOGC when the variable is not set. The live heap of a
// serving gateway is a few MB, so with Go's default (100) the collector ran
// every few hundred requests and took a quarter of the gateway's CPU; 400 lets
// the heap grow to about 5× live before a cycle, and the soft memory limit
// still bounds it (docs/performance.md, "Garbage collector").
const defaultGCPercent = 400

// serveUsage is serve's help: what it does, then every SCIM2LDAP_* variable
// with its type, default and description, generated from Config's tags.
func serveUsage() string {
	var b strings.Builder
	b.WriteString(`usage: scim2ldap serve
  runs the gateway until SIGTERM or SIGINT (then drains); SIGHUP reloads the mapping and credential
  files. It takes no arguments: the configuration is the environment below. Every problem of it is
  reported at start-up, at once; a SCIM2LDAP_* variable that is no setting (a typo) gets a warning
  with the nearest name. Placeholder secrets (CHANGE-ME…) are refused.

`)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	err := envconfig.Usagef(envPrefix, &Config{}, tw, "  VARIABLE\tTYPE\tDEFAULT\tDESCRIPTION\n"+
		"{{range .}}  {{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	if err == nil {
		err = tw.Flush()
	}
	if err != nil {
		panic(err) // the struct is ours: a bad tag is a programming error
	}
	b.WriteString(`
  Also read: GOMEMLIMIT (default here: 90% of the container's memory limit, or 80MiB without one) and
  GOGC (default 400 here), the Go runtime's own.
`)
	return b.String()
}

func serve(args []string, _, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "scim2ldap serve: unexpected argument %q: serve is configured from SCIM2LDAP_* variables (scim2ldap serve --help)\n", args[0])
		return 2
	}
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig()
	for _, w := range configWarnings(cfg, os.Environ()) {
		log.Warn().Msg(w)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error().Str("problem", line).Msg("configuration")
		}
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	setMemoryLimit()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	// Diagnostics (docs/performance.md): a CPU profile of the whole run, written
	// when the gateway exits; for `go tool pprof`.
	if path := cfg.CPUProfile; path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			log.Error().Err(err).Msg("SCIM2LDAP_CPU_PROFILE")
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	return serveCtx(ctx, cfg, log, stderr, nil)
}
