package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Audit log: one JSON line per change written to the directory, for a SIEM:
//
//	{"level":"info","log":"audit","event":"scim.change","request_id":"…","client":"entra-prod",
//	 "auth":"token","subject":"","remote":"203.0.113.7","operation":"patch","resource_type":"User",
//	 "id":"<entryUUID>","dn":"uid=alice,ou=people,dc=example,dc=org",
//	 "attributes":["mail","sn"],"time":"…","message":"change"}
//
// operation is create (POST), replace (PUT), patch (PATCH) or delete (DELETE);
// attributes are the LDAP attribute names the write touched (empty for delete);
// ignored, when present, names the SCIM attributes of the request that were
// not stored because the mapping doesn't map them (attribute paths, e.g.
// "addresses", `phoneNumbers[type eq "fax"].value`).
// A change the request caused in another entry (reference upkeep: a member or
// manager value removed or rewritten) is an event "scim.reference" with the
// DNs the values named before and after (see auditEvents). No other value is
// ever logged, so neither passwords, secret attributes, tokens nor personal
// data reach the audit log. Events go to Config.Audit (default: the
// request log's writer).
//
// In plan mode (plan.go) both events carry "planned": true, and scim.change
// also "ldif": the LDAP changes the write would have sent, as LDIF change
// records (RFC 2849) in order, the request's reference upkeep in other
// entries included, with their values (the admin reviewing a plan needs them)
// but every password as "[password]":
//
//	{…,"event":"scim.change","operation":"patch",…,"planned":true,
//	 "ldif":"dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: title\ntitle: Engineer\n-\n\n"}

// reqInfo is what the request middleware knows about a request, shared with
// the handlers through the context.
type reqInfo struct {
	id       string // X-Request-Id
	remote   string // client address (see clientAddr)
	method   string
	identity *Identity // set by authenticate
	route    string    // the matched route's path template, set at dispatch ("" when none matched)
	// ignored names what the write ignored of the request (noteIgnored). It
	// travels with the request rather than with the change, so that every
	// write path (create, replace, patch) reaches the audit event unchanged.
	ignored []string
}

type infoKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	info, _ := ctx.Value(infoKey{}).(*reqInfo)
	return info
}

// noteIgnored records the attribute paths a write ignores, for its audit event.
// A later call replaces the list: an update that raced is computed again from
// the fresh entry, and only the computation written counts.
func noteIgnored(ctx context.Context, paths []string) {
	if info := infoOf(ctx); info != nil {
		info.ignored = paths
	}
}

// ignoredOf returns the paths noteIgnored recorded for the request.
func ignoredOf(ctx context.Context) []string {
	if info := infoOf(ctx); info != nil {
		return info.ignored
	}
	return nil
}

// auditChange records one successful write: the handlers call it after the
// directory accepted the change. w names the resource's SCIM id ("" when
// unknown), its (new) DN, its DN before a rename, and the LDAP attribute
// names written.
func (s *Server) auditChange(ctx context.Context, rt *mapping.ResourceType, w directory.Written) {
	info := infoOf(ctx)
	if info == nil {
		info = &reqInfo{}
	}
	op := map[string]string{http.MethodPost: "create", http.MethodPut: "replace", http.MethodPatch: "patch", http.MethodDelete: "delete"}[info.method]
	if op == "" {
		op = strings.ToLower(info.method)
	}
	names := []string{}
	for _, a := range w.Attributes {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, a) }) {
			names = append(names, a)
		}
	}
	slices.Sort(names)
	ev := s.audit.Info().Str("log", "audit").Str("event", "scim.change").Str("request_id", info.id).
		Str("remote", info.remote).Str("operation", op).Str("resource_type", rt.Name).Str("id", w.ID).Str("dn", w.DN).
		Strs("attributes", names)
	if w.OldDN != "" && w.OldDN != w.DN { // renamed or moved: the SIEM can follow the entry
		ev = ev.Str("old_dn", w.OldDN)
	}
	if plan := ldapstore.PlanOf(ctx); plan != nil {
		ev = ev.Bool("planned", true)
		if changes, err := plan.Drain(); err != nil {
			ev = ev.Str("ldif_error", err.Error()) // never a value: go-ldap/ldif names the attribute
		} else {
			ev = ev.Str("ldif", changes)
		}
	}
	if len(info.ignored) > 0 {
		ignored := slices.Clone(info.ignored)
		slices.Sort(ignored)
		ev = ev.Strs("ignored", slices.Compact(ignored))
	}
	if info.identity != nil {
		ev = ev.Str("client", info.identity.Name).Str("auth", info.identity.Kind).Str("subject", info.identity.Subject)
	}
	ev.Msg("change")
	s.metrics.audits.WithLabelValues(op, rt.Name).Inc()
}

// auditUpdate records an update that wrote something. An update that wrote
// nothing is recorded too when it ignored attributes: the client believes it
// changed them, and the event is where an admin sees it didn't.
func (s *Server) auditUpdate(ctx context.Context, rt *mapping.ResourceType, w directory.Written) {
	if len(w.Attributes) > 0 || len(ignoredOf(ctx)) > 0 {
		s.auditChange(ctx, rt, w)
	}
}

// auditEvents records the directory layer's reference rewrites (another entry,
// a group or a report, changed because of this request) as audit events
// "scim.reference": dn is the entry changed, attributes its attributes
// changed, old_value the DN its values named, new_value the DN they name now
// ("" when removed).
type auditEvents struct{ s *Server }

func (a auditEvents) ReferenceChanged(ctx context.Context, c directory.ReferenceChange) {
	info := infoOf(ctx)
	if info == nil {
		info = &reqInfo{}
	}
	ev := a.s.audit.Info().Str("log", "audit").Str("event", "scim.reference").Str("request_id", info.id).
		Str("remote", info.remote).Str("dn", c.DN).Strs("attributes", c.Attributes).Str("old_value", c.OldValue).Str("new_value", c.NewValue)
	if c.ResourceType != "" {
		ev = ev.Str("resource_type", c.ResourceType)
	}
	if ldapstore.PlanOf(ctx) != nil {
		ev = ev.Bool("planned", true) // its LDIF is in the request's scim.change event
	}
	if info.identity != nil {
		ev = ev.Str("client", info.identity.Name)
	}
	ev.Msg("reference")
}
