package directory

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/filterxlate"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Kind is what went wrong, as the SCIM side answers it (RFC 7644 §3.12): each
// kind is one HTTP status. A Kind is itself an error, so errors.Is(err,
// directory.ErrNotFound) tests an *Error's kind.
type Kind int

const (
	// Internal: the gateway or the directory failed in a way the client can't
	// change (500).
	Internal Kind = iota
	// NotFound: no resource has the id, or the entry is gone (404).
	NotFound
	// Invalid: the request's values can't be written as they are (400, with a
	// scimType).
	Invalid
	// Forbidden: the directory refused the gateway's account access (403).
	Forbidden
	// Conflict: the directory's state is in the way, e.g. entries below the
	// one to delete, or a value removed meanwhile (409).
	Conflict
	// Uniqueness: a value that must be unique is taken (409 uniqueness).
	Uniqueness
	// Precondition: the resource changed since the version the client names
	// in If-Match (412, RFC 7232 §4.2).
	Precondition
	// Unavailable: the directory can't be reached, is busy, or the write kept
	// racing other writers; a retry later may succeed (503).
	Unavailable
	// Upstream: the directory refuses the gateway's configuration (TLS
	// required, a referral to another server): its operator must act (502).
	Upstream
)

// The kinds to test with errors.Is.
var (
	ErrNotFound     error = NotFound
	ErrInvalid      error = Invalid
	ErrConflict     error = Conflict
	ErrUniqueness   error = Uniqueness
	ErrPrecondition error = Precondition
	ErrUnavailable  error = Unavailable
)

func (k Kind) Error() string {
	return [...]string{"internal error", "not found", "invalid value", "forbidden", "conflict", "not unique",
		"precondition failed", "unavailable", "refused by the directory's configuration"}[k]
}

// Error is a failed resource operation: its Kind, the SCIM error type (for
// Invalid, Uniqueness and list limits), the client's explanation (Detail:
// never a value of another entry, never a password), and the error it stands
// for (Err: an *ldap.Error with the server's diagnostic, a network failure;
// for the operator's log, not the client).
type Error struct {
	Kind     Kind
	ScimType scimerr.Type
	Detail   string
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) (any Kind) true for an *Error of that kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// refuse is an error of the directory layer's own (no LDAP error behind it).
func refuse(k Kind, t scimerr.Type, format string, args ...any) *Error {
	return &Error{Kind: k, ScimType: t, Detail: fmt.Sprintf(format, args...)}
}

func invalid(t scimerr.Type, format string, args ...any) *Error {
	return refuse(Invalid, t, format, args...)
}

func notFound(what string) *Error { return refuse(NotFound, "", "%s not found", what) }

// classify turns an error from the layers below into what the directory layer
// returns, about what ("User 2819c223…", "the password"): an *Error, a
// *mapping.ValueError or a *filterxlate.Error stay as they are (the last two
// are the client's values); an LDAP result code becomes the Kind ldapCodes
// gives it; a network failure or deadline is Unavailable
// (ldapstore.IsUnavailable); anything else is Internal. nil stays nil.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *Error
	var ve *mapping.ValueError
	var fe *filterxlate.Error
	if errors.As(err, &ve) && plannedNote(ve.ID) != "" {
		return &mapping.ValueError{ScimType: ve.ScimType, Msg: ve.Msg + plannedNote(ve.ID), ID: ve.ID}
	}
	if errors.As(err, &de) || errors.As(err, &ve) || errors.As(err, &fe) {
		return err
	}
	// A directory that wants TLS says so to the bind of a connection being
	// redialled too, where ldapstore wraps the answer as a network error: the
	// same configuration problem, told the same way.
	if le := findCode(err, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired); le != nil {
		return ldapCodes[le.ResultCode].answer(le, what, err)
	}
	// The store's own "can't reach the directory" may wrap the answer to a
	// redial's bind (e.g. 53 for a disabled service account): the directory
	// is unavailable, whatever the bind's code says.
	var ue *ldapstore.UnavailableError
	if errors.As(err, &ue) {
		return &Error{Kind: Unavailable, Detail: unavailable, Err: err}
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		if c, ok := ldapCodes[le.ResultCode]; ok {
			return c.answer(le, what, err)
		}
	}
	if ldapstore.IsUnavailable(err) {
		return &Error{Kind: Unavailable, Detail: unavailable, Err: err}
	}
	return &Error{Kind: Internal, Detail: internalError, Err: err}
}

const (
	unavailable   = "the directory is unavailable; retry later"
	internalError = "internal error; see the gateway's log"
)

