package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
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

// asSCIMError turns any error from the layers below into a SCIM error (RFC 7644
// §3.12) about what ("User 2819c223…", "the password"): a SCIM error stays as
// it is; mapping and filter errors are the client's (400); an LDAP result code
// is answered as ldapCodes says; a network failure or deadline is a 503
// (ldapstore.IsUnavailable); anything else is a 500 whose detail reveals
// nothing. The result carries err as its cause, for the request log.
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
		return &Error{Status: 400, ScimType: string(ve.ScimType), Detail: ve.Msg}
	}
	var fe *filterxlate.Error
	if errors.As(err, &fe) {
		return &Error{Status: 400, ScimType: string(fe.ScimType()), Detail: fe.Error()}
	}
	// A directory that wants TLS says so to the bind of a connection being
	// redialled too, where ldapstore wraps the answer as a network error: the
	// same configuration problem, told the same way.
	if le := findCode(err, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired); le != nil {
		return ldapCodes[le.ResultCode].answer(le, what)
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		if c, ok := ldapCodes[le.ResultCode]; ok {
			return c.answer(le, what)
		}
	}
	if ldapstore.IsUnavailable(err) {
		return &Error{Status: 503, Detail: unavailable}
	}
	return &Error{Status: 500, Detail: internalError}
}

const (
	unavailable   = "the directory is unavailable; retry later"
	internalError = "internal error; see the gateway's log"
)

// codeAnswer is the SCIM error an LDAP result code becomes.
type codeAnswer struct {
	status   int
	scimType string
	// detail is the client's explanation; nil: a fixed one by status (503
	// unavailable, 500 internal error). It may quote the server's diagnostic
	// where that names an attribute or a limit (never another entry's DN).
	detail func(le *ldap.Error, what string) string
}

func (c codeAnswer) answer(le *ldap.Error, what string) *Error {
	e := &Error{Status: c.status, ScimType: c.scimType}
	switch {
	case c.detail != nil:
		e.Detail = c.detail(le, what)
	case c.status == http.StatusServiceUnavailable:
		e.Detail = unavailable
	default:
		e.Detail = internalError
	}
	return e
}

