package mapping

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/scimerr"
)

// ValueError is a client error in a resource's values (RFC 7644 §3.12): the
// gateway answers 400 with ScimType (scimerr.InvalidValue, scimerr.Mutability,
// scimerr.InvalidPath) and the message, which names the attribute.
type ValueError struct {
	ScimType scimerr.Type
	Msg      string
	// ID is the id a reference names when no resource has it ("" for other
	// errors), so the layer that knows ids can say more of it.
	ID string
}

func (e *ValueError) Error() string { return e.Msg }

func invalid(format string, args ...any) *ValueError {
	return &ValueError{ScimType: scimerr.InvalidValue, Msg: fmt.Sprintf(format, args...)}
}

// Ref is the SCIM side of a DN reference: the id and resource type of the entry.
type Ref struct {
	ID       string
	Type     string // resource type name, e.g. "User"
	Endpoint string // its endpoint, e.g. "/Users"
}

// IDLookup maps SCIM ids of the given resource types to DNs in one batched search;
// unknown ids are absent from the result (same shape as filterxlate.DNLookup).
type IDLookup = func(refTypes []string, ids []string) (map[string]string, error)

// Lookup returns the value of key in a JSON object, comparing names
// case-insensitively as SCIM requires (RFC 7643 §2.1).
func Lookup(obj map[string]any, key string) (any, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// schemaObject returns the part of a resource that holds schema urn's attributes:
// the resource itself for the core schema, the object under the URN key for an
// extension. Comparison ignores case and colons, so Entra's typo
// "…:enterprise:2.0User" still works.
func (rt *ResourceType) schemaObject(res map[string]any, urn string) map[string]any {
	if urn == rt.Schema.ID {
		return res
	}
	v, _ := extValue(res, urn)
	m, _ := v.(map[string]any)
	return m
}

// extValue finds an extension's value in a resource by its URN, ignoring case
// and colons.
func extValue(res map[string]any, urn string) (any, bool) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, ":", "")) }
	for k, v := range res {
		if norm(k) == norm(urn) {
			return v, true
		}
	}
	return nil, false
}

