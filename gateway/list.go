package gateway

import (
	"net/http"
	"strconv"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// pageSize is the LDAP paged-results page size (RFC 2696) for list walks; it
// bounds the memory of one request.
const pageSize = 500

// list serves GET /{endpoint} (RFC 7644 §3.4.2): the SCIM filter is translated
// into one LDAP filter, so the directory does the filtering; sortBy/sortOrder
// become a server-side sort control (RFC 2891). startIndex/count select a
// window of a paged walk; totalResults counts every match. POST .search shares
// runList (search.go).
func (h *resourceHandler) list(w http.ResponseWriter, r *http.Request) {
	p, err := h.s.queryParams(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	h.s.runList(w, r, []*mapping.ResourceType{h.rt}, p)
}

func intParam(s string, def int, name string) (int, *Error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf(400, "invalidValue", "%s must be an integer, not %q", name, s)
	}
	return n, nil
}
