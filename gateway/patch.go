package gateway

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

const patchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// patchOp is one PATCH operation (RFC 7644 §3.5.2). Op is lower-cased (Entra
// sends "Replace"); Path is nil when the request has none.
type patchOp struct {
	Op    string
	Path  *filterxlate.Path
	Value any
	hasV  bool
}

// parsePatch validates a PatchOp body: schemas, Operations, op names, paths.
func parsePatch(body map[string]any) ([]patchOp, error) {
	if v, ok := mapping.Lookup(body, "schemas"); ok {
		list, _ := v.([]any)
		found := false
		for _, s := range list {
			str, _ := s.(string)
			found = found || strings.EqualFold(str, patchOpSchema)
		}
		if !found {
			return nil, errorf(400, scimerr.InvalidValue, "schemas must be [%q]", patchOpSchema)
		}
	}
	raw, _ := mapping.Lookup(body, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, errorf(400, scimerr.InvalidValue, "Operations must be a non-empty array of operations")
	}
	ops := make([]patchOp, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errorf(400, scimerr.InvalidValue, "Operations[%d] must be an object", i)
		}
		var op patchOp
		name, _ := mapping.Lookup(m, "op")
		s, _ := name.(string)
		op.Op = strings.ToLower(s)
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return nil, errorf(400, scimerr.InvalidValue, "Operations[%d].op is %q; want add, replace or remove", i, s)
		}
		if p, ok := mapping.Lookup(m, "path"); ok && p != nil {
			ps, ok := p.(string)
			if !ok {
				return nil, errorf(400, scimerr.InvalidPath, "Operations[%d].path must be a string", i)
			}
			if strings.TrimSpace(ps) != "" {
				path, err := filterxlate.ParsePath(ps)
				if err != nil {
					return nil, errorf(400, scimerr.InvalidPath, "Operations[%d].path: %v", i, err)
				}
				op.Path = &path
			}
		}
		op.Value, op.hasV = mapping.Lookup(m, "value")
		switch {
		case op.Op == "remove" && op.Path == nil:
			return nil, errorf(400, scimerr.NoTarget, "Operations[%d]: remove needs a path", i)
		case op.Op != "remove" && !op.hasV:
			return nil, errorf(400, scimerr.InvalidValue, "Operations[%d]: %s needs a value", i, op.Op)
		case op.Op != "remove" && op.Path == nil:
			if _, isObj := op.Value.(map[string]any); !isObj {
				return nil, errorf(400, scimerr.InvalidValue, "Operations[%d]: %s without a path needs an object value", i, op.Op)
			}
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// patch serves PATCH /{endpoint}/{id} (RFC 7644 §3.5.2). The operations are
// applied in order to the resource as read, and the result is written as one
// change (directory.Resources.Update); membership operations become value adds
// and deletes. 200 with the resource (honouring attributes), or 204 with
// "Prefer: return=minimal".
func (h *resourceHandler) patch(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	ops, err := parsePatch(body)
	if err != nil {
		return err
	}
	written, err := h.resources(r).Update(r.Context(), mux.Vars(r)["id"], ifMatch(r), h.patcher(r, ops))
	if err != nil {
		return err
	}
	h.s.auditUpdate(r.Context(), h.rt, written)
	if h.onlyMembership(ops) && !r.URL.Query().Has("attributes") {
		// Membership changes answer 204 (RFC 7644 §3.5.2 allows it; Entra and
		// Okta expect either): reading back a 50,000-member group to answer one
		// added member would cost as much as the group is large.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.respondAfterWrite(w, r, written, 200)
}

// onlyMembership reports whether every operation has a path naming a
// membership attribute (a group's members).
func (h *resourceHandler) onlyMembership(ops []patchOp) bool {
	for _, op := range ops {
		if op.Path == nil {
			return false
		}
		t, err := h.rt.ResolvePath(op.Path.Attr.URN, op.Path.Attr.Name, op.Path.Attr.Sub)
		if err != nil || h.rt.Membership(t.Def) == nil {
			return false
		}
	}
	return true
}

// patcher is the mutator that applies ops to the resource as read: the
// resource's new JSON form and its membership changes. What the operations set
// that the mapping doesn't store is noted for the audit event.
func (h *resourceHandler) patcher(r *http.Request, ops []patchOp) directory.Mutator {
	return func(cur *directory.Resource) (*directory.Change, error) {
		pd := &patchDoc{rt: h.rt, doc: cur.Attributes, id: cur.ID, members: map[*mapping.AttrMap]*directory.MemberChange{}}
		for _, op := range ops {
			if err := pd.apply(op); err != nil {
				return nil, err
			}
		}
		noteIgnored(r.Context(), pd.ignored)
		return &directory.Change{Resource: pd.doc, Members: pd.members}, nil
	}
}

// patchDoc applies PATCH operations to a resource's JSON form. Every
// operation is checked against the resource type's schemas before it changes
// doc (RFC 7644 §3.5.2: an operation incompatible with the attribute's schema or
// mutability fails); as nothing is written before all operations applied, a
// failing one leaves the entry as it was (§3.5.2: a PATCH is atomic).
type patchDoc struct {
	rt      *mapping.ResourceType
	doc     map[string]any
	id      string // the resource's id
	members map[*mapping.AttrMap]*directory.MemberChange
	ignored []string // attribute paths not stored because the mapping doesn't map them
}

// apply applies one operation. With a path, see applyPath; without, the value
// is an object of attributes (RFC 7644 §3.5.2.1, §3.5.2.3) whose keys may be
// dotted ("name.givenName"), URN-qualified, or an extension URN holding an
// object of that extension's attributes. Of the keys, schemas and meta are
// skipped, since clients echo a resource they read, and so is id when it is the
// resource's own; another id is a 400 mutability (id is readOnly, RFC 7643 §3.1).
func (pd *patchDoc) apply(op patchOp) error {
	if op.Path != nil {
		return pd.applyPath(op.Op, *op.Path, op.Value)
	}
	value := op.Value.(map[string]any)
	// One order, hence one answer, for a request with several bad keys.
	for _, k := range slices.Sorted(maps.Keys(value)) {
		v := value[k]
		switch {
		case isOneOf(k, "schemas", "meta"):
			continue
		case isOneOf(k, "id"):
			// Compared ignoring case: entryUUID and objectGUID name the same
			// entry in either case, and a client echoing one means no change.
			if s, ok := v.(string); !ok || !strings.EqualFold(s, pd.id) {
				return errorf(400, scimerr.Mutability, "id is read-only (RFC 7643 §3.1): the value %v is not this resource's id", v)
			}
			continue
		}
		if urn := pd.rt.ExtensionURN(k); urn != "" {
			if v == nil {
				continue // Entra sends null for an extension it has nothing for
			}
			if err := pd.applyExtension(op.Op, urn, v); err != nil {
				return err
			}
			continue
		}
		if err := pd.applyKey(op.Op, k, v); err != nil {
			return err
		}
	}
	return nil
}

// applyExtension applies an operation whose path is an extension schema URN.
func (pd *patchDoc) applyExtension(op, urn string, v any) error {
	if op == "remove" {
		delete(pd.doc, urn)
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errorf(400, scimerr.InvalidValue, "the value for %s must be an object of its attributes", urn)
	}
	// add and replace set the attributes named in the value; others stay
	// (RFC 7644 §3.5.2.3, as for a complex attribute).
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := pd.applyKey(op, urn+":"+k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// applyKey applies a key of a no-path value as the path it spells.
func (pd *patchDoc) applyKey(op, key string, v any) error {
	path, err := filterxlate.ParsePath(key)
	if err != nil {
		return errorf(400, scimerr.InvalidPath, "%q does not name an attribute: %v", key, err)
	}
	return pd.applyPath(op, path, v)
}

func isOneOf(s string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}

// target resolves a path to the attribute or sub-attribute it names in the
// resource type's schemas, by the rule filters, sortBy and attributes follow
// too (mapping.ResourceType.ResolvePath: invalidPath when no schema defines
// it; Entra's legacy "urn:…:2.0:User.manager" means the extension's manager).
// After a value filter, the sub-attribute is the one that follows it
// (emails[type eq "work"].value); ParsePath allows no filter after a
// sub-attribute, so the path has at most one of the two.
func (pd *patchDoc) target(p filterxlate.Path) (mapping.Target, error) {
	a := p.Attr
	sub := a.Sub
	if p.Sub != "" {
		sub = p.Sub
	}
	return pd.rt.ResolvePath(a.URN, a.Name, sub)
}

// unstored handles a part of an operation that the mapping doesn't store. What
// no schema of the resource type defines is a 400 invalidPath (RFC 7644
// §3.5.2: the operation is incompatible with the schema). What a schema defines
// but nothing maps (Microsoft Entra ID's default attribute mapping sends
// addresses, a fax number, roles…) is ignored and named in the audit event, or
// with `unmappedAttributes: refuse` a 400 invalidPath too.
func (pd *patchDoc) unstored(f mapping.Finding) error {
	if f.Unknown {
		return errorf(400, scimerr.InvalidPath, "%s", f.Detail)
	}
	if pd.rt.RefuseUnmapped {
		return errorf(400, scimerr.InvalidPath, "%s (the mapping has unmappedAttributes: refuse)", f.Detail)
	}
	pd.ignored = append(pd.ignored, f.Path)
	return nil
}

func (pd *patchDoc) unstoredAll(fs []mapping.Finding) error {
	for _, f := range fs {
		if err := pd.unstored(f); err != nil {
			return err
		}
	}
	return nil
}

// isPassword reports whether def is the attribute the mapping stores as the
// password (mapping.AttrMap.Password).
func (pd *patchDoc) isPassword(def *mapping.AttrDef) bool {
	for _, a := range pd.rt.Attrs {
		if a.Password && a.Def == def {
			return true
		}
	}
	return false
}

// container returns the object that holds urn's attributes, creating an
// extension object on demand.
func (pd *patchDoc) container(urn string) map[string]any {
	if urn == pd.rt.Schema.ID {
		return pd.doc
	}
	m, ok := pd.doc[urn].(map[string]any)
	if !ok {
		m = map[string]any{}
		pd.doc[urn] = m
	}
	return m
}

// applyPath applies an operation with a path. The path must name an attribute
// or sub-attribute of the resource type's schemas (else 400 invalidPath) that
// clients may change (else 400 mutability); what the mapping doesn't store is
// handled by unstored, except removing or clearing it: it holds nothing
// already. Values are checked the same way, down to sub-attributes.
func (pd *patchDoc) applyPath(op string, p filterxlate.Path, v any) error {
	// A whole extension as the path: its value is an object of that extension's
	// attributes; remove clears them all.
	if urn := pd.rt.ExtensionURN(p.Attr.URN + ":" + p.Attr.Name); urn != "" && p.Attr.Sub == "" && p.Filter == nil && p.Sub == "" {
		return pd.applyExtension(op, urn, v)
	}
	if p.Attr.URN == "" && strings.EqualFold(p.Attr.Name, "schemas") {
		// Every resource has schemas (RFC 7643 §3), but they follow from the
		// attributes it holds: the server sets them, as it does meta.
		return errorf(400, scimerr.Mutability, "%s: schemas is set by the server from the attributes the resource holds; change those instead", p)
	}
	t, err := pd.target(p)
	if err != nil {
		return err
	}
	if err := pd.rt.CheckWritable(t); err != nil {
		return err
	}
	def := t.Def
	if p.Filter != nil {
		if err := checkFilterNames(def, p.Filter); err != nil {
			return err
		}
	}
	clears := op == "remove" || mapping.IsEmpty(v)
	if clears && pd.isPassword(def) {
		// Removing the attribute would end every password login through the
		// back door, and answering 200 while keeping it would tell the client
		// it is gone: neither, a precise refusal.
		return errorf(400, scimerr.InvalidValue, "%s: a password cannot be removed or set to empty; set a new one (to stop the account from signing in, set active to false)", p)
	}
	if a := pd.rt.Membership(def); a != nil {
		if t.Sub != nil {
			// A member's value, $ref and type are immutable (RFC 7643 §8.7.1;
			// display, read-only, was refused above): a member is added or
			// removed, never edited.
			return errorf(400, scimerr.Mutability, "%s: a member's %s cannot be changed; add or remove the member", p, t.Sub.Name)
		}
		if !clears {
			if err := pd.unstoredAll(pd.rt.UnstoredValue(t, v)); err != nil {
				return err
			}
		}
		return pd.memberOp(op, a, p, v)
	}
	var slot map[string]any
	if p.Filter != nil && typeSlotFilter(p.Filter) {
		slot = filterConstants(p.Filter) // the element an add or replace may create
	}
	if !pd.rt.Stores(t, slot) {
		if clears {
			return nil
		}
		return pd.unstored(pd.rt.Unmapped(p.String(), t))
	}
	sub := ""
	if t.Sub != nil {
		sub = t.Sub.Name
	}
	if !clears && t.Sub == nil {
		var fs []mapping.Finding
		if obj, isObj := v.(map[string]any); p.Filter != nil && isObj {
			fs = pd.rt.UnstoredSubs(t, slot, obj, p.String())
		} else if p.Filter == nil {
			fs = pd.rt.UnstoredValue(t, v)
		}
		if err := pd.unstoredAll(fs); err != nil {
			return err
		}
	}
	obj := pd.container(t.SchemaURN)
	switch {
	case def.Type != "complex":
		if clears {
			delete(obj, def.Name)
		} else {
			obj[def.Name] = v
		}
	case !def.MultiValued:
		pd.applySingleComplex(op, obj, def, sub, v)
	default:
		return pd.applyMulti(op, obj, def, p.Filter, sub, v)
	}
	return nil
}

// canonical rewrites an object's keys to the sub-attribute names of def, since
// clients may spell them in any case (RFC 7643 §2.1).
func canonical(def *mapping.AttrDef, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if sd := def.Sub(k); sd != nil {
			k = sd.Name
		}
		out[k] = x
	}
	return out
}

// applySingleComplex handles name, manager…: a sub-attribute path sets or clears
// that sub-attribute; an object value merges (RFC 7644 §3.5.2.1, §3.5.2.3:
// sub-attributes not given are left unchanged).
func (pd *patchDoc) applySingleComplex(op string, obj map[string]any, def *mapping.AttrDef, sub string, v any) {
	cur, _ := obj[def.Name].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	if sub != "" {
		if sd := def.Sub(sub); sd != nil {
			sub = sd.Name
		}
		if op == "remove" || mapping.IsEmpty(v) {
			delete(cur, sub)
		} else {
			cur[sub] = v
		}
	} else {
		if op == "remove" || mapping.IsEmpty(v) {
			delete(obj, def.Name)
			return
		}
		// Entra sends the manager as a bare id, or as a one-element array.
		if list, ok := v.([]any); ok && len(list) == 1 {
			v = list[0]
		}
		if s, ok := v.(string); ok && def.Sub("value") != nil {
			v = map[string]any{"value": s}
		}
		m, ok := canonical(def, v).(map[string]any)
		if !ok {
			obj[def.Name] = v // a wrong shape is reported by the mapping's type check
			return
		}
		if def.Sub("value") != nil { // a reference: the new value replaces the old one
			cur = map[string]any{}
		}
		for k, x := range m {
			if mapping.IsEmpty(x) {
				delete(cur, k)
			} else {
				cur[k] = x
			}
		}
	}
	if len(cur) == 0 {
		delete(obj, def.Name)
	} else {
		obj[def.Name] = cur
	}
}

// applyMulti handles emails, phoneNumbers…, with or without a value filter.
// When a filtered add or replace matches no element, one is created from the
// filter's eq constants (what Entra expects for emails[type eq "work"].value).
func (pd *patchDoc) applyMulti(op string, obj map[string]any, def *mapping.AttrDef, filter filterxlate.Expr, sub string, v any) error {
	if sd := def.Sub(sub); sd != nil {
		sub = sd.Name
	}
	elems, _ := obj[def.Name].([]any)
	values := asElements(def, v)
	switch {
	case filter == nil && sub == "":
		switch op {
		case "add":
			for _, nv := range values {
				if !containsElement(elems, nv) {
					elems = append(elems, nv)
				}
			}
		case "replace":
			elems = values
		case "remove":
			if mapping.IsEmpty(v) {
				elems = nil
			} else { // remove the listed values
				var keep []any
				for _, el := range elems {
					if !containsElement(values, el) {
						keep = append(keep, el)
					}
				}
				elems = keep
			}
		}
	default:
		matched := false
		var keep []any
		for _, el := range elems {
			m, ok := el.(map[string]any)
			if !ok || (filter != nil && !matchElement(filter, m)) {
				keep = append(keep, el)
				continue
			}
			matched = true
			switch {
			case op == "remove" && sub == "":
				continue // drop the element
			case op == "remove" || (sub != "" && mapping.IsEmpty(v)):
				m = cloneMap(m)
				delete(m, sub)
			case sub != "":
				m = cloneMap(m)
				m[sub] = v
			default:
				nv, ok := canonical(def, v).(map[string]any)
				if !ok {
					return errorf(400, scimerr.InvalidValue, "%s: the value must be an object", def.Name)
				}
				m = cloneMap(m)
				for k, x := range nv {
					m[k] = x
				}
			}
			keep = append(keep, m)
		}
		elems = keep
		if !matched && op != "remove" && !mapping.IsEmpty(v) {
			// Creating the element is what Entra expects for a typed slot
			// (emails[type eq "work"].value); any other filter that matches
			// nothing is RFC 7644 §3.5.2.3's noTarget.
			if !typeSlotFilter(filter) {
				return errorf(400, scimerr.NoTarget, "%s: the value filter %s matches no value", def.Name, filter)
			}
			el := filterConstants(filter)
			if sub != "" {
				el[sub] = v
			} else if nv, ok := canonical(def, v).(map[string]any); ok {
				for k, x := range nv {
					el[k] = x
				}
			}
			elems = append(elems, el)
		}
	}
	if len(elems) == 0 {
		delete(obj, def.Name)
	} else {
		obj[def.Name] = elems
	}
	return nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// asElements turns a PATCH value into multi-valued elements: an array, a single
// object, or a bare value (taken as {"value": v}).
func asElements(def *mapping.AttrDef, v any) []any {
	var list []any
	switch x := v.(type) {
	case nil:
	case []any:
		list = x
	default:
		list = []any{x}
	}
	out := make([]any, 0, len(list))
	for _, el := range list {
		if _, ok := el.(map[string]any); !ok && el != nil {
			el = map[string]any{"value": el}
		}
		if el != nil {
			out = append(out, canonical(def, el))
		}
	}
	return out
}

// containsElement compares elements by value and type (case-insensitively).
func containsElement(list []any, el any) bool {
	m, _ := el.(map[string]any)
	for _, x := range list {
		xm, _ := x.(map[string]any)
		if m == nil || xm == nil {
			if reflect.DeepEqual(x, el) {
				return true
			}
			continue
		}
		if strings.EqualFold(fmt.Sprint(xm["value"]), fmt.Sprint(m["value"])) &&
			(m["type"] == nil || strings.EqualFold(fmt.Sprint(xm["type"]), fmt.Sprint(m["type"]))) {
			return true
		}
	}
	return false
}

// typeSlotFilter reports whether a value filter only names a type, as in
// emails[type eq "work"]: a slot that an add or replace may create.
func typeSlotFilter(e filterxlate.Expr) bool {
	c, ok := e.(*filterxlate.Compare)
	return ok && c.Op == filterxlate.Eq && strings.EqualFold(c.Path.Name, "type") && c.Path.Sub == "" && c.Value != nil
}

// checkFilterNames refuses a value filter naming a sub-attribute def lacks.
func checkFilterNames(def *mapping.AttrDef, e filterxlate.Expr) error {
	switch x := e.(type) {
	case *filterxlate.Logical:
		if err := checkFilterNames(def, x.Left); err != nil {
			return err
		}
		return checkFilterNames(def, x.Right)
	case *filterxlate.Not:
		return checkFilterNames(def, x.X)
	case *filterxlate.Compare:
		if def.Sub(x.Path.Name) == nil {
			return errorf(400, scimerr.InvalidPath, "%s has no sub-attribute %q to filter on", def.Name, x.Path.Name)
		}
	}
	return nil
}

// filterConstants returns the sub-attribute values a filter's eq comparisons
// joined by and fix, e.g. {"type": "work"} for type eq "work".
func filterConstants(e filterxlate.Expr) map[string]any {
	out := map[string]any{}
	var walk func(filterxlate.Expr)
	walk = func(e filterxlate.Expr) {
		switch x := e.(type) {
		case *filterxlate.Logical:
			if x.Op == filterxlate.And {
				walk(x.Left)
				walk(x.Right)
			}
		case *filterxlate.Compare:
			if x.Op == filterxlate.Eq && x.Value != nil {
				out[x.Path.Name] = x.Value
			}
		}
	}
	if e != nil {
		walk(e)
	}
	return out
}

// matchElement evaluates a value filter on one element of a multi-valued
// attribute; strings compare case-insensitively (caseExact false, RFC 7643 §2.4).
func matchElement(e filterxlate.Expr, el map[string]any) bool {
	switch x := e.(type) {
	case *filterxlate.Logical:
		if x.Op == filterxlate.And {
			return matchElement(x.Left, el) && matchElement(x.Right, el)
		}
		return matchElement(x.Left, el) || matchElement(x.Right, el)
	case *filterxlate.Not:
		return !matchElement(x.X, el)
	case *filterxlate.Compare:
		got, present := mapping.Lookup(el, x.Path.Name)
		if x.Op == filterxlate.Pr {
			return present && !mapping.IsEmpty(got)
		}
		if x.Value == nil {
			return (x.Op == filterxlate.Eq) == (!present || got == nil)
		}
		a, b := strings.ToLower(scalar(got)), strings.ToLower(scalar(x.Value))
		if !present {
			return x.Op == filterxlate.Ne
		}
		switch x.Op {
		case filterxlate.Eq:
			return a == b
		case filterxlate.Ne:
			return a != b
		case filterxlate.Co:
			return strings.Contains(a, b)
		case filterxlate.Sw:
			return strings.HasPrefix(a, b)
		case filterxlate.Ew:
			return strings.HasSuffix(a, b)
		case filterxlate.Gt:
			return a > b
		case filterxlate.Ge:
			return a >= b
		case filterxlate.Lt:
			return a < b
		case filterxlate.Le:
			return a <= b
		}
	}
	return false
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// memberOp records a membership operation in the change (directory.MemberChange): add and remove by value list,
// remove by a value filter (members[value eq "…"]), remove of the whole
// attribute, and replace with exactly the list given ([] empties the group).
func (pd *patchDoc) memberOp(op string, a *mapping.AttrMap, p filterxlate.Path, v any) error {
	mc := pd.members[a]
	if mc == nil {
		mc = &directory.MemberChange{}
		pd.members[a] = mc
	}
	if p.Filter != nil {
		if op != "remove" {
			return errorf(400, scimerr.InvalidPath, "%s with a value filter supports remove only; use %s %s with a value list", a.Def.Name, op, a.Def.Name)
		}
		ids, ok := filterIDs(p.Filter)
		if !ok {
			return errorf(400, scimerr.InvalidFilter, "a %s filter may only select by value, e.g. %s[value eq \"<id>\"]", a.Def.Name, a.Def.Name)
		}
		mc.Remove(ids...)
		return nil
	}
	ids, err := refIDs(a, v)
	if err != nil {
		return err
	}
	switch {
	case op == "remove" && mapping.IsEmpty(v):
		mc.Replace()
	case op == "remove":
		mc.Remove(ids...)
	case op == "add":
		mc.Add(ids...)
	default:
		mc.Replace(ids...)
	}
	return nil
}

// refIDs extracts member ids from [{"value": id, "$ref": …}], {"value": id} or
// bare id strings; an id holding U+0000 is a *mapping.ValueError (400
// invalidValue, see mapping.CheckText).
func refIDs(a *mapping.AttrMap, v any) ([]string, error) {
	var ids []string
	for _, el := range asElements(a.Def, v) {
		m := el.(map[string]any)
		id, ok := m["value"].(string)
		if !ok || id == "" {
			return nil, errorf(400, scimerr.InvalidValue, "each %s value needs \"value\": the member's id", a.Def.Name)
		}
		// These ids bypass mapping.LDAPValues, which checks every other value.
		if err := mapping.CheckText(a.Key, id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// filterIDs returns the ids of a filter made of value eq "…" joined by or.
func filterIDs(e filterxlate.Expr) ([]string, bool) {
	switch x := e.(type) {
	case *filterxlate.Logical:
		if x.Op != filterxlate.Or {
			return nil, false
		}
		l, ok1 := filterIDs(x.Left)
		r, ok2 := filterIDs(x.Right)
		return append(l, r...), ok1 && ok2
	case *filterxlate.Compare:
		s, ok := x.Value.(string)
		return []string{s}, ok && x.Op == filterxlate.Eq && strings.EqualFold(x.Path.Name, "value")
	}
	return nil, false
}