// LDAPValues computes, from a SCIM resource as a client sent it (POST or PUT
// body), the LDAP values of every writable mapped attribute: attributes absent
// from the body map to an empty list (PUT clears them), defaults are applied, and
// references are turned into DNs with lookup. Keys are the mapping's LDAP names.
//
// A string holding U+0000 in any attribute but a binary one (whose base64 text
// cannot hold it, while the bytes it decodes to may be anything), reference ids
// included, is a ValueError naming the attribute, found before lookup is called;
// so is a computed value holding one (see CheckText), and an element of a
// reference list (members) without an id (see scimValues).
func (rt *ResourceType) LDAPValues(res map[string]any, lookup IDLookup) (map[string][]string, error) {
	for _, e := range rt.Extensions {
		if v, ok := extValue(res, e.Schema.ID); ok && v != nil {
			if _, isObj := v.(map[string]any); !isObj {
				return nil, invalid("%s must be an object of the extension's attributes", e.Schema.ID)
			}
		}
	}
	out := map[string][]string{}
	type pendingRef struct {
		a   *AttrMap
		ids []string
	}
	var refs []pendingRef
	var env map[string]any // for expressions, built on first use
	for _, a := range rt.Attrs {
		if !a.Writable() || a.Password {
			continue
		}
		raw, err := rt.scimValues(res, a)
		if err != nil {
			return nil, err
		}
		if a.Type() != "binary" {
			for _, v := range raw {
				if s, ok := v.(string); ok {
					if err := CheckText(a.Key, s); err != nil {
						return nil, err
					}
				}
			}
		}
		if (a.TrueWhenAbsent || a.FalseBits != 0) && len(raw) == 0 {
			// An account state the resource doesn't mention stays as it is: a PUT
			// without active must not lift a lock (or a ppolicy lockout), nor touch
			// the other bits of a shared attribute (userAccountControl).
			continue
		}
		if a.IsReference() {
			ids := make([]string, 0, len(raw))
			for _, v := range raw {
				s, ok := v.(string)
				if !ok {
					return nil, invalid("%s must be an id (string)", a.Key)
				}
				ids = append(ids, s)
			}
			refs = append(refs, pendingRef{a, ids})
			out[a.LDAP] = nil
			continue
		}
		vals := make([]string, 0, len(raw))
		for _, v := range raw {
			if a.ToLDAP != nil {
				if env == nil {
					env = rt.exprEnv(res)
				}
				env["value"] = plain(a.Sub, v)
				out, err := a.ToLDAP.Eval(env)
				if err != nil {
					return nil, invalid("%s: %v", a.Key, err)
				}
				vals = append(vals, exprValues(out)...)
				continue
			}
			s, err := toLDAP(a, v)
			if err != nil {
				return nil, err
			}
			if s != "" || !a.TrueWhenAbsent {
				vals = append(vals, s)
			}
		}
		out[a.LDAP] = dedupe(vals)
	}
	for _, r := range refs {
		if len(r.ids) == 0 {
			continue
		}
		dns, err := lookup(r.a.RefTypes, r.ids)
		if err != nil {
			return nil, err
		}
		for _, id := range r.ids {
			dn, ok := dns[id]
			if !ok {
				e := invalid("%s: no %s with id %q", r.a.Key, strings.Join(r.a.RefTypes, " or "), id)
				e.ID = id
				return nil, e
			}
			out[r.a.LDAP] = append(out[r.a.LDAP], dn)
		}
		out[r.a.LDAP] = dedupe(out[r.a.LDAP])
	}
	for _, r := range refs {
		if ph := r.a.Placeholder; ph != nil && len(out[r.a.LDAP]) == 0 {
			out[r.a.LDAP] = []string{*ph}
		}
	}
	for _, c := range rt.Computed {
		if env == nil {
			env = rt.exprEnv(res)
		}
		env["value"] = nil
		v, err := c.Expr.Eval(env)
		if err != nil {
			return nil, invalid("computing %s: %v", c.LDAP, err)
		}
		out[c.LDAP] = exprValues(v)
		for _, s := range out[c.LDAP] {
			// Expressions see unmapped attributes too, which the loop above did not check.
			if err := CheckText(c.LDAP+" (computed by the mapping)", s); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range rt.Defaults {
		if len(out[d.LDAP]) > 0 {
			continue
		}
		for _, tpl := range d.Templates {
			if v := rt.expand(tpl, res); v != "" {
				out[d.LDAP] = []string{v}
				break
			}
		}
	}
	return out, nil
}

// CheckText refuses a string value that holds U+0000 (NUL) with a ValueError
// (400 invalidValue) naming what (a SCIM attribute such as "userName").
// Programs that read directory values as C strings (NSS and PAM modules, many
// LDAP clients) end them at U+0000, so a value holding one means different
// things to different readers: uid "alice\x00x" reads as "alice" to them.
func CheckText(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalid("%s contains U+0000 (NUL), which is not allowed in directory values", what)
	}
	return nil
}

func dedupe(vals []string) []string {
	seen := make(map[string]bool, len(vals))
	out := vals[:0]
	for _, v := range vals {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// expand fills a default's template, e.g. "{name.givenName} {name.familyName}";
// it returns "" when any placeholder is empty, so the next template is tried.
func (rt *ResourceType) expand(tpl string, res map[string]any) string {
	missing := false
	s := templateRe.ReplaceAllStringFunc(tpl, func(m string) string {
		a := rt.attrByPath(m[1 : len(m)-1])
		if a == nil {
			return ""
		}
		vals, _ := rt.scimValues(res, a)
		if len(vals) == 0 {
			missing = true
			return ""
		}
		str, _ := toLDAP(a, vals[0])
		return str
	})
	if missing {
		return ""
	}
	return strings.TrimSpace(s)
}

// attrByPath returns the mapping of a simple or sub-attribute path such as
// "userName" or "name.familyName", or nil.
func (rt *ResourceType) attrByPath(path string) *AttrMap {
	name, sub, _ := strings.Cut(path, ".")
	for _, a := range rt.Attrs {
		if strings.EqualFold(a.Def.Name, name) && len(a.Fixed) == 0 &&
			((a.Sub == nil && sub == "") || (a.Sub != nil && strings.EqualFold(a.Sub.Name, sub))) {
			return a
		}
	}
	return nil
}

// scimValues extracts the raw JSON values that a mapping takes from a resource:
// none, one, or several for multi-valued attributes. Nulls and "" are absent
// (Entra sends null for unset attributes), except inside a list of references
// (members): an element whose id is missing, null or "" is a ValueError naming
// the attribute, as it names no resource. A single-valued reference such as
// manager with an empty id is absent (no manager).
func (rt *ResourceType) scimValues(res map[string]any, a *AttrMap) ([]any, error) {
	obj := rt.schemaObject(res, a.SchemaURN)
	if obj == nil {
		return nil, nil
	}
	v, ok := Lookup(obj, a.Def.Name)
	if !ok || isEmpty(v) {
		return nil, nil
	}
	switch {
	case a.Sub == nil && !a.Def.MultiValued:
		return []any{v}, nil
	case a.Sub == nil:
		list, ok := v.([]any)
		if !ok {
			return nil, invalid("%s must be an array", a.Def.Name)
		}
		return nonEmpty(list), nil
	case !a.Def.MultiValued:
		// Complex single-valued (name, manager). Entra may send manager as a bare id string.
		if s, ok := v.(string); ok && a.IsReference() {
			return []any{s}, nil
		}
		if list, ok := v.([]any); ok && len(list) == 1 && a.IsReference() {
			v = list[0]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid("%s must be an object with sub-attributes", a.Def.Name)
		}
		sv, _ := Lookup(m, a.Sub.Name)
		if isEmpty(sv) {
			return nil, nil
		}
		return []any{sv}, nil
	default:
		list, ok := v.([]any)
		if !ok {
			if m, isObj := v.(map[string]any); isObj {
				list = []any{m} // tolerate a single object where an array is due
			} else {
				return nil, invalid("%s must be an array of objects", a.Def.Name)
			}
		}
		var out []any
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, invalid("%s must be an array of objects with %q", a.Def.Name, a.Sub.Name)
			}
			if !rt.elementInSlot(m, a) {
				continue
			}
			sv, _ := Lookup(m, a.Sub.Name)
			if !isEmpty(sv) {
				out = append(out, sv)
			} else if a.IsReference() {
				// An element of a reference list (a group's members) with no
				// id names nothing: dropping it would answer as if it were
				// stored. Other lists drop empty values (Entra clears with "").
				return nil, invalid("%s: each element needs %q, the id of a %s; %s names none", a.Key, a.Sub.Name, strings.Join(a.RefTypes, " or "), elementText(m))
			}
		}
		return out, nil
	}
}

// elementText is a short JSON text of a list element, for error details.
func elementText(m map[string]any) string {
	b, _ := json.Marshal(m)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// elementInSlot reports whether a multi-valued element belongs to a's slot: every
// fixed sub-attribute matches (type case-insensitively). An element without a type
// goes to the attribute's untyped slot, or to its only slot when there is one.
func (rt *ResourceType) elementInSlot(elem map[string]any, a *AttrMap) bool {
	for sub, want := range a.Fixed {
		got, ok := Lookup(elem, sub)
		if !ok || got == nil {
			if sub == "type" && len(rt.slotsOf(a)) == 1 {
				continue
			}
			if sub == "primary" {
				return false
			}
			return false
		}
		if !strings.EqualFold(fmt.Sprint(got), want) {
			return false
		}
	}
	return true
}

func (rt *ResourceType) slotsOf(a *AttrMap) []*AttrMap {
	var out []*AttrMap
	for _, b := range rt.Attrs {
		if b.Def == a.Def && b.Sub == a.Sub {
			out = append(out, b)
		}
	}
	return out
}

// IsEmpty reports whether a JSON value counts as no value: null, "", or an array
// of such (Entra sends null and "" to clear an attribute).
func IsEmpty(v any) bool { return isEmpty(v) }

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(nonEmpty(x)) == 0
	}
	return false
}

