package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// Error is a SCIM error response (RFC 7644 §3.12). Status is sent as a string in
// the body, as the RFC's examples do.
type Error struct {
	Status   int
	ScimType scimerr.Type
	Detail   string
	// cause is the error the response stands for (an LDAP result with the
	// server's diagnostic, a network failure): for the request log, which
	// writes it for a 5xx (ServeHTTP). It is never sent to the client:
	// writeError sends Status, ScimType and Detail only.
	cause error
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.ScimType, e.Detail) }

// Unwrap returns the cause (nil for the gateway's own refusals).
func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, scimType scimerr.Type, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// asSCIMError turns any error a handler returns into a SCIM error (RFC 7644
// §3.12): a SCIM error stays as it is; the directory layer's errors are
// answered by their kind (directory.Kind: statusOf); mapping and filter
// errors are the client's (400); a network failure or deadline is a 503
// (ldapstore.IsUnavailable); anything else is a 500 whose detail reveals
// nothing. The result carries err as its cause, for the request log.
func asSCIMError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	e := translate(err)
	e.cause = err
	return e
}

// translate is asSCIMError for errors that are not SCIM errors yet: a new *Error.
func translate(err error) *Error {
	var de *directory.Error
	if errors.As(err, &de) {
		return &Error{Status: statusOf[de.Kind], ScimType: de.ScimType, Detail: de.Detail}
	}
	var ve *mapping.ValueError
	if errors.As(err, &ve) {
		return &Error{Status: 400, ScimType: ve.ScimType, Detail: ve.Msg}
	}
	var fe *filterxlate.Error
	if errors.As(err, &fe) {
		return &Error{Status: 400, ScimType: fe.ScimType(), Detail: fe.Error()}
	}
	if ldapstore.IsUnavailable(err) {
		return &Error{Status: 503, Detail: "the directory is unavailable; retry later"}
	}
	return &Error{Status: 500, Detail: "internal error; see the gateway's log"}
}

// statusOf is the HTTP status of each kind of directory error (RFC 7644
// §3.12; 502 and 503 as RFC 9110 §15.6.3–4 define them).
var statusOf = map[directory.Kind]int{
	directory.Internal:     http.StatusInternalServerError,
	directory.NotFound:     http.StatusNotFound,
	directory.Invalid:      http.StatusBadRequest,
	directory.Forbidden:    http.StatusForbidden,
	directory.Conflict:     http.StatusConflict,
	directory.Uniqueness:   http.StatusConflict,
	directory.Precondition: http.StatusPreconditionFailed,
	directory.Unavailable:  http.StatusServiceUnavailable,
	directory.Upstream:     http.StatusBadGateway,
}

// handlerFunc is a handler that returns its error instead of writing it; see
// answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// answer adapts h to net/http: the one place where a handler's error becomes
// the SCIM error response (asSCIMError, writeError), so every handler answers
// errors the same way and every 5xx's cause reaches the request log.
func answer(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, asSCIMError(err))
		}
	}
}

// writeError sends a SCIM error. 503s carry Retry-After (RFC 7231 §7.1.3). The
// error's cause (its detail when it has none: the gateway's own refusal) goes
// to the request log (noteCause).
func writeError(w http.ResponseWriter, e *Error) {
	cause := e.cause
	if cause == nil {
		cause = errors.New(e.Detail)
	}
	noteCause(w, cause)
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if e.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim2ldap"`)
	}
	writeJSON(w, e.Status, errorBody(e))
}

// errorBody is e as a SCIM error body (RFC 7644 §3.12); a Bulk operation's
// "response" too (§3.7.3).
func errorBody(e *Error) map[string]any {
	body := map[string]any{"schemas": []string{errorSchema}, "status": strconv.Itoa(e.Status)}
	if e.ScimType != "" {
		body["scimType"] = string(e.ScimType)
	}
	if e.Detail != "" {
		body["detail"] = e.Detail
	}
	return body
}

// writeJSON sends body as JSON (jsonenc.go: streamed, as encoding/json would
// write it without HTML escaping).
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = encodeJSON(w, body)
}
