package directory

import (
	"context"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// Plan mode: every write of a request whose context carries an
// *ldapstore.Plan (ldapstore.WithPlan) is computed by the same code as a real
// one and recorded instead of sent; reads of the entries the request wrote
// see the planned state (ldapstore/plan.go). What the directory layer adds:
//
//   - the id of a planned create. The directory assigns ids (entryUUID,
//     objectGUID), so a plan cannot know the one it would get; the entry gets
//     PlannedID(dn) instead, a version-5 UUID (RFC 9562 §5.5) of its DN, which
//     neither directory assigns (slapd's entryUUID is version 1, AD's objectGUID
//     version 4). The same create planned again gets the same id. Looking it up
//     later finds nothing (404, saying why: notFound);
//   - a lookup by id (findByID), which searches the directory as it is, is
//     answered as the plan left the entry it finds (asPlanned): not found
//     when the plan deleted it, at its new DN when the plan renamed it, with
//     the planned changes. So the second DELETE of one id in a Bulk request
//     is 404, as it is when the first was made;
//   - reference upkeep runs one round: the rounds after the first exist for
//     concurrent writers, which a plan, seeing the directory unchanged,
//     would only record again (dropDangling, moveReferences).

// NewPlan returns an empty plan for requests served through mapping m: a
// planned create gets PlannedID as its id attribute (the dialect's: entryUUID,
// or objectGUID's 16 bytes). Put it in a request's context with
// ldapstore.WithPlan.
func NewPlan(m *mapping.Mapping) *ldapstore.Plan {
	d := m.Dialect
	return &ldapstore.Plan{Assigned: func(dn string) []*ldap.EntryAttribute {
		id := PlannedID(dn)
		if !d.GUIDID {
			return []*ldap.EntryAttribute{ldap.NewEntryAttribute(d.ID, []string{id})}
		}
		raw, _ := mapping.ParseGUID(id)
		return []*ldap.EntryAttribute{ldap.NewEntryAttribute(d.ID, []string{string(raw)})}
	}}
}

// plannedNamespace scopes PlannedID's names (RFC 9562 §6.5: a name-based UUID
// is unique within its namespace).
var plannedNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:scim2ldap:planned-create"))

// PlannedID is the id a plan gives the entry it would create at dn: a
// version-5 UUID of the DN (compared as mapping.RefKey), e.g.
// "4a1f…-…-5…-…". See the package's plan-mode notes.
func PlannedID(dn string) string {
	return uuid.NewSHA1(plannedNamespace, []byte(mapping.RefKey(dn))).String()
}

// plannedIDNote says why an id of the form PlannedID names nothing.
const plannedIDNote = "this id has the form a plan-mode gateway gives a create it planned but did not make (a version-5 UUID); no such entry exists in the directory"

// plannedNote is ": " and plannedIDNote when id has the form of a PlannedID,
// else "": the end of an error about an id that names nothing (an IdP that
// was pointed at a plan-mode gateway adds a user it was told was created to a
// group).
func plannedNote(id string) string {
	if isPlannedID(id) {
		return ": " + plannedIDNote
	}
	return ""
}

// isPlannedID reports whether id has the form of a PlannedID (a version-5
// UUID), which neither slapd nor AD assigns.
func isPlannedID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.Version() == 5 && u.Variant() == uuid.RFC4122
}

// planning reports whether ctx's writes are planned, not sent.
func planning(ctx context.Context) bool { return ldapstore.PlanOf(ctx) != nil }

// asPlanned is res, findByID's lookup of id in the directory as it is, as the
// request's plan left the entry it found (ldapstore.Plan.Locate): ErrNotFound
// when the plan deleted it; read again with attrs and controls at the DN the
// plan gave it when the plan wrote it (a base-scope search answers from the
// planned state); else res itself, at no cost.
func (r *Resources) asPlanned(ctx context.Context, id string, res *ldap.SearchResult, attrs []string, controls []ldap.Control) (*ldap.SearchResult, error) {
	now, written, exists := ldapstore.PlanOf(ctx).Locate(res.Entries[0].DN)
	switch {
	case !exists:
		return nil, r.idNotFound(id)
	case !written:
		return res, nil
	}
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(now, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, controls))
	if isCode(err, ldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0) {
		return nil, r.idNotFound(id)
	}
	return res, err
}