func nonEmpty(list []any) []any {
	out := make([]any, 0, len(list))
	for _, v := range list {
		if !isEmpty(v) {
			out = append(out, v)
		}
	}
	return out
}

// toLDAP encodes one SCIM value in the LDAP syntax of its type (RFC 7643 §2.3).
func toLDAP(a *AttrMap, v any) (string, error) {
	switch a.Type() {
	case "boolean":
		b, ok := ParseBool(v)
		if !ok {
			return "", invalid("%s must be a boolean (true or false)", a.Key)
		}
		if b && a.TrueWhenAbsent {
			return "", nil
		}
		if a.FalseBits != 0 { // the whole value of a new entry; KeepOtherBits rebases it on updates
			if b {
				return strconv.FormatUint(uint64(a.BaseBits&^a.FalseBits), 10), nil
			}
			return strconv.FormatUint(uint64(a.BaseBits|a.FalseBits), 10), nil
		}
		if b {
			return a.TrueValue, nil
		}
		return a.FalseValue, nil
	case "integer":
		switch n := v.(type) {
		case int64: // read back from the directory (PATCH applies to that form)
			return strconv.FormatInt(n, 10), nil
		case json.Number:
			if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return string(n), nil
			}
		}
		return "", invalid("%s must be an integer", a.Key)
	case "decimal":
		n, ok := v.(json.Number)
		if !ok {
			return "", invalid("%s must be a number", a.Key)
		}
		return string(n), nil
	case "dateTime":
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return "", invalid("%s must be an RFC 3339 date-time such as 2026-01-02T15:04:05Z", a.Key)
		}
		return GeneralizedTime(t), nil
	case "binary":
		s, _ := v.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", invalid("%s must be base64", a.Key)
		}
		return string(b), nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid("%s must be a string", a.Key)
	}
	return s, nil
}

