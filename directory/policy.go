package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// What differs between directory flavors on the write path (mapping.Dialect
// has the rest): how writes are guarded, how passwords are set, and how Active
// Directory accounts are created.

// guard returns the controls that make a write apply only while the entry
// still has version: the assertion control on (<version attribute>=version),
// or none where the directory has no assertion control.
func (d *Directory) guard(rt *mapping.ResourceType, versions ...string) []ldap.Control {
	if !d.Assertions() || len(versions) == 0 {
		return nil
	}
	f := "(" + rt.Dialect().Version + "=" + ldap.EscapeFilter(versions[0]) + ")"
	if len(versions) > 1 { // an If-Match list: any of them
		f = "(|"
		for _, v := range versions {
			f += "(" + rt.Dialect().Version + "=" + ldap.EscapeFilter(v) + ")"
		}
		f += ")"
	}
	return []ldap.Control{&ldapstore.AssertionControl{Filter: f}}
}

// casChange adds to mod the change of attr from the values read (cur) to next.
// With the assertion control, a plain replace or delete (the whole write is
// guarded). Without it, a compare-and-swap by values: delete exactly the
// values read, then add the new ones, in the same atomic modify, so the
// directory refuses the write (16 noSuchAttribute, 20 attributeOrValueExists)
// when someone changed the attribute meanwhile; see casConflict.
func (d *Directory) casChange(mod *ldap.ModifyRequest, attr string, cur, next []string) {
	switch {
	case d.Assertions() && len(next) == 0:
		mod.Delete(attr, nil)
	case d.Assertions():
		mod.Replace(attr, next)
	default:
		if len(cur) > 0 {
			mod.Delete(attr, cur)
		}
		if len(next) > 0 {
			mod.Add(attr, next)
		}
	}
}

// casConflict turns the directory's answer to a value-guarded modify whose
// values changed meanwhile (16 noSuchAttribute, 20 attributeOrValueExists)
// into what a failed assertion is, Precondition, which update retries on the
// fresh entry (or answers with If-Match) as it does 122 assertionFailed.
func (d *Directory) casConflict(err error, what string) error {
	if !d.Assertions() && isCode(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists) {
		return &Error{Kind: Precondition, Detail: what + " was modified by someone else (version mismatch); read it again and retry", Err: err}
	}
	return err
}

// modifyDN renames the entry dn to the RDN rdn, under newParent ("" keeps
// the parent), deleting the old RDN's values (RFC 4511 §4.9), with ctls on
// the modrdn. On 389 Directory Server a rename that changes only the letter
// case of the RDN (uid=ann → uid=Ann) is made in two modrdns, neither of them
// case-only: first to the multi-valued RDN rdn+objectClass=<a value the entry
// has> (deleting the old RDN's value, adding the new spelling; the
// objectClass value is kept), then to rdn keeping the old RDN's values. 389
// DS 2.3.1 answers a case-only modrdn with success, but while other writes of
// the entry run at the same time (the gateway's, or its own plugins') its
// entry cache can lose the entry: every later modify, modrdn and delete of it
// fails with 32 noSuchObject (its errors log repeats "find_entry_internal_dn
// - Retry count exceeded") until the server restarts, while searches still
// find it (docs/directory.md: reproduced with plain LDAP modrdns and
// modifies). Between the two steps readers see the entry under the two-value
// RDN, as they see any rename between its modrdn and their next read. The two
// steps hold the name's caseRenames lock, so that finishCaseRename, which
// completes a rename left between them, never races them in this process.
func (r *Resources) modifyDN(ctx context.Context, dn, rdn, newParent string, ctls []ldap.Control) error {
	parent := parentDN(dn)
	if r.rt.Dialect().Flavor != mapping.Flavor389DS || newParent != "" || mapping.RefKey(rdn+","+parent) != mapping.RefKey(dn) || firstRDN(dn) == rdn {
		return r.store.ModifyDN(ctx, ldap.NewModifyDNWithControlsRequest(dn, rdn, true, newParent, ctls))
	}
	defer r.s.d.caseRenames.lock(mapping.RefKey(dn))()
	e, err := r.readDN(ctx, dn, []string{"objectClass"})
	if err != nil {
		return err
	}
	classes := e.GetEqualFoldAttributeValues("objectClass")
	if len(classes) == 0 {
		return r.store.ModifyDN(ctx, ldap.NewModifyDNWithControlsRequest(dn, rdn, true, "", ctls))
	}
	step := rdn + "+objectClass=" + ldap.EscapeDN(classes[0])
	if err := r.modrdn389(ctx, ldap.NewModifyDNWithControlsRequest(dn, step, true, "", ctls)); err != nil {
		return err
	}
	return r.modrdn389(ctx, ldap.NewModifyDNRequest(step+","+parent, rdn, false, ""))
}

