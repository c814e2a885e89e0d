package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// MissingBase is a DN a mapping needs that the directory does not show the
// bind account: a resource type's search base, or the parent its new entries
// go under.
type MissingBase struct {
	Type string // resource type, e.g. "User"
	Role string // "base" (searched) or "parent of new entries"
	DN   string
	// Matched is the nearest existing ancestor the directory named in its
	// noSuchObject answer (RFC 4511 §4.1.9 matchedDN); "" when it named none.
	Matched string
	Pos     mapping.Pos // the resource type's place in the mapping file
}

// String says which DN is missing and what exists, e.g.
// `User base "ou=people,dc=example,dc=org" does not exist in the directory (nearest existing entry: "dc=example,dc=org")`.
func (b MissingBase) String() string {
	s := fmt.Sprintf("%s %s %q does not exist in the directory", b.Type, b.Role, b.DN)
	if b.Matched != "" {
		s += fmt.Sprintf(" (nearest existing entry: %q)", b.Matched)
	}
	return s + ", or the bind account may not read it"
}

// MissingBases reads each DN the mapping's resource types need (every base of
// `base:` or `bases:`, and `parentBase:`) with a base-scope search, one LDAP
// search per distinct DN, and returns those the directory answers with
// noSuchObject (32). On OpenLDAP an entry the bind account may not see
// answers the same way, so a missing base can also be a missing read right.
// The error is any other failure (the directory unreachable, a refused bind):
// then nothing is known about the bases.
func MissingBases(ctx context.Context, store *ldapstore.Store, m *mapping.Mapping) ([]MissingBase, error) {
	var out []MissingBase
	seen := map[string]*MissingBase{} // by lower-cased DN: nil when it exists
	for _, rt := range m.Types {
		for _, want := range neededDNs(rt) {
			key := strings.ToLower(want.DN)
			if mb, ok := seen[key]; ok {
				if mb != nil {
					c := *mb
					c.Type, c.Role, c.Pos = rt.Name, want.Role, rt.Pos
					out = append(out, c)
				}
				continue
			}
			_, err := store.Search(ctx, ldap.NewSearchRequest(want.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"1.1"}, nil))
			var le *ldap.Error
			switch {
			case err == nil:
				seen[key] = nil
			case errors.As(err, &le) && le.ResultCode == ldap.LDAPResultNoSuchObject:
				mb := MissingBase{Type: rt.Name, Role: want.Role, DN: want.DN, Matched: le.MatchedDN, Pos: rt.Pos}
				seen[key] = &mb
				out = append(out, mb)
			case errors.As(err, &le) && le.ResultCode == ldap.LDAPResultInvalidDNSyntax:
				return out, fmt.Errorf("%s %s %q is not a valid DN: %w", rt.Name, want.Role, want.DN, err)
			default:
				return out, fmt.Errorf("reading %s %s %q: %w", rt.Name, want.Role, want.DN, err)
			}
		}
	}
	return out, nil
}

type neededDN struct{ Role, DN string }

// neededDNs are the DNs a resource type reads or writes under.
func neededDNs(rt *mapping.ResourceType) []neededDN {
	var out []neededDN
	bases := rt.Bases
	if len(bases) == 0 {
		bases = []string{rt.Base}
	}
	for _, b := range bases {
		out = append(out, neededDN{"base", b})
	}
	if rt.ParentBase != "" && !slices.ContainsFunc(bases, func(b string) bool { return strings.EqualFold(b, rt.ParentBase) }) {
		out = append(out, neededDN{"parent of new entries", rt.ParentBase})
	}
	return out
}