// ParseBool accepts JSON booleans and the strings "true"/"false" in any case,
// which Entra ID sends ("False").
func ParseBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// GeneralizedTime formats t as LDAP generalizedTime in UTC (RFC 4517 §3.3.13).
func GeneralizedTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return strings.TrimRight(t.Format("20060102150405.000000000"), "0") + "Z"
	}
	return t.Format("20060102150405Z")
}

// ParseGeneralizedTime parses LDAP generalizedTime ("20260102150405Z",
// "20260102150405.123Z", with or without an offset).
func ParseGeneralizedTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102150405Z0700", "20060102150405.999999999Z0700", "20060102150405Z07", "2006010215Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a generalizedTime: %q", s)
}

// IsFalseValue reports whether the LDAP value s is a's FalseValue, compared
// as the directory's equality rule would for the values the gateway writes:
// exactly when a is caseExact, else ignoring case (nsAccountLock's "TRUE" is
// "true" to caseIgnoreMatch; pwdAccountLockedTime's "000001010000Z", which the
// gateway writes itself, has no letter case to differ in).
func (a *AttrMap) IsFalseValue(s string) bool {
	if a.CaseExact {
		return s == a.FalseValue
	}
	return strings.EqualFold(s, a.FalseValue)
}

// fromLDAP decodes one LDAP value into its SCIM JSON form; ok is false when
// the value is not in the syntax a.Type() reads (an integer attribute holding
// "n/a", a boolean that is neither TrueValue nor FalseValue), and the value is
// then passed on as the string it is (or, for a boolean, read as false).
func fromLDAP(a *AttrMap, raw []byte) (v any, ok bool) {
	s := string(raw)
	switch a.Type() {
	case "boolean":
		if a.TrueWhenAbsent {
			// Only the gateway's own lock is a deactivation: another value (ppolicy's
			// lockout after failed binds, a time) leaves the account administratively active.
			return !a.IsFalseValue(s), true
		}
		if a.FalseBits != 0 {
			n, err := strconv.ParseInt(s, 10, 64) // userAccountControl is a signed 32-bit integer
			return err == nil && uint32(n)&a.FalseBits == 0, err == nil
		}
		isTrue := strings.EqualFold(s, a.TrueValue)
		return isTrue, isTrue || strings.EqualFold(s, a.FalseValue)
	case "integer":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		return s, false
	case "decimal":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
		return s, false
	case "dateTime":
		if t, err := ParseGeneralizedTime(s); err == nil {
			return t.Format(time.RFC3339), true
		}
		return s, false
	case "binary":
		return base64.StdEncoding.EncodeToString(raw), true
	}
	return s, true
}

// ReferenceDNs returns the DNs an entry refers to through mapped references
// (manager, members…), for one batched DN → id lookup before FromLDAP.
func (rt *ResourceType) ReferenceDNs(e *ldap.Entry, p *Projection) []string {
	var dns []string
	rt.eachReference(e, p, func(dn string) { dns = append(dns, dn) })
	return dns
}

// ReferenceCount is len(ReferenceDNs(e, p)), without the list.
func (rt *ResourceType) ReferenceCount(e *ldap.Entry, p *Projection) int {
	n := 0
	rt.eachReference(e, p, func(string) { n++ })
	return n
}

// eachReference calls fn with each DN value of e that FromLDAP with p renders
// as a reference, in the order it renders them (an empty value, groupOfNames'
// placeholder member, is none).
func (rt *ResourceType) eachReference(e *ldap.Entry, p *Projection, fn func(dn string)) {
	for _, a := range rt.Attrs {
		if a.IsReference() && rt.renders(a, p) {
			for _, v := range e.GetEqualFoldAttributeValues(a.LDAP) {
				if v != "" {
					fn(v)
				}
			}
		}
	}
}

