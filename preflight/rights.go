package preflight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// checkSchema reads the directory's schema and reports what of the mapping it
// lacks (mapping.CheckSchema), each problem at its line of the mapping file.
func (r *run) checkSchema(ctx context.Context) {
	schema, err := r.store.ReadSchema(ctx)
	if err != nil {
		r.add(Finding{Check: "schema", Severity: Skipped, Message: fmt.Sprintf("could not read the directory's schema: %v", err),
			Fix: "grant the bind account read access to the subschema subentry (OpenLDAP: olcAccess to dn.base=\"cn=Subschema\" by * read)"})
		return
	}
	r.schema = schema
	ps := r.m.CheckSchema(schema)
	for _, p := range ps {
		r.add(Finding{Check: "schema", Severity: Error, Subject: fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col), Message: p.Msg,
			Fix: fmt.Sprintf("edit the mapping at %s:%d:%d, or load the schema that defines it into the directory; scim2ldap mapping check --ldap-url URL %s checks it again", p.File, p.Line, p.Col, p.File)})
	}
	if len(ps) == 0 {
		r.add(Finding{Check: "schema", Severity: OK, Message: "the mapping's object classes and attributes are in the directory's schema"})
	}
}

// checkBases reports each base DN the mapping needs that the directory lacks
// (MissingBases) and returns the resource types with one missing.
func (r *run) checkBases(ctx context.Context) map[string]bool {
	missing, err := MissingBases(ctx, r.store, r.m)
	if err != nil {
		r.add(Finding{Check: "base", Severity: Error, Message: err.Error(), Fix: "correct the base DN in the mapping, or see the bind finding above"})
	}
	out := map[string]bool{}
	for _, mb := range missing {
		out[mb.Type] = true
		r.add(Finding{Check: "base", Severity: Error, Subject: mb.DN, Message: mb.String(), Fix: r.baseFix(mb)})
	}
	for _, rt := range r.m.Types {
		if !out[rt.Name] && err == nil {
			r.add(Finding{Check: "base", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: the base DNs exist", rt.Name)})
		}
	}
	return out
}

// baseFix is the LDIF that creates a missing base and the entries missing
// above it (from the directory's matchedDN down), or the mapping line to fix.
func (r *run) baseFix(mb MissingBase) string {
	dn, err := ldap.ParseDN(mb.DN)
	if err != nil {
		return fmt.Sprintf("correct the DN at %s:%d:%d", r.m.File, mb.Pos.Line, mb.Pos.Col)
	}
	matched, _ := ldap.ParseDN(mb.Matched)
	var ldif strings.Builder
	for i := len(dn.RDNs) - 1; i >= 0; i-- {
		sub := &ldap.DN{RDNs: dn.RDNs[i:]}
		if matched != nil && len(matched.RDNs) > 0 && (matched.EqualFold(sub) || sub.AncestorOfFold(matched)) {
			continue
		}
		if mb.Matched == "" && i != 0 { // without a matchedDN, only the base itself
			continue
		}
		av := dn.RDNs[i].Attributes[0]
		fmt.Fprintf(&ldif, "dn: %s\n", sub.String())
		switch strings.ToLower(av.Type) {
		case "ou":
			ldif.WriteString("objectClass: organizationalUnit\n")
		case "cn":
			if r.m.Dialect.IsAD() {
				ldif.WriteString("objectClass: container\n")
			} else {
				ldif.WriteString("objectClass: organizationalRole\n")
			}
		case "o":
			ldif.WriteString("objectClass: organization\n")
		default:
			ldif.WriteString("objectClass: <a structural class that allows " + av.Type + ">\n")
		}
		fmt.Fprintf(&ldif, "%s: %s\n\n", av.Type, av.Value)
	}
	return fmt.Sprintf("create it as a directory administrator:\nldapadd -H %s -D '<administrator DN>' -W <<'EOF'\n%sEOF\n"+
		"or correct %s's base at %s:%d:%d; if it exists, grant the bind account read access to it",
		r.opts.LDAP.URL, ldif.String(), mb.Type, r.m.File, mb.Pos.Line, mb.Pos.Col)
}

// falseAssertion is an assertion (RFC 4528) no entry satisfies: an update
// sent with it is never carried out. slapd 2.5 checks the bind account's
// access to rename and delete before the assertion, so the answer tells the
// right apart: 50 insufficientAccessRights without it, 122 assertionFailed
// with it. (For add and modify it checks the assertion first: add can't be
// probed without writing, modify is probed otherwise, see probeModify.)
var falseAssertion = &ldapstore.AssertionControl{Filter: "(!(objectClass=*))"}

// probeName returns a fresh name for probe entries and values:
// "s2l-doctor-" and 8 hex digits, 19 characters, so that it also fits AD's
// sAMAccountName (at most 20).
func probeName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "s2l-doctor-" + hex.EncodeToString(b)
}

// verdict is what an update's answer says of the right to make it.
type verdict int

const (
	allowed verdict = iota
	denied
	unknown
)

// classify reads a probe's answer: 50 is a missing right; 122 (the assertion
// failed), 16 (the value to delete is absent) or success mean the access
// check passed; anything else says nothing of rights.
func classify(err error) verdict {
	switch {
	case err == nil, ldap.IsErrorAnyOf(err, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchAttribute):
		return allowed
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		return denied
	}
	return unknown
}

// checkRights checks, per resource type whose bases exist, that the bind
// account can read entries (with their id) and create, modify, rename and
// delete them: with never-carried-out probes by default, or with a real probe
// entry under Options.WriteProbe.
func (r *run) checkRights(ctx context.Context, missing map[string]bool) {
	for _, rt := range r.m.Types {
		if missing[rt.Name] {
			continue
		}
		sample := r.checkRead(ctx, rt)
		if r.opts.WriteProbe {
			r.writeProbe(ctx, rt)
			continue
		}
		if r.m.Dialect.IsAD() {
			continue // AD: no assertion control; checkAD reads the effective rights
		}
		if !r.store.Supports(ldapstore.OIDAssertion) {
			r.add(Finding{Check: "rights.add", Severity: Skipped, Subject: rt.Base,
				Message: "the directory does not support the assertion control (RFC 4528), so write rights can't be probed without writing",
				Fix:     "run scim2ldap doctor --write-probe: it creates, changes and deletes one probe entry"})
			continue
		}
		if sample == nil {
			r.add(Finding{Check: "rights.add", Severity: Skipped, Subject: rt.Base,
				Message: fmt.Sprintf("%s: no entry under %s yet, so the rights to create, modify, rename and delete were not probed", rt.Name, rt.Base),
				Fix:     "run scim2ldap doctor --write-probe, which probes them with an entry of its own"})
			continue
		}
		del := r.store.Delete(ctx, ldap.NewDelRequest(sample.DN, []ldap.Control{falseAssertion}))
		// Adding and deleting an entry both need write access to the parent's
		// children and to the entry itself (slapd.access(5), "entry" and
		// "children"): the delete probe stands for both.
		r.rightFinding("rights.add", rt, rt.Base, "create", del,
			" (inferred from the delete probe: both need write access to the entry and its parent's children; --write-probe proves it)")
		r.probeModify(ctx, rt, sample)
		if a := rt.RDNAttr(); (a != nil && a.Writable()) || rt.Parent != nil {
			req := ldap.NewModifyDNWithControlsRequest(sample.DN, rt.RDN+"="+ldap.EscapeDN(probeName()), true, "", []ldap.Control{falseAssertion})
			r.rightFinding("rights.rename", rt, rt.Base, "rename", r.store.ModifyDN(ctx, req), "")
		}
		if rt.OnDelete != mapping.OnDeleteDeactivate {
			r.rightFinding("rights.delete", rt, rt.Base, "delete", del, "")
		}
	}
}

// checkRead searches a resource type's entries as the gateway does and
// returns one (nil when there are none yet or they can't be read).
func (r *run) checkRead(ctx context.Context, rt *mapping.ResourceType) *ldap.Entry {
	d := rt.Dialect()
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 1, 0, false, rt.Filter,
		[]string{d.ID, d.Version, "*"}, nil))
	switch {
	case err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		r.add(Finding{Check: "read", Severity: Error, Subject: rt.Base, Message: fmt.Sprintf("%s: searching %s failed: %v", rt.Name, rt.Base, err),
			Fix: r.aclFix(rt.Base, "read")})
		return nil
	case res == nil || len(res.Entries) == 0:
		r.add(Finding{Check: "read", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: can search %s (no entry matches %s yet)", rt.Name, rt.Base, rt.Filter)})
		return nil
	}
	e := res.Entries[0]
	if len(e.GetEqualFoldRawAttributeValue(d.ID)) == 0 || e.GetEqualFoldAttributeValue(d.Version) == "" {
		r.add(Finding{Check: "read", Severity: Error, Subject: e.DN,
			Message: fmt.Sprintf("%s: the bind account can't read %s or %s of %s: without them there is no SCIM id or ETag", rt.Name, d.ID, d.Version, e.DN),
			Fix:     r.aclFix(rt.Base, "read")})
		return nil
	}
	r.add(Finding{Check: "read", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: can read entries under %s with their %s", rt.Name, rt.Base, d.ID)})
	return e
}

// probeEntry builds the add of a fresh entry of the resource type from a
// made-up resource whose RDN source and required attributes hold one probe
// name, through the mapping's own conversion (WriteValues, AddRequest).
func probeEntry(rt *mapping.ResourceType, name string) (*ldap.AddRequest, error) {
	res := map[string]any{}
	rdn := rt.RDNAttr()
	for _, a := range rt.Attrs {
		if (a != rdn && !a.Def.Required) || !a.Writable() || a.Password || a.IsReference() || len(a.Fixed) > 0 || a.Type() != "string" {
			continue
		}
		into := res
		if a.SchemaURN != rt.Schema.ID {
			ext, _ := res[a.SchemaURN].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				res[a.SchemaURN] = ext
			}
			into = ext
		}
		if a.Sub == nil {
			into[a.Def.Name] = name
		} else if !a.Def.MultiValued {
			sub, _ := into[a.Def.Name].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				into[a.Def.Name] = sub
			}
			sub[a.Sub.Name] = name
		}
	}
	vals, err := rt.WriteValues(res, func(_, ids []string) (map[string]string, error) { return map[string]string{}, nil })
	if err != nil {
		return nil, err
	}
	parent, err := rt.ParentDN(res)
	if err != nil {
		return nil, err
	}
	return rt.AddRequest(vals, parent), nil
}

// probeModify deletes, from a sample entry, a value of each writable mapped
// attribute that the entry doesn't hold, guarded by an assertion that it
// doesn't: slapd checks access to every change before applying any, so 50
// means no write right, and 16 (no such value) that it is there. Nothing is
// ever removed: the assertion makes a value that appeared meanwhile fail the
// whole modify.
func (r *run) probeModify(ctx context.Context, rt *mapping.ResourceType, e *ldap.Entry) {
	name := probeName()
	probe, _ := probeEntry(rt, name)
	var deniedAttrs, unknownAttrs []string
	seen := map[string]bool{}
	for _, a := range rt.Attrs {
		attr := strings.ToLower(a.LDAP)
		if !a.Writable() || a.Password || seen[attr] || strings.EqualFold(a.LDAP, rt.RDN) {
			continue
		}
		seen[attr] = true
		value := probeValue(a, probe, name)
		if slices.ContainsFunc(e.GetEqualFoldAttributeValues(a.LDAP), func(v string) bool { return strings.EqualFold(v, value) }) {
			continue
		}
		mod := ldap.NewModifyRequest(e.DN, []ldap.Control{&ldapstore.AssertionControl{Filter: "(!(" + a.LDAP + "=" + ldap.EscapeFilter(value) + "))"}})
		mod.Delete(a.LDAP, []string{value})
		switch err := r.store.Modify(ctx, mod); classify(err) {
		case denied:
			deniedAttrs = append(deniedAttrs, a.LDAP)
		case unknown:
			unknownAttrs = append(unknownAttrs, fmt.Sprintf("%s (%v)", a.LDAP, err))
		}
	}
	switch {
	case len(deniedAttrs) > 0:
		r.add(Finding{Check: "rights.modify", Severity: Error, Subject: rt.Base,
			Message: fmt.Sprintf("%s: the bind account may not write %s of entries under %s", rt.Name, strings.Join(deniedAttrs, ", "), rt.Base),
			Fix:     r.aclFix(rt.Base, "write")})
	case len(unknownAttrs) > 0:
		r.add(Finding{Check: "rights.modify", Severity: Skipped, Subject: rt.Base,
			Message: fmt.Sprintf("%s: the modify probe said nothing of the right to write %s", rt.Name, strings.Join(unknownAttrs, "; ")),
			Fix:     "run scim2ldap doctor --write-probe"})
	default:
		r.add(Finding{Check: "rights.modify", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: may modify the mapped attributes under %s", rt.Name, rt.Base)})
	}
}

// probeValue is a value of a's attribute that no entry holds and that its
// syntax accepts: the probe entry's own (fresh name), a DN for references, the
// lock value for a lock attribute (the assertion keeps a locked entry locked).
func probeValue(a *mapping.AttrMap, probe *ldap.AddRequest, name string) string {
	switch {
	case a.IsReference():
		return "cn=" + name
	case a.TrueWhenAbsent:
		return a.FalseValue
	}
	if probe != nil {
		for _, at := range probe.Attributes {
			if strings.EqualFold(at.Type, a.LDAP) && len(at.Vals) > 0 {
				return at.Vals[0]
			}
		}
	}
	if a.Type() == "boolean" {
		return a.TrueValue
	}
	return name
}

// rightFinding reports what a probe's answer (err) says of the right to
// what (create, rename, delete) entries under under; note qualifies it.
func (r *run) rightFinding(check string, rt *mapping.ResourceType, under, what string, err error, note string) {
	switch classify(err) {
	case allowed:
		r.add(Finding{Check: check, Severity: OK, Subject: under, Message: fmt.Sprintf("%s: may %s entries under %s%s", rt.Name, what, under, note)})
	case denied:
		r.add(Finding{Check: check, Severity: Error, Subject: under, Message: fmt.Sprintf("%s: the bind account may not %s entries under %s%s", rt.Name, what, under, note),
			Fix: r.aclFix(rt.Base, "write")})
	default:
		r.add(Finding{Check: check, Severity: Skipped, Subject: under, Message: fmt.Sprintf("%s: the %s probe said nothing of rights: %v", rt.Name, what, err),
			Fix: "run scim2ldap doctor --write-probe"})
	}
}

// aclFix is the olcAccess rule that gives the bind account the access level
// (read or write) under base, placed first in the database's rules.
func (r *run) aclFix(base, level string) string {
	who := r.opts.LDAP.BindDN
	if who == "" {
		who = "<service account DN>"
	}
	if r.m.Dialect.IsAD() {
		return fmt.Sprintf("delegate control of %s to the service account (Active Directory Users and Computers: Delegate Control…), or: dsacls \"%s\" /I:T /G \"<DOMAIN>\\<account>:%s\"",
			base, base, map[string]string{"read": "GR", "write": "GA"}[level])
	}
	db := "olcDatabase={1}mdb,cn=config"
	note := " (your database's DN: ldapsearch -Y EXTERNAL -H ldapi:/// -b cn=config '(olcSuffix=*)' dn)"
	if r.config != nil && r.config.db != nil {
		db, note = r.config.db.DN, ""
	}
	return fmt.Sprintf("give the service account %s access under %s%s:\nldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nadd: olcAccess\n"+
		"olcAccess: {0}to dn.subtree=\"%s\" by dn.exact=\"%s\" %s by * break\nEOF",
		level, base, note, db, base, who, level)
}

func parentOf(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	return (&ldap.DN{RDNs: d.RDNs[1:]}).String()
}

// writeProbe creates one probe entry under the resource type's parent DN,
// replaces its attributes with their own values, sets a password when the
// mapping maps one, locks it when the mapping has a lock attribute, renames it
// and deletes it: each step as the gateway would take it. Whatever step
// fails, the entry is deleted; if that fails too, the finding names it.
func (r *run) writeProbe(ctx context.Context, rt *mapping.ResourceType) {
	name := probeName()
	add, err := probeEntry(rt, name)
	if err != nil {
		r.add(Finding{Check: "write-probe", Severity: Skipped, Subject: rt.Base, Message: fmt.Sprintf("%s: could not build a probe entry from the mapping: %v", rt.Name, err)})
		return
	}
	dn := add.DN
	if err := r.store.Add(ctx, add); err != nil {
		r.writeFailed(rt, "create", dn, err)
		return
	}
	cleanup := func() {
		if err := r.store.Delete(context.WithoutCancel(ctx), ldap.NewDelRequest(dn, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			r.add(Finding{Check: "write-probe", Severity: Error, Subject: dn, Message: fmt.Sprintf("%s: the probe entry %s is left in the directory: %v", rt.Name, dn, err),
				Fix: fmt.Sprintf("delete it: ldapdelete -H %s -D '<administrator DN>' -W '%s'", r.opts.LDAP.URL, dn)})
		}
	}
	mod := ldap.NewModifyRequest(dn, nil)
	for _, at := range add.Attributes {
		if !strings.EqualFold(at.Type, "objectClass") && !strings.EqualFold(at.Type, rt.RDN) && len(at.Vals) > 0 {
			mod.Replace(at.Type, at.Vals)
		}
	}
	for _, a := range rt.Attrs {
		if a.TrueWhenAbsent && a.Writable() {
			mod.Replace(a.LDAP, []string{a.FalseValue}) // the lock a deactivation writes
		}
	}
	if len(mod.Changes) > 0 {
		if err := r.store.Modify(ctx, mod); err != nil {
			r.writeFailed(rt, "modify", dn, err)
			cleanup()
			return
		}
	}
	for _, a := range rt.Attrs {
		if a.Password && !r.m.Dialect.IsAD() {
			if err := r.store.SetPassword(ctx, dn, probeName()+"-Aa1!"); err != nil {
				r.writeFailed(rt, "set the password (Password Modify, RFC 3062) of", dn, err)
				cleanup()
				return
			}
		}
	}
	newRDN := rt.RDN + "=" + ldap.EscapeDN(name+"-renamed")
	if err := r.store.ModifyDN(ctx, ldap.NewModifyDNRequest(dn, newRDN, true, "")); err != nil {
		r.writeFailed(rt, "rename", dn, err)
		cleanup()
		return
	}
	dn = newRDN + "," + parentOf(dn)
	if err := r.store.Delete(ctx, ldap.NewDelRequest(dn, nil)); err != nil {
		r.writeFailed(rt, "delete", dn, err)
		cleanup()
		return
	}
	r.add(Finding{Check: "write-probe", Severity: OK, Subject: parentOf(dn),
		Message: fmt.Sprintf("%s: created, modified, renamed and deleted the probe entry %s", rt.Name, add.DN)})
}

func (r *run) writeFailed(rt *mapping.ResourceType, step, dn string, err error) {
	fix := r.aclFix(rt.Base, "write")
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode != ldap.LDAPResultInsufficientAccessRights {
		fix = "the directory refused it for another reason than rights: see the message; " + fix
	}
	r.add(Finding{Check: "write-probe", Severity: Error, Subject: dn, Message: fmt.Sprintf("%s: could not %s the probe entry %s: %v", rt.Name, step, dn, err), Fix: fix})
}
