package gateway

import (
	"net/http"
	"strconv"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// pageSize is the LDAP paged-results page size (RFC 2696) for list walks; it
// bounds the memory of one request.
const pageSize = 500

// list serves GET /{endpoint} (RFC 7644 §3.4.2): the SCIM filter is translated
// into one LDAP filter, so the directory does the filtering. startIndex/count
// select a window of a paged walk; totalResults counts every match. When the
// window ends before the result does, the walk stops and a second, attribute-less
// walk counts the rest.
func (h *resourceHandler) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	startIndex, err := intParam(q.Get("startIndex"), 1, "startIndex")
	if err != nil {
		writeError(w, err)
		return
	}
	startIndex = max(startIndex, 1) // RFC 7644 §3.4.2.4: less than 1 means 1
	count, err := intParam(q.Get("count"), h.s.cfg.MaxPageSize, "count")
	if err != nil {
		writeError(w, err)
		return
	}
	count = min(max(count, 0), h.s.cfg.MaxPageSize) // negative means 0
	filter := h.rt.Filter
	if f := q.Get("filter"); f != "" {
		expr, perr := filterxlate.Parse(f)
		if perr != nil {
			writeError(w, asSCIMError(perr, h.rt.Name))
			return
		}
		ldapFilter, terr := filterxlate.Translate(expr, h.rt, filterxlate.DNLookup(h.s.idLookup(ctx)))
		if terr != nil {
			writeError(w, asSCIMError(terr, h.rt.Name))
			return
		}
		filter = "(&" + h.rt.Filter + ldapFilter + ")"
	}
	p := projection(h.rt, r)
	attrs := h.rt.LDAPAttributes(p)
	if count == 0 {
		attrs = []string{"1.1"}
	}
	req := ldap.NewSearchRequest(h.rt.Base, h.rt.Scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
	var window []*ldap.Entry
	seen, complete := 0, true
	err2 := h.store().SearchPages(ctx, req, pageSize, func(page []*ldap.Entry) bool {
		for _, e := range page {
			seen++
			if seen >= startIndex && len(window) < count {
				window = append(window, e)
			}
		}
		if len(window) == count && count > 0 {
			complete = false
			return false
		}
		return true
	})
	if err2 == nil && !complete {
		seen = 0
		countReq := ldap.NewSearchRequest(h.rt.Base, h.rt.Scope, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"}, nil)
		err2 = h.store().SearchPages(ctx, countReq, pageSize, func(page []*ldap.Entry) bool {
			seen += len(page)
			return true
		})
	}
	if err2 != nil {
		writeError(w, asSCIMError(err2, h.rt.Name))
		return
	}
	resources, err3 := h.render(ctx, r, window, p)
	if err3 != nil {
		writeError(w, asSCIMError(err3, h.rt.Name))
		return
	}
	writeList(w, resources, seen, startIndex)
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