// renders reports whether FromLDAP with p shows attribute a.
func (rt *ResourceType) renders(a *AttrMap, p *Projection) bool {
	return a.Mutability != MutabilityWriteOnly && p.includes(rt, a)
}

// ProjectsReferences reports whether p includes a reference attribute of rt
// (groups, members, manager…): rendering rt's entries with p then resolves DNs.
func (rt *ResourceType) ProjectsReferences(p *Projection) bool {
	for _, a := range rt.Attrs {
		if a.IsReference() && rt.renders(a, p) {
			return true
		}
	}
	return false
}

// RefKey normalises a DN for reference maps (DNs compare case-insensitively).
// Plain DNs (no escapes, quotes or multi-valued RDNs: nearly all) take a fast
// path; the rest are parsed per RFC 4514.
func RefKey(dn string) string {
	if !strings.ContainsAny(dn, "\\\"+#; ") {
		return strings.ToLower(dn)
	}
	if d, err := ldap.ParseDN(dn); err == nil {
		parts := make([]string, len(d.RDNs))
		for i, r := range d.RDNs {
			var avas []string
			for _, ava := range r.Attributes {
				avas = append(avas, strings.ToLower(ava.Type)+"="+strings.ToLower(ava.Value))
			}
			sort.Strings(avas)
			parts[i] = strings.Join(avas, "+")
		}
		return strings.Join(parts, ",")
	}
	return strings.ToLower(dn)
}

// FromLDAP builds the SCIM representation of an entry (RFC 7643 §3): schemas, id,
// externalId, meta and every mapped attribute the projection includes (meta
// whole, only some of its sub-attributes, or not at all; RFC 7644 §3.9). refs
// holds the resources the entry's DNs name (a DN it lacks is dangling, or the
// empty placeholder member, and not shown); baseURL is the absolute SCIM base
// ("https://host/scim/v2") for meta.location and $ref. What the entry holds
// that SCIM cannot show is left out silently (RenderChecked names it).
func (rt *ResourceType) FromLDAP(e *ldap.Entry, refs *Refs, baseURL string, p *Projection) map[string]any {
	return rt.fromEntry(e, refs, baseURL, p, nil)
}

// RenderProblem is something of an entry that FromLDAP cannot show as SCIM:
// the mapped attribute (its key in the mapping file, e.g. "userName", and its
// LDAP attribute), the LDAP value concerned ("" when none) and why.
type RenderProblem struct {
	Attr, LDAP, Value, Reason string
}

// RenderChecked is FromLDAP with every attribute (no projection) that also
// reports what the rendering leaves out or cannot convert: a required
// attribute (RFC 7643 §2.2 "required", e.g. userName) with no value, a value
// not in the syntax of the attribute's SCIM type (RFC 7643 §2.3), a value the
// mapping's toSCIM expression refuses, values beyond the first of a
// single-valued SCIM attribute, and an entry without the id attribute.
// Reference values that name no resource of refs are not reported here: they
// are left out as FromLDAP leaves them out (dangling, or naming an entry of no
// resource type), and a caller that knows which tells them apart.
func (rt *ResourceType) RenderChecked(e *ldap.Entry, refs map[string]Ref, baseURL string) (map[string]any, []RenderProblem) {
	var problems []RenderProblem
	res := rt.fromEntry(e, NewRefs(refs), baseURL, nil, func(p RenderProblem) { problems = append(problems, p) })
	return res, problems
}

