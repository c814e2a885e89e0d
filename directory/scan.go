package directory

import (
	"context"
	"errors"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Whole-directory walks for reports (scim2ldap reconcile): every entry of a
// resource type, page by page, read and resolved the way the gateway reads
// them for SCIM clients, plus the few primitives a report needs to check what
// it finds (does a DN name an entry, who else holds a unique value) and to
// repair dangling references with the gateway's own upkeep.

// DefaultScanPage is the page size of Scan when none is given: the paged
// results page (RFC 2696) of the gateway's own walks.
const DefaultScanPage = pageSize

// ScanPage is one page of a Scan: the entries as read (the mapped attributes,
// ranged values completed, plus the extra attributes asked for) and Refs, the
// SCIM resources their reference values name (mapping.RefKey of the DN →
// id and type), resolved as the gateway resolves them for a GET. A reference
// value absent from Refs names no resource of the mapping: no entry at all, or
// an entry of no resource type (Exists tells them apart).
type ScanPage struct {
	Entries []*ldap.Entry
	Refs    map[string]mapping.Ref
}

// Scan walks every entry of the resource type (its base, scope and filter)
// with the paged results control (RFC 2696), size entries per page (≤ 0:
// DefaultScanPage), and calls fn with each page; memory is bounded by one
// page and its references. Every attribute the mapping maps is read, plus
// extra (operational attributes such as creatorsName must be named). A
// non-nil error from fn stops the walk (the server's paging state is
// released) and is returned as it is; errors of the directory are classified
// (see classify).
func (r *Resources) Scan(ctx context.Context, size int, extra []string, fn func(ScanPage) error) error {
	if size <= 0 {
		size = DefaultScanPage
	}
	attrs := append(r.rt.LDAPAttributes(nil), extra...)
	req := ldap.NewSearchRequest(r.rt.Base, r.rt.Scope, ldap.NeverDerefAliases, 0, 0, false, r.rt.Filter, attrs, nil)
	var fnErr error
	err := r.store.SearchPages(ctx, req, uint32(size), func(entries []*ldap.Entry) bool {
		if err := r.store.CompleteRanges(ctx, entries); err != nil { // AD: member;range=…
			fnErr = classify(err, r.rt.Name)
			return false
		}
		var dns []string
		for _, e := range entries {
			dns = append(dns, r.rt.ReferenceDNs(e, nil)...)
		}
		refs, err := r.s.refsOf(ctx, dns)
		if err != nil {
			fnErr = classify(err, r.rt.Name)
			return false
		}
		fnErr = fn(ScanPage{Entries: entries, Refs: refs})
		return fnErr == nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return classify(err, r.rt.Name)
	}
	return nil
}

// Exists reports whether an entry named dn exists (one base-scope search). A
// DN that is no valid DN names nothing.
func (s *Snapshot) Exists(ctx context.Context, dn string) (bool, error) {
	ok, err := s.exists(ctx, dn)
	if isCode(err, ldap.LDAPResultInvalidDNSyntax) {
		return false, nil
	}
	if err != nil {
		return false, classify(err, "entry "+dn)
	}
	return ok, nil
}

// Holder is an entry that holds a value (see Holders): its DN, SCIM id and
// the values of the attribute searched.
type Holder struct {
	DN, ID string
	Values []string
}

// Holders returns the resource type's entries whose LDAP attribute attr
// holds value, by the attribute's own equality rule (uid is caseIgnoreMatch:
// "Alice" holds "alice"), at most limit of them: the search the uniqueness
// check of writes makes (checkUnique), for one value.
func (r *Resources) Holders(ctx context.Context, attr, value string, limit int) ([]Holder, error) {
	filter := "(&" + r.rt.Filter + "(" + attr + "=" + ldap.EscapeFilter(value) + "))"
	d := r.rt.Dialect()
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(r.rt.Base, r.rt.Scope, ldap.NeverDerefAliases, limit, 0, false, filter, []string{d.ID, attr}, nil))
	if err != nil && !(isCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil) {
		return nil, classify(err, r.rt.Name)
	}
	var out []Holder
	for _, e := range res.Entries {
		out = append(out, Holder{DN: e.DN, ID: d.EntryID(e), Values: e.GetEqualFoldAttributeValues(attr)})
	}
	return out, nil
}

// KeepsReferences reports whether the gateway keeps member and manager values
// true itself on this directory (every directory but Active Directory, whose
// linked attributes the domain controller keeps; see references.go): only
// there can a value name no entry, and only there does DropDangling write.
func (s *Snapshot) KeepsReferences() bool { return s.keepsReferences() }

// DropDangling removes every value of the mapping's writable reference
// attributes (member, manager) that names dn, provided no entry is named dn
// (checked again here, so a name taken since it was found dangling is left
// alone): the upkeep a DELETE does, with the same writes (the permissive
// modify control, a groupOfNames' last member replaced by the mapping's
// placeholder) and each rewrite reported to the Directory's Events. Only
// entries of the mapping's resource types are touched. On Active Directory it
// does nothing (see KeepsReferences).
func (s *Snapshot) DropDangling(ctx context.Context, dn string) error {
	err := s.dropDangling(ctx, dn)
	var de *Error
	if err != nil && !errors.As(err, &de) {
		return classify(err, "references to "+dn)
	}
	return err
}
