package gateway

import (
	"net/http"
	"strings"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Plan mode: the writes of a request from a credential with `plan: true`, or
// of every request when the gateway runs with SCIM2LDAP_MODE=plan
// (Config.Plan), are computed by the same code as real ones (validation,
// mapping, uniqueness, the DN, every LDAP operation with every change,
// membership, reference upkeep) and recorded instead of sent
// (ldapstore.Plan). The client gets the answer the real write would have
// given, with the header PlannedHeader; the write's audit event carries
// "planned": true and the LDAP changes as LDIF (see auditChange). Scopes
// apply as ever: a read-only credential's write is refused before anything is
// computed. Reads are never planned: they see the directory as it is, so a
// create that was planned, not made, is not found by the next request. The
// operations of a Bulk request share its plan's state (ldapstore.Plan.Fork):
// each is planned on what the earlier ones planned.

// PlannedHeader is set, to "true", on the answer to every write (POST, PUT,
// PATCH, DELETE; not a POST .search) served in plan mode, whatever its
// status: nothing was written to the directory.
const PlannedHeader = "X-SCIM2LDAP-Planned"

// plans runs next with the directory's writes planned, not sent, when the
// request is a write and its credential, or the gateway, is in plan mode. m
// is the mapping the route was built with (a planned create's id follows its
// dialect: directory.NewPlan).
func (s *Server) plans(m *mapping.Mapping, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWrite(r) || !s.planned(infoOf(r.Context())) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set(PlannedHeader, "true")
		var plan *ldapstore.Plan
		if bulk := ldapstore.PlanOf(r.Context()); bulk != nil {
			// An operation of a planned Bulk request: its own LDIF, the
			// request's planned state (an entry an earlier operation
			// deleted is gone, as it would be after the real delete).
			plan = bulk.Fork()
		} else {
			plan = directory.NewPlan(m)
			plan.Schema = s.dirSchema.Load() // the directory's MUST attributes (nil until it was read)
		}
		next.ServeHTTP(w, r.WithContext(ldapstore.WithPlan(r.Context(), plan)))
	})
}

// planned reports whether the request's writes are planned: the gateway runs
// in plan mode, or its credential has plan: true.
func (s *Server) planned(info *reqInfo) bool {
	if s.cfg.Plan {
		return true
	}
	return info != nil && info.identity != nil && info.identity.scope.Plan
}

// isWrite reports whether r asks to change resources: POST, PUT, PATCH or
// DELETE, except a POST to a .search endpoint (RFC 7644 §3.4.3), which reads.
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost:
		return !strings.HasSuffix(r.URL.Path, "/.search")
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