// fromEntry is FromLDAP; report, when not nil, hears of each RenderProblem.
func (rt *ResourceType) fromEntry(e *ldap.Entry, refs *Refs, baseURL string, p *Projection, report func(RenderProblem)) map[string]any {
	d := rt.dialect
	id := d.EntryID(e)
	if id == "" && report != nil {
		report(RenderProblem{Attr: "id", LDAP: d.ID, Reason: "the entry has no " + d.ID + ", the SCIM id"})
	}
	res := map[string]any{"id": id}
	schemas := []string{rt.Schema.ID}
	slots := refs.entrySlots(e) // the slots of e's reference values, in order, when noted
	for _, a := range rt.Attrs {
		if !rt.renders(a, p) {
			continue
		}
		raw := e.GetEqualFoldRawAttributeValues(a.LDAP)
		var vals []any
		if len(raw) > 1 {
			vals = make([]any, 0, len(raw))
		}
		if len(raw) == 0 && a.TrueWhenAbsent {
			vals = []any{true}
		}
		if a.IsReference() { // DNs, read as the strings go-ldap keeps (no copy per value)
			for _, dn := range e.GetEqualFoldAttributeValues(a.LDAP) {
				if dn == "" {
					continue // groupOfNames' placeholder member
				}
				var o map[string]any
				if len(slots) > 0 && refs.slots[slots[0]].dn == dn {
					o = refs.slotObject(slots[0], baseURL, a)
					slots = slots[1:]
				} else {
					o = refs.object(dn, baseURL, a)
				}
				if o != nil {
					vals = append(vals, o)
				}
			}
		}
		for _, r := range raw {
			if a.IsReference() {
				break // above
			}
			v, ok := fromLDAP(a, r)
			if !ok && report != nil {
				report(RenderProblem{Attr: a.Key, LDAP: a.LDAP, Value: string(r), Reason: "not a SCIM " + a.Type() + " value"})
			}
			if a.ToSCIM != nil {
				out, err := a.ToSCIM.Eval(map[string]any{"value": v})
				if err != nil {
					if report != nil {
						report(RenderProblem{Attr: a.Key, LDAP: a.LDAP, Value: string(r), Reason: "the mapping's toSCIM expression refuses it: " + err.Error()})
					}
					continue // a value the transform can't take is not shown
				}
				v = out
			}
			vals = append(vals, v)
		}
		if report != nil && len(vals) == 0 && a.Required() {
			report(RenderProblem{Attr: a.Key, LDAP: a.LDAP, Reason: "required, and the entry has no value"})
		}
		if report != nil && len(vals) > 1 && !a.Def.MultiValued {
			for _, extra := range raw[1:] {
				report(RenderProblem{Attr: a.Key, LDAP: a.LDAP, Value: string(extra), Reason: fmt.Sprintf("%s is single-valued in SCIM and the entry has %d values: only the first is shown", a.Key, len(raw))})
			}
		}
		if len(vals) == 0 {
			continue
		}
		obj := res
		if a.SchemaURN != rt.Schema.ID {
			m, ok := res[a.SchemaURN].(map[string]any)
			if !ok {
				m = map[string]any{}
				res[a.SchemaURN] = m
				schemas = append(schemas, a.SchemaURN)
			}
			obj = m
		}
		switch {
		case a.Sub == nil && !a.Def.MultiValued:
			obj[a.Def.Name] = vals[0]
		case a.Sub == nil:
			obj[a.Def.Name] = vals
		case !a.Def.MultiValued:
			sub, _ := obj[a.Def.Name].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				obj[a.Def.Name] = sub
			}
			if a.IsReference() {
				for k, v := range vals[0].(map[string]any) {
					sub[k] = v
				}
			} else {
				sub[a.Sub.Name] = vals[0]
			}
		default:
			list, _ := obj[a.Def.Name].([]any)
			if list == nil && a.IsReference() && len(a.Fixed) == 0 {
				obj[a.Def.Name] = vals // the reference objects, whole already (a user's 300 groups: no copy)
				break
			}
			list = slices.Grow(list, len(vals))
			for _, v := range vals {
				elem, isObj := v.(map[string]any)
				if !isObj {
					elem = map[string]any{a.Sub.Name: v}
				}
				for k, fv := range a.Fixed {
					sd := a.Def.Sub(k)
					if sd != nil && sd.Type == "boolean" {
						b, _ := ParseBool(fv)
						elem[sd.Name] = b
					} else if sd != nil {
						elem[sd.Name] = fv
					}
				}
				list = append(list, elem)
			}
			obj[a.Def.Name] = list
		}
	}
	res["schemas"] = schemas
	meta := map[string]any{"resourceType": rt.Name, "location": Location(baseURL, rt.Endpoint, id)}
	if t, err := ParseGeneralizedTime(e.GetEqualFoldAttributeValue(d.Created)); err == nil {
		meta["created"] = t.Format(time.RFC3339)
	}
	if t, err := ParseGeneralizedTime(e.GetEqualFoldAttributeValue(d.Modified)); err == nil {
		meta["lastModified"] = t.Format(time.RFC3339)
	}
	if v := e.GetEqualFoldAttributeValue(d.Version); v != "" {
		meta["version"] = ETag(v)
	}
	if meta = p.projectMeta(meta); meta != nil {
		res["meta"] = meta
	}
	return res
}

