package directory

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Create adds the resource res (RFC 7644 §3.3): uniqueness checked first, one
// LDAP add, then the password and the account lock where the request sets
// them. Nothing is left behind when a step after the add fails (the entry is
// deleted again), and no account exists, even for a moment, that binds while
// it should be inactive. It returns the new entry's DN and the attributes
// written; the id is read with the entry (GetDN). Errors: ErrUniqueness, the
// client's value errors, Invalid when the entry's parent doesn't exist, or as
// classify.
func (r *Resources) Create(ctx context.Context, res map[string]any) (Written, error) {
	w, err := r.create(ctx, res)
	return w, classify(err, "the "+r.rt.Name)
}

func (r *Resources) create(ctx context.Context, res map[string]any) (Written, error) {
	rr := newResolved()
	vals, err := r.rt.WriteValues(res, r.s.idLookup(ctx, rr))
	if err != nil {
		return Written{}, classify(err, r.rt.Name)
	}
	parent, err := r.rt.ParentDN(res)
	if err != nil {
		return Written{}, classify(err, r.rt.Name)
	}
	password, setPassword, err := r.rt.Password(res)
	if err == nil && setPassword {
		err = r.checkPasswordTransport() // before anything is written
	}
	if err != nil {
		return Written{}, classify(err, r.rt.Name)
	}
	add := r.rt.AddRequest(vals, parent)
	w := Written{DN: add.DN}
	for _, a := range add.Attributes {
		w.Attributes = append(w.Attributes, a.Type)
	}
	if setPassword {
		w.Attributes = append(w.Attributes, r.passwordAttr()) // its name, never its value
	}
	if err := r.claimName(ctx, vals, add.DN); err != nil {
		return Written{}, classify(err, r.rt.Name)
	}
	if bits := r.rt.AccountBits(); bits != nil {
		// AD: created disabled, then the password, then enabled (createAccount).
		_, err := r.createAccount(ctx, vals, parent, bits, password, setPassword)
		return w, err
	}
	if err := r.store.Add(ctx, add); err != nil {
		if isCode(err, ldap.LDAPResultNoSuchObject) {
			// RFC 4511 §4.7: the parent of an added entry must exist.
			return Written{}, invalid(scimerr.InvalidValue, "the new %s belongs under %s, which does not exist in the directory; create it first", r.rt.Name, parentDN(add.DN))
		}
		return Written{}, err
	}
	if setPassword {
		// No account without its password, and no inactive account that binds:
		// the password comes after the add, which already carries the lock, and
		// the lock is written again (ppolicy lifts it on a password change).
		// Either step failing deletes the entry, so a retry starts clean.
		err := r.setPassword(ctx, add.DN, password)
		if lock := r.lockAfter(nil, &change{vals: vals}); err == nil && lock != nil && len(lock.values) > 0 {
			err = r.relock(ctx, add.DN, lock)
		}
		if err != nil {
			r.s.d.stepFailed(ctx, "delete of the entry whose password or lock failed", add.DN, r.store.Delete(ctx, ldap.NewDelRequest(add.DN, nil)))
			return Written{}, classify(err, "the password")
		}
	}
	r.s.upkeepFailed(ctx, "create", add.DN, r.s.verifyWritten(ctx, rr, add.DN, r.writtenRefs(vals)))
	return w, nil
}

// claimName readies dn for a new entry: the uniqueness check (409) and the
// removal of grants left on the name by deletes the gateway didn't make, so
// they don't pass to the new holder (dropDangling). The two are independent
// reads (the removal writes only when something names dn while no entry has
// it), so they are sent together: one round trip instead of two.
func (r *Resources) claimName(ctx context.Context, vals map[string][]string, dn string) error {
	var wg sync.WaitGroup
	var upkeep error
	wg.Add(1)
	go func() {
		defer wg.Done()
		upkeep = r.s.dropDangling(ctx, dn)
	}()
	err := r.checkUnique(ctx, vals, "", nil)
	wg.Wait()
	if err != nil {
		return err
	}
	return upkeep
}