// codeAnswer is what an LDAP result code becomes.
type codeAnswer struct {
	kind     Kind
	scimType scimerr.Type
	// detail is the client's explanation; nil: a fixed one by kind
	// (unavailable, internal error). It may quote the server's diagnostic
	// where that names an attribute or a limit (never another entry's DN).
	detail func(le *ldap.Error, what string) string
}

func (c codeAnswer) answer(le *ldap.Error, what string, cause error) *Error {
	e := &Error{Kind: c.kind, ScimType: c.scimType, Err: cause}
	switch {
	case c.detail != nil:
		e.Detail = c.detail(le, what)
	case c.kind == Unavailable:
		e.Detail = unavailable
	default:
		e.Detail = internalError
	}
	return e
}

// ldapCodes answers the LDAP result codes a directory may return to the
// gateway's searches, compares, adds, modifies, renames, deletes and password
// changes: those of RFC 4511 Appendix A.2 (with their names there), and
// assertionFailed (RFC 4528). The kinds follow RFC 7644 §3.12: the client's
// (4xx) for what the client can change, the directory's or the gateway's
// configuration (5xx) otherwise (the log then has the LDAP error with the
// server's diagnostic). Left out: success (0), compareFalse/compareTrue (5, 6:
// Compare's answers, not errors), saslBindInProgress (14: the gateway binds
// simply); these, the codes of extensions the gateway doesn't use (e.g.
// Cancel, RFC 3909) and go-ldap's client-side codes are Internal, or
// Unavailable when ldapstore.IsUnavailable. Callers with more context answer
// some codes before this table: sorting and adminLimitExceeded in lists
// (listError), sizeLimitExceeded with VLV paging, 122 and 32 on updates
// (retried on the fresh entry).
var ldapCodes = map[uint16]codeAnswer{
	// operationsError, protocolError: the gateway sent what the server can't
	// take at this point or can't parse: a gateway bug or incompatibility.
	ldap.LDAPResultOperationsError: {kind: Internal},
	ldap.LDAPResultProtocolError:   {kind: Internal},
	// timeLimitExceeded: the server's time limit (or the gateway's) ran out;
	// a retry when it is less loaded may succeed.
	ldap.LDAPResultTimeLimitExceeded: {kind: Unavailable},
	ldap.LDAPResultSizeLimitExceeded: {kind: Invalid, scimType: scimerr.TooMany, detail: func(*ldap.Error, string) string {
		return "the filter matches too many resources; narrow it"
	}},
	// authMethodNotSupported, inappropriateAuthentication, invalidCredentials
	// answer binds, and the gateway binds only as itself: its own account was
	// refused (password changed or expired). Not the client's doing; for the
	// client the directory is unavailable until the operator fixes it.
	ldap.LDAPResultAuthMethodNotSupported:      {kind: Unavailable},
	ldap.LDAPResultInappropriateAuthentication: {kind: Unavailable},
	ldap.LDAPResultInvalidCredentials:          {kind: Unavailable},
	// strongerAuthRequired, confidentialityRequired: the directory wants an
	// encrypted connection (slapd's olcSecurity, AD's LDAP signing), which the
	// gateway's configuration doesn't give it. Upstream (502): the directory
	// refused the gateway; not Unavailable (503), which promises that waiting
	// helps (RFC 9110 §15.6.4).
	ldap.LDAPResultStrongAuthRequired:      {kind: Upstream, detail: needsTLS},
	ldap.LDAPResultConfidentialityRequired: {kind: Upstream, detail: needsTLS},
	// referral: the server passes the operation to another one (a read-only
	// replica asked to write, an entry held elsewhere); the gateway follows no
	// referrals (RFC 4511 §4.1.10), so its directory URL is the wrong server.
	ldap.LDAPResultReferral: {kind: Upstream, detail: func(*ldap.Error, string) string {
		return "the directory server referred the operation to another server (e.g. a read-only replica asked to write), and the gateway follows no referrals; its operator must point SCIM2LDAP_LDAP_URL at a server that holds the entries and accepts writes"
	}},
	// adminLimitExceeded: a limit the directory's administrator set, mostly on
	// searches (e.g. slapd's size.pr below the page asked for): fewer
	// resources per page, a narrower filter or a smaller change pass.
	ldap.LDAPResultAdminLimitExceeded: {kind: Invalid, scimType: scimerr.TooMany, detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory's administrative limits refused the operation on %s (%s); ask for fewer resources per page, narrow the filter or send smaller changes", what, le.Err)
	}},
	// unavailableCriticalExtension: a control the gateway marked critical
	// (assertion, sort, paging, permissive modify) is refused for this
	// operation or entry: the directory's configuration, for the operator.
	ldap.LDAPResultUnavailableCriticalExtension: {kind: Internal},
	// noSuchAttribute: a value the change removes is gone; the entry changed
	// since it was read (the gateway removes only values it read).
	ldap.LDAPResultNoSuchAttribute: {kind: Conflict, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("%s changed meanwhile (a value the change removes is no longer there); read it again and retry", what)
	}},
	// The client's values broke the directory's schema or constraints; the
	// server's diagnostic names the attribute (e.g. "mail: value #0 invalid per syntax").
	ldap.LDAPResultUndefinedAttributeType: {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultConstraintViolation:    {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultAttributeOrValueExists: {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultInvalidAttributeSyntax: {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultInvalidDNSyntax:        {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultNamingViolation:        {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultObjectClassViolation:   {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	ldap.LDAPResultNotAllowedOnRDN:        {kind: Invalid, scimType: scimerr.InvalidValue, detail: rejected},
	// inappropriateMatching: the filter uses a match the attribute's schema
	// has no rule for (e.g. gt on an attribute without an ORDERING rule).
	ldap.LDAPResultInappropriateMatching: {kind: Invalid, scimType: scimerr.InvalidFilter, detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory cannot evaluate the filter on %s: an attribute has no matching rule for that comparison (LDAP 18 inappropriateMatching)", what)
	}},
	ldap.LDAPResultNoSuchObject: {kind: NotFound, detail: func(_ *ldap.Error, what string) string {
		return what + " not found"
	}},
	// aliasProblem, aliasDereferencingProblem: the gateway never dereferences
	// aliases, so these are the directory's anomalies.
	ldap.LDAPResultAliasProblem:              {kind: Internal},
	ldap.LDAPResultAliasDereferencingProblem: {kind: Internal},
	ldap.LDAPResultInsufficientAccessRights: {kind: Forbidden, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("the directory refused the operation on %s: insufficient access rights", what)
	}},
	// busy, unavailable: the server says so itself.
	ldap.LDAPResultBusy:        {kind: Unavailable},
	ldap.LDAPResultUnavailable: {kind: Unavailable},
	// unwillingToPerform: the directory's policy refuses this change (AD:
	// e.g. a password that fails the domain's rules, a protected attribute).
	ldap.LDAPResultUnwillingToPerform: {kind: Invalid, scimType: scimerr.InvalidValue, detail: func(le *ldap.Error, what string) string {
		return fmt.Sprintf("the directory is unwilling to perform the change to %s: %s", what, le.Err)
	}},
	// loopDetect: the directory's servers refer or chain to one another in a loop.
	ldap.LDAPResultLoopDetect: {kind: Upstream, detail: func(*ldap.Error, string) string {
		return "the directory could not complete the operation (its servers refer to one another in a loop); see the gateway's log"
	}},
	// notAllowedOnNonLeaf: a DELETE (or a move, where the server refuses to
	// move subtrees, RFC 4511 §4.9) of an entry that has entries below it;
	// LDAP deletes leaves only (RFC 4511 §4.8), and the gateway does not delete
	// what it doesn't map. The state of the directory, not the request, is in
	// the way: Conflict (RFC 9110 §15.5.10).
	ldap.LDAPResultNotAllowedOnNonLeaf: {kind: Conflict, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("%s has entries below it in the directory, and the directory refuses to remove or move an entry that has any; its administrator must move or remove them first", what)
	}},
	// entryAlreadyExists: the add or rename collided with an existing entry's
	// name (DN), e.g. the same userName in another letter case.
	ldap.LDAPResultEntryAlreadyExists: {kind: Uniqueness, scimType: scimerr.Uniqueness, detail: func(*ldap.Error, string) string {
		return "the directory already holds an entry with that name (the naming attribute's value is taken)"
	}},
	// objectClassModsProhibited: the gateway never changes an entry's object
	// classes after the add: a gateway bug.
	ldap.LDAPResultObjectClassModsProhibited: {kind: Internal},
	// affectsMultipleDSAs: a move to a parent in another naming context (e.g.
	// a department's OU in another database), which LDAP can't do in one rename.
	ldap.LDAPResultAffectsMultipleDSAs: {kind: Invalid, scimType: scimerr.InvalidValue, detail: func(_ *ldap.Error, what string) string {
		return fmt.Sprintf("the directory cannot move %s to its new place: it lies in another part of the directory (LDAP 71 affectsMultipleDSAs)", what)
	}},
	// other: the server failed on its own (slapd: database full, I/O error).
	ldap.LDAPResultOther: {kind: Internal},
	ldap.LDAPResultAssertionFailed: {kind: Precondition, detail: func(_ *ldap.Error, what string) string {
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

// isCode reports whether err is an LDAP result with one of codes.
func isCode(err error, codes ...uint16) bool { return ldap.IsErrorAnyOf(err, codes...) }