// WriteValues is LDAPValues plus what a write needs before it goes to the
// directory: every required attribute (userName…) and the naming attribute have
// a value (ValueError otherwise).
func (rt *ResourceType) WriteValues(res map[string]any, lookup IDLookup) (map[string][]string, error) {
	vals, err := rt.LDAPValues(res, lookup)
	if err != nil {
		return nil, err
	}
	for _, a := range rt.Attrs {
		if a.Required() && len(vals[a.LDAP]) == 0 {
			return nil, invalid("%s is required", a.Key)
		}
	}
	if len(vals[rt.RDN]) == 0 {
		hint := "see the mapping's defaults"
		if a := rt.RDNAttr(); a != nil {
			hint = "send " + a.Key
		}
		return nil, invalid("a value for the directory's naming attribute %s is required (%s)", rt.RDN, hint)
	}
	if err := rt.checkValues(vals); err != nil { // dialect.go
		return nil, err
	}
	return vals, nil
}

// AddRequest builds the LDAP add of a new entry from WriteValues and the parent
// DN (ParentDN): the DN from the naming attribute, the object classes, and every
// non-empty attribute in name order.
func (rt *ResourceType) AddRequest(vals map[string][]string, parent string) *ldap.AddRequest {
	add := ldap.NewAddRequest(rt.DN(vals[rt.RDN][0], parent), nil)
	add.Attribute("objectClass", rt.ObjectClasses)
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if len(vals[k]) > 0 {
			add.Attribute(k, vals[k])
		}
	}
	return add
}

// Password returns the password a resource carries for the mapped password
// attribute; ok is false when the mapping maps none or the resource has none.
// Passwords are never part of LDAPValues: the gateway sets them with the
// Password Modify extended operation (RFC 3062), so the directory hashes them.
// A password that is not a non-empty string, or holds U+0000 (CheckText), is a
// ValueError.
func (rt *ResourceType) Password(res map[string]any) (pw string, ok bool, err error) {
	for _, a := range rt.Attrs {
		if !a.Password {
			continue
		}
		v, present := Lookup(res, a.Def.Name)
		if !present || v == nil {
			return "", false, nil
		}
		s, isStr := v.(string)
		if !isStr || s == "" {
			return "", false, invalid("password must be a non-empty string")
		}
		if err := CheckText("password", s); err != nil {
			return "", false, err
		}
		return s, true, nil
	}
	return "", false, nil
}

// Location is the URI of the resource with SCIM id id at endpoint ("/Users")
// under baseURL ("https://host/scim/v2"): meta.location (RFC 7643 §3.1), the
// Location header of a create (RFC 7644 §3.3), a Bulk result's location
// (RFC 7644 §3.7.3) and a reference's $ref (RFC 7643 §2.3.7). The id is one
// path segment, percent-encoded where RFC 3986 §3.3 requires it
// (url.PathEscape: "a b/c" becomes "a%20b%2Fc"); the directory's ids
// (entryUUID, objectGUID, nsUniqueId) need no escaping and come out as they are.
func Location(baseURL, endpoint, id string) string {
	return baseURL + endpoint + "/" + url.PathEscape(id)
}

// ETag is the weak entity tag of a directory version (RFC 7232 §2.3; RFC 7644 §3.14).
func ETag(version string) string { return `W/"` + version + `"` }

// refObject is the SCIM form of a reference: {value, $ref, type} (members also get
// type; manager gets value and $ref).
func refObject(ref Ref, baseURL string, a *AttrMap) map[string]any {
	o := map[string]any{"value": ref.ID}
	o["$ref"] = Location(baseURL, ref.Endpoint, ref.ID)
	if a.Def.Sub("type") != nil && len(a.RefTypes) > 1 {
		o["type"] = ref.Type
	}
	return o
}

// Refs are the resources the DN values of a batch of entries name, for
// FromLDAP: by RefKey(DN), the resource (a DN absent is dangling and not
// shown). A list page of users in the same few hundred groups names each group
// DN once per user; Refs made by NewSharedRefs render each reference object
// once for the whole batch and share it between the resources rendered:
// callers must not modify such objects.
type Refs struct {
	resolved map[string]Ref
	// With NewSharedRefs: the slot of each DN noted, as the entries spell it;
	// the slots; and each noted entry's slots, in the order FromLDAP renders
	// its reference values, so that rendering them takes no lookup.
	shared  map[string]int32
	slots   []refSlot
	order   []int32                  // the noted entries' slots, entry after entry
	byEntry map[*ldap.Entry][2]int32 // each noted entry's part of order
}