// modrdn389 sends a modrdn of modifyDN's two-step rename to 389 Directory
// Server, and again (up to 3 more times, after conflictBackoff) while 389 DS
// answers 50 insufficientAccessRights: 389 DS 2.3.1 answers so, for a moment,
// a modrdn of an entry that another operation on the same DN is changing (its
// errors log says "find_entry_internal_dn - Retry count exceeded"). A refusal
// by access control answers 50 every time, so it stays the answer.
func (r *Resources) modrdn389(ctx context.Context, req *ldap.ModifyDNRequest) error {
	for attempt := 0; ; attempt++ {
		err := r.store.ModifyDN(ctx, req)
		if attempt == 3 || !isCode(err, ldap.LDAPResultInsufficientAccessRights) || !conflictBackoff(ctx, attempt) {
			return err
		}
	}
}

// caseRenameRDN returns the RDN <naming attribute>=<value> when dn is named
// by the two-value RDN <naming attribute>=<value>+objectClass=<class> that
// only the first step of modifyDN writes; "" otherwise. 389 Directory Server
// only.
func (r *Resources) caseRenameRDN(dn string) string {
	if r.rt.Dialect().Flavor != mapping.Flavor389DS {
		return ""
	}
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) != 2 {
		return ""
	}
	rdn, classes := "", 0
	for _, a := range d.RDNs[0].Attributes {
		switch {
		case strings.EqualFold(a.Type, r.rt.RDN):
			rdn = r.rt.RDN + "=" + ldap.EscapeDN(a.Value)
		case strings.EqualFold(a.Type, "objectClass"):
			classes++
		}
	}
	if classes != 1 {
		return ""
	}
	return rdn
}

// finishCaseRename returns the DN to write the entry e (read as id) by. When
// e is named by the two-value RDN of a case-only rename between its steps
// (caseRenameRDN), it waits for the name's caseRenames lock (held by a rename
// of it in flight in this process), reads the entry's DN again, and if it is
// still between the steps (the rename that started it stopped: the gateway
// was stopped, the directory was unreachable) renames it to the naming value
// alone, keeping both values, and moves the references to it along; so the
// next update of the entry, a retry of the request included, repairs it.
// Otherwise e's DN, untouched.
func (r *Resources) finishCaseRename(ctx context.Context, id string, e *ldap.Entry) (string, error) {
	rdn := r.caseRenameRDN(e.DN)
	if rdn == "" {
		return e.DN, nil
	}
	parent := parentDN(e.DN)
	defer r.s.d.caseRenames.lock(mapping.RefKey(rdn + "," + parent))()
	cur, err := r.findByID(ctx, id, []string{"1.1"}, nil)
	if err != nil {
		return "", err
	}
	if rdn = r.caseRenameRDN(cur.DN); rdn == "" {
		return cur.DN, nil // the rename in flight finished
	}
	parent = parentDN(cur.DN)
	if err := r.modrdn389(ctx, ldap.NewModifyDNRequest(cur.DN, rdn, false, "")); err != nil {
		return "", err
	}
	dn := rdn + "," + parent
	return dn, r.s.moveReferences(ctx, cur.DN, dn)
}

// matchedValues returns the matched values control (RFC 3876) asking for the
// values that match items, or none where the directory does not offer it: 389
// Directory Server 2.3 lists no 1.2.826.0.1.3344810.2.3 in its root DSE's
// supportedControl and refuses the (critical) control with 12
// unavailableCriticalExtension. Without it a search returns every value, and
// valuesNaming picks the matching ones.
func (d *Directory) matchedValues(items []string) []ldap.Control {
	if !d.store.Supports(ldapstore.OIDMatchedValues) {
		return nil
	}
	return []ldap.Control{&ldapstore.MatchedValuesControl{Items: items}}
}

// valuesNaming returns the DN values of vals that name dn: all of them where
// the directory matched them itself (matchedValues), else those equal to dn by
// mapping.RefKey (attribute types and values compared without regard to case,
// RFC 4514 escapes undone).
func (d *Directory) valuesNaming(vals []string, dn string) []string {
	if len(vals) == 0 || d.store.Supports(ldapstore.OIDMatchedValues) {
		return vals
	}
	key := mapping.RefKey(dn)
	var out []string
	for _, v := range vals {
		if mapping.RefKey(v) == key {
			out = append(out, v)
		}
	}
	return out
}