// ldapCodes answers the LDAP result codes a directory may return to the
// gateway's searches, compares, adds, modifies, renames, deletes and password
// changes: those of RFC 4511 Appendix A.2 (with their names there), and
// assertionFailed (RFC 4528). The SCIM side is RFC 7644 §3.12: 4xx for what
// the client can change, 5xx for the directory or the gateway's configuration
// (the request log then has the LDAP error with the server's diagnostic).
// Left out: success (0), compareFalse/compareTrue (5, 6: Compare's answers,
// not errors), saslBindInProgress (14: the gateway binds simply); these, the
// codes of extensions the gateway doesn't use (e.g. Cancel, RFC 3909) and
// go-ldap's client-side codes are 500, or 503 when ldapstore.IsUnavailable.
// Callers with more context answer some codes before this table: sorting and
// adminLimitExceeded in lists (listError), sizeLimitExceeded with VLV paging,
// 122 and 32 on updates (retried on the fresh entry).
var ldapCodes = map[uint16]codeAnswer{
	// operationsError, protocolError: the gateway sent what the server can't
	// take at this point or can't parse: a gateway bug or incompatibility.
	ldap.LDAPResultOperationsError: {status: 500},
	ldap.LDAPResultProtocolError:   {status: 500},
	// timeLimitExceeded: the server's time limit (or the gateway's) ran out;
	// a retry when it is less loaded may succeed.
	ldap.LDAPResultTimeLimitExceeded: {status: 503},
	ldap.LDAPResultSizeLimitExceeded: {status: 400, scimType: "tooMany", detail: func(*ldap.Error, string) string {
		return "the filter matches too many resources; narrow it"
	}},
	// authMethodNotSupported, inappropriateAuthentication, invalidCredentials
	// answer binds, and the gateway binds only as itself: its own account was
	// refused (password changed or expired). Not the client's doing; for the
	// client the directory is unavailable until the operator fixes it.
	ldap.LDAPResultAuthMethodNotSupported:      {status: 503},
	ldap.LDAPResultInappropriateAuthentication: {status: 503},
	ldap.LDAPResultInvalidCredentials:          {status: 503},
	// strongerAuthRequired, confidentialityRequired: the directory wants an
	// encrypted connection (slapd's olcSecurity, AD's LDAP signing), which the
	// gateway's configuration doesn't give it. 502: the upstream refused the
	// gateway; not 503, which promises that waiting helps (RFC 9110 §15.6.4).
	ldap.LDAPResultStrongAuthRequired:      {status: 502, detail: needsTLS},
	ldap.LDAPResultConfidentialityRequired: {status: 502, detail: needsTLS},
	// referral: the server passes the operation to another one (a read-only
	// replica asked to write, an entry held elsewhere); the gateway follows no
	// referrals (RFC 4511 §4.1.10), so its directory URL is the wrong server.
	ldap.LDAPResultReferral: {status: 502, detail: func(*ldap.Error, string) string {
		return "the directory server referred the operation to another server (e.g. a read-only replica asked to write), and the gateway follows no referrals; its operator must point SCIM2LDAP_LDAP_URL at a server that holds the entries and accepts writes"
	}},
	// adminLimitExceeded: a limit the directory's administrator set, mostly on
	// searches (e.g. slapd's size.pr below the page asked for): fewer
	// resources per page, a narrower filter or a smaller change pass.
	ldap.LDAPResultAdminLimitExceeded: {status: 400, scimType: "tooMany", detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory's administrative limits refused the operation on %s (%s); ask for fewer resources per page, narrow the filter or send smaller changes", what, le.Err)
	}},
	// unavailableCriticalExtension: a control the gateway marked critical
	// (assertion, sort, paging, permissive modify) is refused for this
	// operation or entry: the directory's configuration, for the operator.
	ldap.LDAPResultUnavailableCriticalExtension: {status: 500},
	// noSuchAttribute: a value the change removes is gone; the entry changed
	// since it was read (the gateway removes only values it read).
	ldap.LDAPResultNoSuchAttribute: {status: 409, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("%s changed meanwhile (a value the change removes is no longer there); read it again and retry", what)
	}},
	// The client's values broke the directory's schema or constraints; the
	// server's diagnostic names the attribute (e.g. "mail: value #0 invalid per syntax").
	ldap.LDAPResultUndefinedAttributeType: {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultConstraintViolation:    {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultAttributeOrValueExists: {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultInvalidAttributeSyntax: {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultInvalidDNSyntax:        {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultNamingViolation:        {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultObjectClassViolation:   {status: 400, scimType: "invalidValue", detail: rejected},
	ldap.LDAPResultNotAllowedOnRDN:        {status: 400, scimType: "invalidValue", detail: rejected},
	// inappropriateMatching: the filter uses a match the attribute's schema
	// has no rule for (e.g. gt on an attribute without an ORDERING rule).
	ldap.LDAPResultInappropriateMatching: {status: 400, scimType: "invalidFilter", detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory cannot evaluate the filter on %s: an attribute has no matching rule for that comparison (LDAP 18 inappropriateMatching)", what)
	}},
	ldap.LDAPResultNoSuchObject: {status: 404, detail: func(_ *ldap.Error, what string) string {
		return what + " not found"
	}},
	// aliasProblem, aliasDereferencingProblem: the gateway never dereferences
	// aliases, so these are the directory's anomalies.
	ldap.LDAPResultAliasProblem:              {status: 500},
	ldap.LDAPResultAliasDereferencingProblem: {status: 500},
	ldap.LDAPResultInsufficientAccessRights: {status: 403, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("the directory refused the operation on %s: insufficient access rights", what)
	}},
	// busy, unavailable: the server says so itself.
	ldap.LDAPResultBusy:        {status: 503},
	ldap.LDAPResultUnavailable: {status: 503},
	// unwillingToPerform: the directory's policy refuses this change (AD:
	// e.g. a password that fails the domain's rules, a protected attribute).
	ldap.LDAPResultUnwillingToPerform: {status: 400, scimType: "invalidValue", detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory is unwilling to perform the change to %s: %s", what, le.Err)
	}},
	// loopDetect: the directory's servers refer or chain to one another in a loop.
	ldap.LDAPResultLoopDetect: {status: 502, detail: func(*ldap.Error, string) string {
		return "the directory could not complete the operation (its servers refer to one another in a loop); see the gateway's log"
	}},
	// notAllowedOnNonLeaf: a DELETE (or a move, where the server refuses to
	// move subtrees, RFC 4511 §4.9) of an entry that has entries below it;
	// LDAP deletes leaves only (RFC 4511 §4.8), and the gateway does not delete
	// what it doesn't map. The state of the directory, not the
	// request, is in the way: 409 (RFC 9110 §15.5.10).
	ldap.LDAPResultNotAllowedOnNonLeaf: {status: 409, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("%s has entries below it in the directory, and the directory refuses to remove or move an entry that has any; its administrator must move or remove them first", what)
	}},
	// entryAlreadyExists: the add or rename collided with an existing entry's
	// name (DN), e.g. the same userName in another letter case.
	ldap.LDAPResultEntryAlreadyExists: {status: 409, scimType: "uniqueness", detail: func(*ldap.Error, string) string {
		return "the directory already holds an entry with that name (the naming attribute's value is taken)"
	}},
	// objectClassModsProhibited: the gateway never changes an entry's object
	// classes after the add: a gateway bug.
	ldap.LDAPResultObjectClassModsProhibited: {status: 500},
	// affectsMultipleDSAs: a move to a parent in another naming context (e.g.
	// a department's OU in another database), which LDAP can't do in one rename.
	ldap.LDAPResultAffectsMultipleDSAs: {status: 400, scimType: "invalidValue", detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("the directory cannot move %s to its new place: it lies in another part of the directory (LDAP 71 affectsMultipleDSAs)", what)
	}},
	// other: the server failed on its own (slapd: database full, I/O error).
	ldap.LDAPResultOther: {status: 500},
	ldap.LDAPResultAssertionFailed: {status: 412, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("%s was modified by someone else (version mismatch); read it again and retry", what)
	}},
}

// rejected explains a value the directory's schema or constraints refused.
func rejected(le *ldap.Error, what string) string {
	return fmt.Sprintf("the directory rejected %s: %s (LDAP %d %s)", what, le.Err, le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
}

// needsTLS explains strongerAuthRequired and confidentialityRequired.
func needsTLS(le *ldap.Error, _ string) string {
	return fmt.Sprintf("the directory requires an encrypted connection from the gateway (LDAP %d %s); its operator must configure an ldaps:// SCIM2LDAP_LDAP_URL or SCIM2LDAP_LDAP_STARTTLS=true",
		le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
}

// findCode returns the first *ldap.Error in err's chain with one of codes, or
// nil. errors.As stops at the first *ldap.Error, which for a redial is
// ldapstore's network error around the bind's answer.
func findCode(err error, codes ...uint16) *ldap.Error {
	for ; err != nil; err = errors.Unwrap(err) {
		if le, ok := err.(*ldap.Error); ok && slices.Contains(codes, le.ResultCode) {
			return le
		}
	}
	return nil
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
