package gateway

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scim2ldap/scim2ldap/mapping"
)

const listSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

// serviceProviderConfig advertises what works, and only that (RFC 7643 §5).
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, 200, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/scim2ldap/scim2ldap#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": s.cfg.BulkMaxOperations, "maxPayloadSize": s.cfg.BulkMaxPayloadSize}, // RFC 7644 §3.7.4; bulk.go
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxPageSize},
		"changePassword":   map[string]any{"supported": s.passwordMapped()},
		"sort":             map[string]any{"supported": s.dir.Sorts()}, // only when the directory offers RFC 2891 sorting
		"etag":             map[string]any{"supported": true},
		// RFC 9865 §4: cursors need the directory's virtual list views (directory.Snapshot.List).
		"pagination": map[string]any{"cursor": s.dir.VirtualListViews(), "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": s.cfg.MaxPageSize, "maxPageSize": s.cfg.MaxPageSize},

		"authenticationSchemes": s.describeSchemes(), // auth.go: the configured schemes

		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.baseURL(r) + "/ServiceProviderConfig"},
	})
	return nil
}

// passwordMapped reports whether a served resource type maps SCIM's password
// (mapping.AttrMap.Password), which POST, PUT and PATCH then set (RFC 7643 §5
// changePassword).
func (s *Server) passwordMapped() bool {
	for _, rt := range s.served() {
		for _, a := range rt.Attrs {
			if a.Password {
				return true
			}
		}
	}
	return false
}

func (s *Server) resourceTypeJSON(r *http.Request, rt *mapping.ResourceType) map[string]any {
	exts := []any{}
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.Schema.ID, "required": e.Required})
	}
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
		"id":               rt.Name,
		"name":             rt.Name,
		"endpoint":         rt.Endpoint,
		"description":      rt.Description,
		"schema":           rt.Schema.ID,
		"schemaExtensions": exts,
		"meta":             map[string]any{"resourceType": "ResourceType", "location": s.baseURL(r) + "/ResourceTypes/" + rt.Name},
	}
}

// resourceTypes serves /ResourceTypes, and /ResourceTypes/{name} (RFC 7644 §4).
func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	return serveDiscovery(w, r, "resource type", "name", s.served(),
		func(rt *mapping.ResourceType) string { return rt.Name },
		func(rt *mapping.ResourceType) map[string]any { return s.resourceTypeJSON(r, rt) })
}

// schemaJSON renders a schema with only the attributes the mapping maps for the
// served resource types (plus id's common attributes), each with its
// characteristics as the mapping sets them (RFC 7643 §7).
func (s *Server) schemaJSON(r *http.Request, schema *mapping.SchemaDef) map[string]any {
	var attrs []*mapping.AttrDef
	for _, def := range schema.Attributes {
		var merged *mapping.AttrDef
		for _, rt := range s.served() {
			if m := rt.Advertised(schema.ID, def); m != nil {
				merged = m
			}
		}
		if merged != nil {
			attrs = append(attrs, merged)
		}
	}
	if attrs == nil {
		attrs = []*mapping.AttrDef{}
	}
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"},
		"id":          schema.ID,
		"name":        schema.Name,
		"description": schema.Description,
		"attributes":  attrs,
		"meta":        map[string]any{"resourceType": "Schema", "location": s.baseURL(r) + "/Schemas/" + schema.ID},
	}
}

func (s *Server) servedSchemas() []*mapping.SchemaDef {
	seen := map[string]bool{}
	var out []*mapping.SchemaDef
	for _, rt := range s.served() {
		for _, sc := range append([]*mapping.SchemaDef{rt.Schema}, extSchemas(rt)...) {
			if !seen[sc.ID] {
				seen[sc.ID] = true
				out = append(out, sc)
			}
		}
	}
	return out
}

func extSchemas(rt *mapping.ResourceType) []*mapping.SchemaDef {
	var out []*mapping.SchemaDef
	for _, e := range rt.Extensions {
		out = append(out, e.Schema)
	}
	return out
}

// schemas serves /Schemas, and /Schemas/{id} (RFC 7644 §4).
func (s *Server) schemas(w http.ResponseWriter, r *http.Request) error {
	return serveDiscovery(w, r, "schema", "id", s.servedSchemas(),
		func(sc *mapping.SchemaDef) string { return sc.ID },
		func(sc *mapping.SchemaDef) map[string]any { return s.schemaJSON(r, sc) })
}

// serveDiscovery serves a discovery endpoint: every item as a ListResponse
// when the route has no {key} variable, else the item whose name is key
// (compared ignoring case), or 404 naming what is missing.
func serveDiscovery[T any](w http.ResponseWriter, r *http.Request, what, key string, items []T, name func(T) string, render func(T) map[string]any) error {
	want, one := mux.Vars(r)[key]
	var list []any
	for _, it := range items {
		switch {
		case !one:
			list = append(list, render(it))
		case strings.EqualFold(name(it), want):
			writeJSON(w, 200, render(it))
			return nil
		}
	}
	if one {
		return errorf(404, "", "no %s %q", what, want)
	}
	writeList(w, list, len(list), 1)
	return nil
}

// writeList sends a ListResponse (RFC 7644 §3.4.2). Resources is [] when empty.
func writeList(w http.ResponseWriter, resources []any, total, startIndex int) {
	if resources == nil {
		resources = []any{}
	}
	writeJSON(w, 200, map[string]any{
		"schemas":      []string{listSchema},
		"totalResults": total,
		"startIndex":   startIndex,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
}
