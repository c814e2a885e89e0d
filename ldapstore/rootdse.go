package ldapstore

import (
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// readRootDSE reads the root DSE's supportedControl (RFC 4512 §5.1) once, at
// Open. A directory that hides its root DSE simply supports nothing optional.
func readRootDSE(c *ldap.Conn) map[string]bool {
	out := map[string]bool{}
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedControl"}, nil))
	if err != nil || len(res.Entries) == 0 {
		return out
	}
	for _, oid := range res.Entries[0].GetEqualFoldAttributeValues("supportedControl") {
		out[strings.TrimSpace(oid)] = true
	}
	return out
}

// Supports reports whether the directory's root DSE lists the control oid in
// supportedControl (read once when the Store was opened), e.g.
// Supports(OIDServerSideSort).
func (s *Store) Supports(oid string) bool { return s.controls[oid] }
