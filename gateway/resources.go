package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
	"github.com/gorilla/mux"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// resourceHandler serves one resource type's endpoint (RFC 7644 §3.3–§3.6).
type resourceHandler struct {
	s  *Server
	rt *mapping.ResourceType
}

func (h *resourceHandler) store() *ldapstore.Store { return h.s.cfg.Store }

// readBody decodes a JSON object body. Content-Type must be application/scim+json
// or application/json (RFC 7644 §3.1); numbers stay json.Number.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/scim+json" && mt != "application/json") {
			return nil, errorf(415, "invalidSyntax", "Content-Type must be application/scim+json or application/json, not %q", ct)
		}
	}
	data, err := io.ReadAll(r.Body) // bounded by Config.MaxBodyBytes (ServeHTTP)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf(413, "", "request body exceeds %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, errorf(400, "invalidSyntax", "reading the request body: %v", err)
	}
	// JSON is UTF-8 (RFC 8259 §8.1); Go's decoder would silently turn bad bytes
	// into U+FFFD and store them.
	if !utf8.Valid(data) {
		return nil, errorf(400, "invalidSyntax", "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		if err == io.EOF {
			return nil, errorf(400, "invalidSyntax", "request body is empty; send a JSON object")
		}
		return nil, errorf(400, "invalidSyntax", "request body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return nil, errorf(400, "invalidSyntax", "request body has data after the JSON object")
	}
	if body == nil {
		return nil, errorf(400, "invalidSyntax", "request body must be a JSON object, not null")
	}
	return body, nil
}

// checkSchemas requires the resource type's core schema in "schemas" when the
// client sends the attribute (RFC 7643 §3); a body without it is accepted.
func (h *resourceHandler) checkSchemas(body map[string]any) *Error {
	v, ok := mapping.Lookup(body, "schemas")
	if !ok {
		return nil
	}
	list, _ := v.([]any)
	for _, s := range list {
		if str, _ := s.(string); strings.EqualFold(str, h.rt.Schema.ID) {
			return nil
		}
	}
	return errorf(400, "invalidValue", "schemas must include %s", h.rt.Schema.ID)
}

func (h *resourceHandler) what(id string) string {
	if id == "" {
		return h.rt.Name
	}
	return h.rt.Name + " " + id
}

// findByID reads the entry whose directory id is id, or returns a 404 Error.
// The id is searched for with the dialect's equality filter (on AD the GUID's
// escaped bytes); ranged attribute values are read completely.
func (h *resourceHandler) findByID(ctx context.Context, id string, attrs []string, controls []ldap.Control) (*ldap.Entry, error) {
	idFilter, ok := h.rt.Dialect().IDFilter(id)
	if !ok {
		return nil, errorf(404, "", "%s not found", h.what(id))
	}
	filter := "(&" + h.rt.Filter + idFilter + ")"
	res, err := h.store().Search(ctx, ldap.NewSearchRequest(h.rt.Base, h.rt.Scope, ldap.NeverDerefAliases, 2, 0, false, filter, attrs, controls))
	if err != nil {
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidAttributeSyntax, ldap.LDAPResultNoSuchObject) {
			return nil, errorf(404, "", "%s not found", h.what(id))
		}
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, errorf(404, "", "%s not found", h.what(id))
	}
	if err := h.store().CompleteRanges(ctx, res.Entries[:1]); err != nil {
		return nil, err
	}
	return res.Entries[0], nil
}

// readDN reads an entry by DN with a base-scope search.
func (h *resourceHandler) readDN(ctx context.Context, dn string, attrs []string) (*ldap.Entry, error) {
	res, err := h.store().Search(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, errorf(404, "", "%s not found", h.rt.Name)
	}
	if err := h.store().CompleteRanges(ctx, res.Entries[:1]); err != nil {
		return nil, err
	}
	return res.Entries[0], nil
}