// checkPasswordTransport refuses, before anything is written, a password that
// would travel unencrypted where the directory refuses it then (400
// invalidValue, naming the fix): Active Directory takes unicodePwd only over
// LDAPS or StartTLS; 389 Directory Server answers Password Modify on a plain
// connection with 13 confidentialityRequired ("Operation requires a secure
// connection"), after the entry of a create was added.
func (r *Resources) checkPasswordTransport() error {
	switch f := r.rt.Dialect().Flavor; {
	case f == mapping.FlavorActiveDirectory && !r.store.Encrypted():
		return invalid(scimerr.InvalidValue, "password: Active Directory accepts passwords only over an encrypted connection, and the gateway's is plain LDAP; configure an ldaps:// URL or SCIM2LDAP_LDAP_STARTTLS=true")
	case f == mapping.Flavor389DS && !r.store.Encrypted():
		return invalid(scimerr.InvalidValue, "password: 389 Directory Server accepts passwords (Password Modify, RFC 3062) only over an encrypted connection, and the gateway's is plain LDAP; configure an ldaps:// URL or SCIM2LDAP_LDAP_STARTTLS=true")
	}
	return nil
}

// setPassword sets the password of the entry dn the way the directory wants it:
// on Active Directory a unicodePwd reset (with the mapping's pwdLastSet), only
// over an encrypted connection; elsewhere the Password Modify extended
// operation (RFC 3062), so the directory hashes it. The password is never
// logged, and the error never holds it (scrubPassword).
func (r *Resources) setPassword(ctx context.Context, dn, password string) error {
	if !r.rt.Dialect().IsAD() {
		return scrubPassword(r.store.SetPassword(ctx, dn, password), password)
	}
	if err := r.checkPasswordTransport(); err != nil {
		return err
	}
	pwdLastSet := ""
	for _, a := range r.rt.Attrs {
		if a.Password {
			pwdLastSet = a.PwdLastSet
		}
	}
	return scrubPassword(r.store.SetUnicodePwd(ctx, dn, password, pwdLastSet), password)
}

// scrubPassword returns err with the password replaced in its text, keeping
// the LDAP result code, which decides the SCIM answer; err itself when its
// text doesn't hold the password. Directories don't echo passwords in their
// diagnostics, but a password-quality check's message is passed on as the
// check wrote it (slapd's ppolicy pwdCheckModule), and the text reaches the
// client's detail and, for a 5xx, the request log.
func scrubPassword(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return &ldap.Error{ResultCode: le.ResultCode, MatchedDN: le.MatchedDN, Err: errors.New(strings.ReplaceAll(le.Err.Error(), password, "[password]"))}
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "[password]"))
}

// randomPassword returns a 32-character password that meets AD's complexity
// rules (upper, lower, digit and symbol), from crypto/rand. An enabled AD user
// always has a password: a user created active without one gets this, which
// nobody knows (an administrator or the IdP sets a real one later).
func randomPassword() (string, error) {
	classes := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "-_.!#%+="}
	out := make([]byte, 32)
	for i := range out {
		set := classes[i%len(classes)]
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		out[i] = set[n.Int64()]
	}
	return string(out), nil
}

// createAccount creates a user whose active is stored as account bits (AD's
// userAccountControl) in the order that never leaves an enabled account
// without a password (MS-ADTS §3.1.1.5.2.2 lets an add set unicodePwd, but a
// refused password must not leave an enabled user behind):
//
//  1. add the entry disabled (NORMAL_ACCOUNT|ACCOUNTDISABLE, 514);
//  2. set the password: the client's, or, for a user to be enabled without
//     one, a random one nobody knows (randomPassword);
//  3. enable it (512), when the resource says active true.
//
// A resource without active is created disabled. Passwords need an encrypted
// connection (checked before step 1). A failed step 2 or 3 deletes the entry
// again, so a retry starts clean. It returns the new entry's DN.
func (r *Resources) createAccount(ctx context.Context, vals map[string][]string, parent string, bits *mapping.AttrMap, password string, hasPassword bool) (string, error) {
	enable := false
	if v := vals[bits.LDAP]; len(v) == 1 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		enable = err == nil && uint32(n)&bits.FalseBits == 0
	}
	enabled := strconv.FormatInt(int64(int32(bits.BaseBits&^bits.FalseBits)), 10)
	vals[bits.LDAP] = []string{strconv.FormatInt(int64(int32(bits.BaseBits|bits.FalseBits)), 10)}
	if enable && !hasPassword {
		pw, err := randomPassword()
		if err != nil {
			return "", err
		}
		password, hasPassword = pw, true
	}
	if hasPassword {
		if err := r.checkPasswordTransport(); err != nil {
			return "", err
		}
	}
	add := r.rt.AddRequest(vals, parent)
	if err := r.store.Add(ctx, add); err != nil {
		return "", err
	}
	undo := func(err error) (string, error) {
		_ = r.store.Delete(ctx, ldap.NewDelRequest(add.DN, nil))
		return "", err
	}
	if hasPassword {
		if err := r.setPassword(ctx, add.DN, password); err != nil {
			return undo(classify(err, "the password"))
		}
	}
	if enable {
		mod := ldap.NewModifyRequest(add.DN, nil)
		mod.Replace(bits.LDAP, []string{enabled})
		if err := r.store.Modify(ctx, mod); err != nil {
			return undo(err)
		}
	}
	return add.DN, nil
}
