package gateway

import (
	"net/http"
	"strconv"

	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// list serves GET /{endpoint} (RFC 7644 §3.4.2): the SCIM filter is translated
// into one LDAP filter, so the directory does the filtering; sortBy/sortOrder
// become a server-side sort control (RFC 2891). startIndex/count select a
// window of a paged walk; totalResults counts every match. POST .search shares
// runList (search.go).
func (h *resourceHandler) list(w http.ResponseWriter, r *http.Request) error {
	p, err := h.s.queryParams(r.URL.Query())
	if err != nil {
		return err
	}
	return h.s.runList(w, r, h.m, []*mapping.ResourceType{h.rt}, p)
}

func intParam(s string, def int, name string) (int, *Error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf(400, scimerr.InvalidValue, "%s must be an integer, not %q", name, s)
	}
	return n, nil
}

// writeCursorList sends a ListResponse of a cursor walk (RFC 9865 §2.2):
// nextCursor and previousCursor only when there is such a page; no startIndex.
func writeCursorList(w http.ResponseWriter, resources []any, total int, next, prev string) {
	if resources == nil {
		resources = []any{}
	}
	body := map[string]any{
		"schemas":      []string{listSchema},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
	if next != "" {
		body["nextCursor"] = next
	}
	if prev != "" {
		body["previousCursor"] = prev
	}
	writeJSON(w, 200, body)
}
