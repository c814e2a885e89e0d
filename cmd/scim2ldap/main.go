// Command scim2ldap is a SCIM 2.0 (RFC 7643/7644) to LDAP gateway.
//
//	scim2ldap serve                      run the gateway (configured from SCIM2LDAP_* variables)
//	scim2ldap mapping check FILE...      validate mapping files; problems as file:line:col: message
//	scim2ldap filter [--mapping FILE] [--type User] 'FILTER'   the LDAP filter a SCIM filter becomes
//	scim2ldap version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/rs/zerolog"
)

var version = "dev"

const usage = `scim2ldap — a SCIM 2.0 to LDAP gateway

Usage:
  scim2ldap serve                    run the gateway; configured from SCIM2LDAP_* variables
                                     (every one, with its default: README.md, "Configuration")
  scim2ldap healthcheck [URL]        GET /healthz of the local gateway (default: from
                                     SCIM2LDAP_METRICS_ADDR or SCIM2LDAP_LISTEN_ADDR); exit 0 if 200
  scim2ldap mapping check [--ldap-url URL ...] FILE...
                                     validate mapping files; every problem as file:line:col: message; with
                                     --ldap-url, also against the live directory's schema (cn=Subschema)
  scim2ldap mapping explain [--mapping FILE] [--type User] INPUT
                                     dry run: a SCIM resource (JSON) as the LDIF entry it becomes, or LDIF as SCIM
  scim2ldap filter [--mapping FILE] [--type User] 'SCIM FILTER'
                                     print the LDAP filter the gateway sends for it (offline; see filter.go)
  scim2ldap version
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
	case "serve":
		return serve(stderr)
	case "mapping":
		if len(args) >= 2 && args[1] == "check" {
			return mappingCheck(args[2:], stdout, stderr)
		}
		if len(args) >= 2 && args[1] == "explain" {
			return explainCmd(args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: scim2ldap mapping check FILE...\n       scim2ldap mapping explain [--mapping FILE] [--type User] INPUT\n")
		return 2
	case "filter":
		return filterCmd(args[1:], stdout, stderr)
	case "healthcheck":
		return healthcheck(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "scim2ldap", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "scim2ldap: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// defaultMemoryLimit is the soft heap limit when GOMEMLIMIT is not set (64 MiB).
const defaultMemoryLimit = 64 << 20

// defaultGCPercent is GOGC when the variable is not set. The live heap of a
// serving gateway is a few MB, so with Go's default (100) the collector ran
// every few hundred requests and took a quarter of the gateway's CPU; 400 lets
// the heap grow to about 5× live before a cycle, and the soft memory limit
// still bounds it (docs/performance.md, "Garbage collector").
const defaultGCPercent = 400

func serve(stderr io.Writer) int {
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig()
	if err != nil {
		log.Error().Err(err).Msg("configuration")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A soft limit on the heap: near it the garbage collector works harder
	// instead of letting a big response (a 50,000-member group) double the heap
	// (docs/performance.md). GOMEMLIMIT overrides it, e.g. GOMEMLIMIT=200MiB.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	// Diagnostics (docs/performance.md): a CPU profile of the whole run, written
	// when the gateway exits; for `go tool pprof`.
	if path := os.Getenv("SCIM2LDAP_CPU_PROFILE"); path != "" {
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
