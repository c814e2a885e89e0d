package gateway

import (
	"context"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// VerifyMembershipWrite runs the check that follows a membership write, for
// a write that stored dn in the group groupDN's member attribute after id had
// been resolved to dn (export for the race tests: the interleaving of a
// rename with a membership write can't be forced through HTTP).
func (s *Server) VerifyMembershipWrite(ctx context.Context, groupType, groupDN, id, dn string) error {
	m := s.mapping()
	rt := m.ResourceType(groupType)
	ctx, rr := withResolved(ctx)
	for _, a := range rt.Attrs {
		if a.IsMembership() {
			rr.record(a.RefTypes, map[string]string{id: dn})
			return s.verifyWritten(ctx, m, rr, groupDN, map[string]*mapping.AttrMap{mapping.RefKey(dn): a})
		}
	}
	return nil
}
