package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const filterUsage = `usage: scim2ldap filter [--mapping FILE] [--type User] 'SCIM FILTER'
  prints the LDAP filter the gateway sends for GET /{endpoint}?filter=… (RFC 7644 §3.4.2.2):
  the resource type's own filter AND-ed with the translation. Reference ids (manager.value eq "…")
  are shown as <DN of id …>: the gateway looks them up in the directory; an id that matches
  nothing makes that comparison false. --mapping defaults to $SCIM2LDAP_MAPPING_FILE, then
  mappings.example.yaml.
`

// filterCmd implements `scim2ldap filter`: the LDAP filter for a SCIM filter,
// built by gateway.ListFilter (the gateway's own code), without a directory.
// Exit 0 and the filter on stdout; exit 1 and the error on stderr for a bad
// mapping or filter; exit 2 for bad usage.
func filterCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("filter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mappingFile := fs.String("mapping", envOr("SCIM2LDAP_MAPPING_FILE", "mappings.example.yaml"), "mapping file")
	typeName := fs.String("type", "User", "resource type")
	var filters []string
	for len(args) > 0 { // flags may come before or after the filter
		if err := fs.Parse(args); err != nil {
			fmt.Fprintf(stderr, "scim2ldap filter: %v\n%s", err, filterUsage)
			return 2
		}
		if args = fs.Args(); len(args) > 0 {
			filters, args = append(filters, args[0]), args[1:]
		}
	}
	if len(filters) != 1 {
		fmt.Fprint(stderr, filterUsage)
		return 2
	}
	m, err := mapping.Load(*mappingFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rt := m.ResourceType(*typeName)
	if rt == nil {
		var names []string
		for _, t := range m.Types {
			names = append(names, t.Name)
		}
		fmt.Fprintf(stderr, "scim2ldap filter: %s declares no resource type %q; it has: %s\n", *mappingFile, *typeName, strings.Join(names, ", "))
		return 1
	}
	f, err := gateway.ListFilter(rt, filters[0], placeholderDNs)
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap filter: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, f)
	return 0
}

// placeholderDNs stands in for the directory lookup of reference ids.
func placeholderDNs(_ []string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		out[id] = "<DN of id " + id + ">"
	}
	return out, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