// checkUnique enforces uniqueness: server attributes (RFC 7643 §2.2) with one
// search; matching follows the LDAP attribute's equality rule, so userName
// (uid, caseIgnoreMatch) is unique case-insensitively. On updates, cur is the
// entry as read: its own values are skipped, and selfID never conflicts.
func (r *Resources) checkUnique(ctx context.Context, vals map[string][]string, selfID string, cur *ldap.Entry) error {
	var clauses []string
	var names []string
	for _, a := range r.rt.Attrs {
		if a.Uniqueness != mapping.UniquenessServer || !a.Writable() {
			continue
		}
		for _, v := range vals[a.LDAP] {
			if cur != nil && slices.Contains(cur.GetEqualFoldAttributeValues(a.LDAP), v) {
				continue // unchanged
			}
			clauses = append(clauses, "("+a.LDAP+"="+ldap.EscapeFilter(v)+")")
			names = append(names, a.Key)
		}
	}
	if len(clauses) == 0 {
		return nil
	}
	filter := "(&" + r.rt.Filter + "(|" + strings.Join(clauses, "") + "))"
	idAttr := r.rt.Dialect().ID
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(r.rt.Base, r.rt.Scope, ldap.NeverDerefAliases, 2, 0, false, filter, []string{idAttr}, nil))
	if err != nil && !isCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return err
	}
	for _, e := range res.Entries {
		if !strings.EqualFold(r.rt.Dialect().EntryID(e), selfID) {
			return refuse(Uniqueness, scimerr.Uniqueness, "a %s with the same %s already exists", r.rt.Name, strings.Join(slices.Compact(names), " or "))
		}
	}
	return nil
}

// Delete deletes the resource with the given id (RFC 7644 §3.6) and removes
// every reference value naming it, so that the name's next holder inherits no
// grant (see references.go). With ifMatch the delete is guarded by the
// assertion control, or, where the directory has none (AD), by the version
// just read. Errors: ErrNotFound (the id names no entry), ErrPrecondition, or
// as classify.
func (r *Resources) Delete(ctx context.Context, id string, ifMatch []string) (Written, error) {
	e, err := r.deleteByID(ctx, id, ifMatch)
	if err != nil {
		return Written{}, classify(err, r.what(id))
	}
	// The name may be reused: no member or manager value may keep naming it.
	r.s.upkeepFailed(ctx, "delete", e.DN, r.s.dropDangling(ctx, e.DN))
	return Written{ID: id, DN: e.DN}, nil
}

// deleteByID deletes the entry whose id is id and returns it as read (DN and
// version). A rename that moves the entry between the lookup and the delete
// (32 noSuchObject on the DN read) is not the end of the entry: it is looked
// up again, with backoff, so ErrNotFound always means the id names no entry.
func (r *Resources) deleteByID(ctx context.Context, id string, want []string) (*ldap.Entry, error) {
	for attempt := 0; ; attempt++ {
		e, err := r.findByID(ctx, id, []string{r.rt.Dialect().Version}, nil)
		if err != nil {
			return nil, err
		}
		del := ldap.NewDelRequest(e.DN, nil)
		if len(want) > 0 {
			if v := e.GetEqualFoldAttributeValue(r.rt.Dialect().Version); !r.s.d.Assertions() && !slices.Contains(want, v) {
				return nil, refuse(Precondition, "", "%s has changed since version %s; read it again", r.what(id), mapping.ETag(want[0]))
			}
			del.Controls = r.s.d.guard(r.rt, want...)
		}
		err = r.store.Delete(ctx, del)
		if !isCode(err, ldap.LDAPResultNoSuchObject) {
			return e, err
		}
		if attempt == maxConflictRetries || !conflictBackoff(ctx, attempt) {
			return nil, refuse(Unavailable, "", "%s kept moving while it was deleted; retry", r.what(id))
		}
	}
}
