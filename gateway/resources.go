package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// resourceHandler serves one resource type's endpoint (RFC 7644 §3.3–§3.6).
// Its mapping is the one its routes were built with (SetMapping), so a
// request keeps it from start to end even when a reload swaps the routes.
type resourceHandler struct {
	s  *Server
	m  *mapping.Mapping
	rt *mapping.ResourceType
}

// resources are the directory operations on h's type, seen through h's
// mapping and the request's base URL (one snapshot per request).
func (h *resourceHandler) resources(r *http.Request) *directory.Resources {
	return h.s.dir.Snapshot(h.m, h.s.baseURL(r)).Resources(h.rt)
}

// readBody decodes a JSON object body. Content-Type must be application/scim+json
// or application/json (RFC 7644 §3.1); numbers stay json.Number.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/scim+json" && mt != "application/json") {
			return nil, errorf(415, scimerr.InvalidSyntax, "Content-Type must be application/scim+json or application/json, not %q", ct)
		}
	}
	data, err := io.ReadAll(r.Body) // bounded by Config.MaxBodyBytes (ServeHTTP)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf(413, "", "request body exceeds %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, errorf(400, scimerr.InvalidSyntax, "reading the request body: %v", err)
	}
	// JSON is UTF-8 (RFC 8259 §8.1); Go's decoder would silently turn bad bytes
	// into U+FFFD and store them.
	if !utf8.Valid(data) {
		return nil, errorf(400, scimerr.InvalidSyntax, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		if err == io.EOF {
			return nil, errorf(400, scimerr.InvalidSyntax, "request body is empty; send a JSON object")
		}
		return nil, errorf(400, scimerr.InvalidSyntax, "request body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return nil, errorf(400, scimerr.InvalidSyntax, "request body has data after the JSON object")
	}
	if body == nil {
		return nil, errorf(400, scimerr.InvalidSyntax, "request body must be a JSON object, not null")
	}
	return body, nil
}

// checkSchemas requires the resource type's core schema in "schemas" when the
// client sends the attribute (RFC 7643 §3); a body without it is accepted.
func (h *resourceHandler) checkSchemas(body map[string]any) error {
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
	return errorf(400, scimerr.InvalidValue, "schemas must include %s", h.rt.Schema.ID)
}

// writeResource sends a resource with its ETag (RFC 7644 §3.14) and, for 201,
// its Location (RFC 7644 §3.3).
func (h *resourceHandler) writeResource(w http.ResponseWriter, r *http.Request, status int, res *directory.Resource) {
	if res.Version != "" {
		w.Header().Set("ETag", mapping.ETag(res.Version))
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", mapping.Location(h.s.baseURL(r), h.rt.Endpoint, res.ID))
	}
	writeJSON(w, status, res.Attributes)
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
func (h *resourceHandler) get(w http.ResponseWriter, r *http.Request) error {
	res, err := h.resources(r).Get(r.Context(), mux.Vars(r)["id"], projection(h.rt, r))
	if err != nil {
		return err
	}
	// If-None-Match with the current version: 304, no body (RFC 7644 §3.14, RFC 7232 §3.2).
	if res.Version != "" {
		// A malformed value matches no version: the resource is sent.
		tags, star, ok := parseETags(r.Header.Get("If-None-Match"))
		if ok && (star || slices.Contains(tags, res.Version)) {
			w.Header().Set("ETag", mapping.ETag(res.Version))
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	h.writeResource(w, r, 200, res)
	return nil
}

// readResource reads a resource from a request body (POST, PUT) and checks it
// before the directory layer converts it: the schemas it names, and what it holds that the mapping
// doesn't store (mapping.ResourceType.Unstored: unknown attributes, and
// attributes the schemas define but nothing maps). That is ignored, as RFC
// 7644 §3.3 lets a server ignore POSTed content, and named in the write's audit
// event; with `unmappedAttributes: refuse` it is a 400 invalidSyntax, the
// scimType of a body that doesn't conform to the request schema (§3.12), which
// /Schemas gives as the mapped attributes.
func (h *resourceHandler) readResource(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if err := h.checkSchemas(body); err != nil {
		return nil, err
	}
	var ignored, details []string
	for _, f := range h.rt.Unstored(body) {
		if f.Misplaced {
			return nil, errorf(400, scimerr.InvalidSyntax, "%s", f.Detail)
		}
		ignored, details = append(ignored, f.Path), append(details, f.Detail)
	}
	if h.rt.RefuseUnmapped && len(details) > 0 {
		return nil, errorf(400, scimerr.InvalidSyntax, "%s (the mapping has unmappedAttributes: refuse)", strings.Join(details, "; "))
	}
	noteIgnored(r.Context(), ignored)
	return body, nil
}

// create serves POST /{endpoint} (RFC 7644 §3.3): 201 with the new resource.
func (h *resourceHandler) create(w http.ResponseWriter, r *http.Request) error {
	body, err := h.readResource(w, r)
	if err != nil {
		return err
	}
	res := h.resources(r)
	written, err := res.Create(r.Context(), body)
	if err != nil {
		return err
	}
	created, err := res.GetDN(r.Context(), written.DN, projection(h.rt, r))
	if created != nil {
		written.ID = created.ID
	}
	h.s.auditChange(r.Context(), h.rt, written) // the add happened, even if the read fails
	if err != nil {
		return err
	}
	h.writeResource(w, r, http.StatusCreated, created)
	return nil
}

// replace serves PUT /{endpoint}/{id} (RFC 7644 §3.5.1): attributes absent from
// the body are cleared, read-only ones ignored; membership lists are set to
// exactly the list sent.
func (h *resourceHandler) replace(w http.ResponseWriter, r *http.Request) error {
	body, err := h.readResource(w, r)
	if err != nil {
		return err
	}
	written, err := h.resources(r).Replace(r.Context(), mux.Vars(r)["id"], ifMatch(r), body)
	if err != nil {
		return err
	}
	h.s.auditUpdate(r.Context(), h.rt, written)
	return h.respondAfterWrite(w, r, written, 200)
}

// respondAfterWrite reads the entry and sends it, or 204 when the client asked
// for no body with "Prefer: return=minimal" (RFC 7240 §4.2).
func (h *resourceHandler) respondAfterWrite(w http.ResponseWriter, r *http.Request, written directory.Written, status int) error {
	if strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "return=minimal") {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	res, err := h.resources(r).GetWritten(r.Context(), written, projection(h.rt, r))
	if err != nil {
		return err
	}
	h.writeResource(w, r, status, res)
	return nil
}

// delete serves DELETE /{endpoint}/{id} (RFC 7644 §3.6): 204, or 404 if absent.
// With If-Match the delete is guarded by the version. With the mapping's
// onDelete: deactivate, DELETE is PATCH replace active false: the mapping
// keeps leavers.
func (h *resourceHandler) delete(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	var written directory.Written
	var err error
	if h.rt.OnDelete == mapping.OnDeleteDeactivate {
		deactivate := []patchOp{{Op: "replace", Value: map[string]any{"active": false}, hasV: true}}
		written, err = h.resources(r).Update(r.Context(), id, ifMatch(r), h.patcher(r, deactivate))
		if err == nil {
			h.s.auditUpdate(r.Context(), h.rt, written)
		}
	} else if written, err = h.resources(r).Delete(r.Context(), id, ifMatch(r)); err == nil {
		h.s.auditChange(r.Context(), h.rt, written)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
