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
		return nil
	}
	for _, oid := range res.Entries[0].GetEqualFoldAttributeValues("supportedControl") {
		out[strings.TrimSpace(oid)] = true
	}
	return out
}

// Supports reports whether the directory's root DSE lists the control oid in
// supportedControl, e.g. Supports(OIDServerSideSort). The root DSE is read once,
// when the Store opens or, if the directory was unreachable then, on the first
// call after it can be reached.
func (s *Store) Supports(oid string) bool {
	ctls := s.controls.Load()
	if ctls == nil {
		for _, sl := range s.cur().slots {
			sl.mu.Lock()
			c := sl.conn
			sl.mu.Unlock()
			if c != nil && !c.IsClosing() {
				s.setControls(readRootDSE(c))
				break
			}
		}
		if ctls = s.controls.Load(); ctls == nil {
			return false
		}
	}
	return (*ctls)[oid]
}

func (s *Store) setControls(m map[string]bool) {
	if m != nil {
		s.controls.Store(&m)
	}
}
