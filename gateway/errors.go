package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// Error is a SCIM error response (RFC 7644 §3.12). Status is sent as a string in
// the body, as the RFC's examples do.
type Error struct {
	Status   int
	ScimType string // invalidFilter, invalidSyntax, invalidValue, uniqueness, mutability, tooMany…
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

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// asSCIMError turns any error from the layers below into a SCIM error:
// mapping and filter errors are the client's (400), LDAP result codes are mapped
// as in DESIGN.md §7, and anything unknown is a 500 whose detail reveals nothing.
func asSCIMError(err error, what string) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	e := translate(err, what)
	e.cause = err
	return e
}

// translate is asSCIMError for errors that are not SCIM errors yet: a new *Error.
func translate(err error, what string) *Error {
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
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.LDAPResultEntryAlreadyExists:
			// The add or rename collided with an existing entry's name (DN), e.g. the
			// same userName in another letter case.
			return errorf(409, "uniqueness", "the directory already holds an entry with that name (the naming attribute's value is taken)")
		case ldap.LDAPResultNoSuchObject:
			return errorf(404, "", "%s not found", what)
		case ldap.LDAPResultInsufficientAccessRights:
			return errorf(403, "", "the directory refused the operation on %s: insufficient access rights", what)
		case ldap.LDAPResultAssertionFailed:
			return errorf(412, "", "%s was modified by someone else (version mismatch); read it again and retry", what)
		case ldap.LDAPResultSizeLimitExceeded:
			return errorf(400, "tooMany", "the filter matches too many resources; narrow it")
		case ldap.LDAPResultConstraintViolation, ldap.LDAPResultInvalidAttributeSyntax,
			ldap.LDAPResultObjectClassViolation, ldap.LDAPResultUndefinedAttributeType,
			ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultNamingViolation, ldap.LDAPResultInvalidDNSyntax,
			ldap.LDAPResultNotAllowedOnRDN:
			// The server's diagnostic names the attribute (e.g. "mail: value #0 invalid per syntax").
			return errorf(400, "invalidValue", "the directory rejected %s: %s (LDAP %d %s)", what, le.Err, le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
		case ldap.LDAPResultUnwillingToPerform:
			return errorf(400, "invalidValue", "the directory is unwilling to perform the change to %s: %s", what, le.Err)
		}
	}
	return &Error{Status: 500, Detail: "internal error; see the gateway's log"}
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
	body := map[string]any{"schemas": []string{errorSchema}, "status": strconv.Itoa(e.Status)}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	if e.Detail != "" {
		body["detail"] = e.Detail
	}
	writeJSON(w, e.Status, body)
}

// writeJSON sends body as JSON (jsonenc.go: streamed, as encoding/json would
// write it without HTML escaping).
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = encodeJSON(w, body)
}