// refSlot is one DN of a shared render: its reference objects, built on first
// use, one per attribute (the same DN renders differently in attributes that
// show type and in those that don't; nearly always there is one).
type refSlot struct {
	dn    string
	first attrObject
	more  []attrObject
}

type attrObject struct {
	a *AttrMap       // nil: not built yet
	o map[string]any // nil: the DN names no resolved resource
}

// NewRefs returns Refs over resolved (RefKey → resource) whose objects belong
// to the resource rendered (a PATCH may change them).
func NewRefs(resolved map[string]Ref) *Refs { return &Refs{resolved: resolved} }

// NewSharedRefs returns Refs for a read-only render of a batch of entries,
// empty: the caller notes the entries (NoteEntry) to learn their distinct
// reference DNs, resolves those, and gives the result to Resolve before
// FromLDAP. Each reference object of a noted entry is then built once per DN
// and shared, and found without a lookup.
func NewSharedRefs() *Refs {
	return &Refs{shared: map[string]int32{}, byEntry: map[*ldap.Entry][2]int32{}}
}

// NoteEntry records the reference values of e that FromLDAP with p renders,
// and appends to dns those of a spelling not noted before (the caller
// resolves each once).
func (r *Refs) NoteEntry(rt *ResourceType, e *ldap.Entry, p *Projection, dns []string) []string {
	start := int32(len(r.order))
	rt.eachReference(e, p, func(dn string) {
		i, ok := r.shared[dn]
		if !ok {
			i = int32(len(r.slots))
			r.shared[dn] = i
			r.slots = append(r.slots, refSlot{dn: dn})
			dns = append(dns, dn)
		}
		r.order = append(r.order, i)
	})
	r.byEntry[e] = [2]int32{start, int32(len(r.order))}
	return dns
}

// Noted reports whether NoteEntry recorded e.
func (r *Refs) Noted(e *ldap.Entry) bool {
	_, ok := r.byEntry[e]
	return ok
}

// Within reports whether every reference value NoteEntry recorded for e is
// among the first n distinct DNs noted (the DNs of a resolution made after
// the n-th was noted), so that e can be rendered already; false for an entry
// not noted.
func (r *Refs) Within(e *ldap.Entry, n int) bool {
	part, ok := r.byEntry[e]
	if !ok {
		return false
	}
	for _, i := range r.order[part[0]:part[1]] {
		if int(i) >= n {
			return false
		}
	}
	return true
}

// Resolve sets the resources the DNs name (RefKey → resource), for the
// renders that follow.
func (r *Refs) Resolve(resolved map[string]Ref) { r.resolved = resolved }

// entrySlots returns the slots NoteEntry recorded for e (nil: not noted).
func (r *Refs) entrySlots(e *ldap.Entry) []int32 {
	if r == nil || r.byEntry == nil {
		return nil
	}
	if part, ok := r.byEntry[e]; ok {
		return r.order[part[0]:part[1]]
	}
	return nil
}

// object is the SCIM object of the reference dn in attribute a, nil when dn
// names no resolved resource (a DN not noted: built for this value alone).
func (r *Refs) object(dn, baseURL string, a *AttrMap) map[string]any {
	if r == nil {
		return nil
	}
	ref, ok := r.resolved[RefKey(dn)]
	if !ok {
		return nil
	}
	return refObject(ref, baseURL, a)
}

// slotObject is object for the DN of slot i, built once per attribute and
// shared, unless a fixes sub-attributes (FromLDAP adds them to the object).
func (r *Refs) slotObject(i int32, baseURL string, a *AttrMap) map[string]any {
	slot := &r.slots[i]
	if len(a.Fixed) > 0 {
		return r.object(slot.dn, baseURL, a)
	}
	if slot.first.a == a {
		return slot.first.o
	}
	for _, ao := range slot.more {
		if ao.a == a {
			return ao.o
		}
	}
	ao := attrObject{a: a, o: r.object(slot.dn, baseURL, a)} // o nil too: a dangling DN is looked up once
	if slot.first.a == nil {
		slot.first = ao
	} else {
		slot.more = append(slot.more, ao)
	}
	return ao.o
}
