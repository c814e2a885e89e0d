package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const filterUsage = `usage: scim2ldap filter [--mapping FILE] [--type User] 'SCIM FILTER'
  prints the LDAP filter the gateway sends for GET /{endpoint}?filter=… (RFC 7644 §3.4.2.2):
  the resource type's own filter AND-ed with the translation. Reference ids (manager.value eq "…")
  are shown as <DN of id …>: the gateway looks them up in the directory; an id that matches
  nothing makes that comparison false.
  --mapping FILE   the mapping (default $SCIM2LDAP_MAPPING_FILE, then mappings.example.yaml)
  --type NAME      the resource type whose endpoint is filtered (default User)
`

// filterCmd implements `scim2ldap filter`: the LDAP filter for a SCIM filter,
// built by directory.ListFilter (the gateway's own code), without a directory.
// Exit 0 and the filter on stdout; exit 1 and the error on stderr for a bad
// mapping or filter; exit 2 for bad usage.
func filterCmd(args []string, stdout, stderr io.Writer) int {
	_, rt, filter, code := mappingVerbArgs("filter", filterUsage, args, stderr)
	if rt == nil {
		return code
	}
	f, err := directory.ListFilter(rt, filter, placeholderDNs)
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap filter: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, f)
	return 0
}

// mappingVerbArgs parses `[--mapping FILE] [--type User] ARG` (flags before or
// after ARG), loads the mapping and finds the resource type. On failure rt is
// nil and code is the exit code (2 usage, 1 bad mapping or type), the error printed.
func mappingVerbArgs(verb, usage string, args []string, stderr io.Writer) (m *mapping.Mapping, rt *mapping.ResourceType, arg string, code int) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mappingFile := fs.String("mapping", envOr("SCIM2LDAP_MAPPING_FILE", "mappings.example.yaml"), "mapping file")
	typeName := fs.String("type", "User", "resource type")
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			fmt.Fprintf(stderr, "scim2ldap %s: %v\n%s", verb, err, usage)
			return nil, nil, "", 2
		}
		if args = fs.Args(); len(args) > 0 {
			rest, args = append(rest, args[0]), args[1:]
		}
	}
	if len(rest) != 1 {
		fmt.Fprint(stderr, usage)
		return nil, nil, "", 2
	}
	m, err := mapping.Load(*mappingFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, "", 1
	}
	if rt = m.ResourceType(*typeName); rt == nil {
		var names []string
		for _, t := range m.Types {
			names = append(names, t.Name)
		}
		fmt.Fprintf(stderr, "scim2ldap %s: %s declares no resource type %q; it has: %s\n", verb, *mappingFile, *typeName, strings.Join(names, ", "))
		return nil, nil, "", 1
	}
	return m, rt, rest[0], 0
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
