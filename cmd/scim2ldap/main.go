// Command scim2ldap is a SCIM 2.0 (RFC 7643/7644) to LDAP gateway.
//
//	scim2ldap serve                      run the gateway (configured from SCIM2LDAP_* variables)
//	scim2ldap mapping check FILE...      validate mapping files; problems as file:line:col: message
//	scim2ldap version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/mapping"
)

var version = "dev"

const usage = `scim2ldap — a SCIM 2.0 to LDAP gateway

Usage:
  scim2ldap serve                    run the gateway; configured from SCIM2LDAP_* variables
                                     (every one, with its default: README.md, "Configuration")
  scim2ldap healthcheck [URL]        GET /healthz of the local gateway (default: from
                                     SCIM2LDAP_METRICS_ADDR or SCIM2LDAP_LISTEN_ADDR); exit 0 if 200
  scim2ldap mapping check FILE...    validate mapping files; every problem as file:line:col: message
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
		if len(args) >= 3 && args[1] == "check" {
			return mappingCheck(args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: scim2ldap mapping check FILE...\n")
		return 2
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

// mappingCheck validates each file and prints every problem; exit 1 if any.
func mappingCheck(files []string, stdout, stderr io.Writer) int {
	code := 0
	for _, f := range files {
		m, err := mapping.Load(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		var names []string
		for _, rt := range m.Types {
			names = append(names, fmt.Sprintf("%s (%d attributes)", rt.Name, len(rt.Attrs)))
		}
		fmt.Fprintf(stdout, "%s: OK: %s\n", f, strings.Join(names, ", "))
	}
	return code
}

func serve(stderr io.Writer) int {
	log := zerolog.New(stderr).With().Timestamp().Logger()
	cfg, err := loadConfig()
	if err != nil {
		log.Error().Err(err).Msg("configuration")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveCtx(ctx, cfg, log, stderr, nil)
}