// render turns entries into SCIM resources, resolving every DN reference of the
// whole batch with one search per referenced resource type and batch of DNs; a
// long member list is resolved through its back-link instead (see refsByBacklink).
func (h *resourceHandler) render(ctx context.Context, r *http.Request, entries []*ldap.Entry, p *mapping.Projection) ([]any, error) {
	if err := h.store().CompleteRanges(ctx, entries); err != nil { // AD: member;range=… (no-op when read already)
		return nil, err
	}
	var dns []string
	refs := map[string]mapping.Ref{}
	for _, e := range entries {
		own := h.rt.ReferenceDNs(e, p)
		if len(own) > refBatch {
			if done, err := h.s.refsByBacklink(ctx, h.rt, e.DN, own, refs); err != nil {
				return nil, err
			} else if done {
				continue
			}
		}
		dns = append(dns, own...)
	}
	more, err := h.s.refsOf(ctx, dns)
	if err != nil {
		return nil, err
	}
	for k, v := range more {
		refs[k] = v
	}
	base := h.s.baseURL(r)
	out := make([]any, len(entries))
	for i, e := range entries {
		res := h.rt.FromLDAP(e, refs, base, p)
		if !p.IncludesMeta(h.rt) {
			delete(res, "meta")
		}
		out[i] = res
	}
	return out, nil
}

func (h *resourceHandler) writeResource(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, e *ldap.Entry, p *mapping.Projection) {
	list, err := h.render(ctx, r, []*ldap.Entry{e}, p)
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	res := list[0].(map[string]any)
	if v := e.GetEqualFoldAttributeValue(h.rt.Dialect().Version); v != "" {
		w.Header().Set("ETag", mapping.ETag(v))
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", h.s.baseURL(r)+h.rt.Endpoint+"/"+h.rt.Dialect().EntryID(e))
	}
	writeJSON(w, status, res)
}

func projection(rt *mapping.ResourceType, r *http.Request) *mapping.Projection {
	q := r.URL.Query()
	return rt.Project(splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes")))
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// get serves GET /{endpoint}/{id} (RFC 7644 §3.4.1).
func (h *resourceHandler) get(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	p := projection(h.rt, r)
	e, err := h.findByID(ctx, id, h.rt.LDAPAttributes(p), nil)
	if err != nil {
		writeError(w, asSCIMError(err, h.what(id)))
		return
	}
	// If-None-Match with the current version: 304, no body (RFC 7644 §3.14, RFC 7232 §3.2).
	if v := e.GetEqualFoldAttributeValue(h.rt.Dialect().Version); v != "" {
		// A malformed value matches no version: the resource is sent.
		tags, star, ok := parseETags(r.Header.Get("If-None-Match"))
		if ok && (star || slices.Contains(tags, v)) {
			w.Header().Set("ETag", mapping.ETag(v))
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.writeResource(ctx, w, r, 200, e, p)
}

// values converts a request body (POST, PUT) into LDAP values and checks what
// the schema requires before anything is written. What the body holds that the
// mapping doesn't store (mapping.ResourceType.Unstored: unknown attributes, and
// attributes the schemas define but nothing maps) is ignored, as RFC 7644 §3.3
// lets a server ignore POSTed content, and named in the write's audit event;
// with `unmappedAttributes: refuse` it is a 400 invalidSyntax, the scimType of
// a body that doesn't conform to the request schema (§3.12), which /Schemas
// gives as the mapped attributes.
func (h *resourceHandler) values(ctx context.Context, body map[string]any) (map[string][]string, error) {
	if err := h.checkSchemas(body); err != nil {
		return nil, err
	}
	var ignored, details []string
	for _, f := range h.rt.Unstored(body) {
		ignored, details = append(ignored, f.Path), append(details, f.Detail)
	}
	if h.rt.RefuseUnmapped && len(details) > 0 {
		return nil, errorf(400, "invalidSyntax", "%s (the mapping has unmappedAttributes: refuse)", strings.Join(details, "; "))
	}
	noteIgnored(ctx, ignored)
	return h.validValues(ctx, body)
}

// validValues converts a resource into LDAP values and checks what the schema
// and the directory's naming require.
func (h *resourceHandler) validValues(ctx context.Context, res map[string]any) (map[string][]string, error) {
	return h.rt.WriteValues(res, h.s.idLookup(ctx))
}

// checkUnique enforces uniqueness: server attributes (RFC 7643 §2.2) with one
// search; matching follows the LDAP attribute's equality rule, so userName
// (uid, caseIgnoreMatch) is unique case-insensitively. On updates, cur is the
// entry as read: its own values are skipped, and selfID never conflicts.
func (h *resourceHandler) checkUnique(ctx context.Context, vals map[string][]string, selfID string, cur *ldap.Entry) error {
	var clauses []string
	var names []string
	for _, a := range h.rt.Attrs {
		if a.Uniqueness != "server" || !a.Writable() {
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
	filter := "(&" + h.rt.Filter + "(|" + strings.Join(clauses, "") + "))"
	idAttr := h.rt.Dialect().ID
	res, err := h.store().Search(ctx, ldap.NewSearchRequest(h.rt.Base, h.rt.Scope, ldap.NeverDerefAliases, 2, 0, false, filter, []string{idAttr}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return err
	}
	for _, e := range res.Entries {
		if !strings.EqualFold(h.rt.Dialect().EntryID(e), selfID) {
			return errorf(409, "uniqueness", "a %s with the same %s already exists", h.rt.Name, strings.Join(slices.Compact(names), " or "))
		}
	}
	return nil
}

// create serves POST /{endpoint} (RFC 7644 §3.3): uniqueness check, one LDAP add,
// one read of the new entry for id and meta.
func (h *resourceHandler) create(w http.ResponseWriter, r *http.Request) {
	ctx, _ := withResolved(r.Context())
	body, perr := readBody(w, r)
	if perr != nil {
		writeError(w, perr)
		return
	}
	vals, err := h.values(ctx, body)
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	parent, err := h.rt.ParentDN(body)
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	password, setPassword, err := h.rt.Password(body)
	if err == nil && setPassword {
		err = h.checkPasswordTransport() // before anything is written
	}
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	add := h.rt.AddRequest(vals, parent)
	dn := add.DN
	m := h.s.mapping()
	if err := h.claimName(ctx, m, vals, dn); err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	if bits := h.rt.AccountBits(); bits != nil {
		// AD: created disabled, then the password, then enabled (accountSteps).
		dn, err := h.createAccount(ctx, vals, parent, bits, password, setPassword)
		if err != nil {
			writeError(w, asSCIMError(err, "the "+h.rt.Name))
			return
		}
		attrs := addedAttrs(h.rt.AddRequest(vals, parent))
		if setPassword {
			attrs = append(attrs, h.passwordAttr())
		}
		h.respondCreated(ctx, w, r, dn, attrs)
		return
	}
	if err := h.store().Add(ctx, add); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			// RFC 4511 §4.7: the parent of an added entry must exist.
			err = errorf(400, "invalidValue", "the new %s belongs under %s, which does not exist in the directory; create it first", h.rt.Name, parentDN(dn))
		}
		writeError(w, asSCIMError(err, "the "+h.rt.Name))
		return
	}
	if setPassword {
		// No account without its password, and no inactive account that binds:
		// the password comes after the add, which already carries the lock, and
		// the lock is written again (ppolicy lifts it on a password change).
		// Either step failing deletes the entry, so a retry starts clean.
		err := h.setPassword(ctx, dn, password)
		if lock := h.lockAfter(nil, &change{vals: vals}); err == nil && lock != nil && len(lock.values) > 0 {
			err = h.relock(ctx, dn, lock)
		}
		if err != nil {
			h.undoFailed(ctx, "delete of the entry whose password or lock failed", dn, h.store().Delete(ctx, ldap.NewDelRequest(dn, nil)))
			writeError(w, asSCIMError(err, "the password"))
			return
		}
	}
	h.s.upkeepFailed(ctx, "create", dn, h.s.verifyWritten(ctx, m, resolvedOf(ctx), dn, h.writtenRefs(vals)))
	attrs := addedAttrs(add)
	if setPassword {
		attrs = append(attrs, h.passwordAttr()) // its name, never its value
	}
	h.respondCreated(ctx, w, r, dn, attrs)
}

// claimName readies dn for a new entry: the uniqueness check (409) and the
// removal of grants left on the name by deletes the gateway didn't make, so
// they don't pass to the new holder (dropDangling). The two are independent
// reads (the removal writes only when something names dn while no entry has
// it), so they are sent together: one round trip instead of two.
func (h *resourceHandler) claimName(ctx context.Context, m *mapping.Mapping, vals map[string][]string, dn string) error {
	var wg sync.WaitGroup
	var upkeep error
	wg.Add(1)
	go func() {
		defer wg.Done()
		upkeep = h.s.dropDangling(ctx, m, dn)
	}()
	err := h.checkUnique(ctx, vals, "", nil)
	wg.Wait()
	if err != nil {
		return err
	}
	return upkeep
}

// respondCreated audits the new entry (attrs: the names written), reads it and
// sends it with 201 (RFC 7644 §3.3).
func (h *resourceHandler) respondCreated(ctx context.Context, w http.ResponseWriter, r *http.Request, dn string, attrs []string) {
	p := projection(h.rt, r)
	e, err := h.readDN(ctx, dn, h.rt.LDAPAttributes(p))
	h.s.auditChange(ctx, h.rt, entryID(h.rt, e), dn, attrs) // the add happened, even if the read fails
	if err != nil {
		writeError(w, asSCIMError(err, h.rt.Name))
		return
	}
	h.writeResource(ctx, w, r, http.StatusCreated, e, p)
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// deleteByID deletes the entry whose id is id and returns it as read (DN and
// version). With If-Match (want) the delete is guarded by the assertion
// control, or, where the directory has none (AD), by the version just read. A
// rename that moves the entry between the lookup and the delete (32
// noSuchObject on the DN read) is not the end of the entry: it is looked up
// again, with backoff, so a 404 always means the id names no entry.
func (h *resourceHandler) deleteByID(ctx context.Context, id string, want []string) (*ldap.Entry, error) {
	for attempt := 0; ; attempt++ {
		e, err := h.findByID(ctx, id, []string{h.rt.Dialect().Version}, nil)
		if err != nil {
			return nil, err
		}
		del := ldap.NewDelRequest(e.DN, nil)
		if len(want) > 0 {
			if v := e.GetEqualFoldAttributeValue(h.rt.Dialect().Version); !h.s.assertions() && !slices.Contains(want, v) {
				return nil, errorf(412, "", "%s has changed since version %s; read it again", h.what(id), mapping.ETag(want[0]))
			}
			del.Controls = h.s.guard(h.rt, want...)
		}
		err = h.store().Delete(ctx, del)
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return e, err
		}
		if attempt == maxConflictRetries || !conflictBackoff(ctx, attempt) {
			return nil, errorf(503, "", "%s kept moving while it was deleted; retry", h.what(id))
		}
	}
}

// delete serves DELETE /{endpoint}/{id} (RFC 7644 §3.6): 204, or 404 if absent.
// With If-Match the delete is guarded by the assertion control.
func (h *resourceHandler) delete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	if h.rt.OnDelete == "deactivate" {
		// The mapping keeps leavers: DELETE is PATCH replace active false.
		deactivate := []patchOp{{Op: "replace", Value: map[string]any{"active": false}, hasV: true}}
		base := h.s.baseURL(r)
		if _, err := h.update(ctx, id, ifMatch(r), func(e *ldap.Entry) (*change, error) {
			return h.applyPatch(ctx, e, base, deactivate)
		}); err != nil {
			writeError(w, asSCIMError(err, h.what(id)))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	e, err := h.deleteByID(ctx, id, ifMatch(r))
	if err != nil {
		writeError(w, asSCIMError(err, h.what(id)))
		return
	}
	// The name may be reused: no member or manager value may keep naming it.
	h.s.upkeepFailed(ctx, "delete", e.DN, h.s.dropDangling(ctx, h.s.mapping(), e.DN))
	h.s.auditChange(ctx, h.rt, id, e.DN, nil)
	w.WriteHeader(http.StatusNoContent)
}
