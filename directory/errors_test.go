package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// What each LDAP result code becomes (ldapCodes), without a directory: the
// errors are built as go-ldap and ldapstore build them.
func TestLDAPCodeAnswers(t *testing.T) {
	answer := func(code uint16, diag string) error { return &ldap.Error{ResultCode: code, Err: errors.New(diag)} }
	// ldapstore: a failed redial (dial, StartTLS, bind) is an UnavailableError.
	redial := func(inner error) error {
		return &ldapstore.UnavailableError{Err: fmt.Errorf("LDAP bind as %q: %w", "cn=gateway,dc=example,dc=org", inner)}
	}
	cases := []struct {
		err      error
		kind     Kind
		scimType scimerr.Type
		mention  string // in the detail
	}{
		{answer(1, "operations error"), Internal, "", "internal error"},
		{answer(2, "unsupported extended operation"), Internal, "", "internal error"},
		{answer(3, "time limit exceeded"), Unavailable, "", "retry later"},
		{answer(4, "size limit exceeded"), Invalid, "tooMany", "narrow"},
		{answer(7, ""), Unavailable, "", "retry later"},
		{answer(8, "operation requires strong authentication"), Upstream, "", "SCIM2LDAP_LDAP_STARTTLS"},
		{answer(10, "ldap://replica.example.org/uid=x"), Upstream, "", "SCIM2LDAP_LDAP_URL"},
		{answer(11, "illegal pagedResults page size"), Invalid, "tooMany", "administrative limits"},
		{answer(12, "critical extension is unavailable"), Internal, "", "internal error"},
		{answer(13, "confidentiality required for update"), Upstream, "", "ldaps://"},
		{answer(16, "modify/delete: mail: no such value"), Conflict, "", "changed meanwhile"},
		{answer(17, "description1: attribute type undefined"), Invalid, "invalidValue", "attribute type undefined"},
		{answer(18, ""), Invalid, "invalidFilter", "filter"},
		{answer(19, "some attributes not unique"), Invalid, "invalidValue", "not unique"},
		{answer(20, "mail: value #1 provided more than once"), Invalid, "invalidValue", "more than once"},
		{answer(21, "mail: value #0 invalid per syntax"), Invalid, "invalidValue", "invalid per syntax"},
		{answer(32, ""), NotFound, "", "User 42 not found"},
		{answer(33, ""), Internal, "", "internal error"},
		{answer(34, "invalid DN"), Invalid, "invalidValue", "invalid DN"},
		{answer(36, ""), Internal, "", "internal error"},
		{answer(48, ""), Unavailable, "", "retry later"},
		{answer(49, ""), Unavailable, "", "retry later"},
		{answer(50, ""), Forbidden, "", "insufficient access rights"},
		{answer(51, "busy"), Unavailable, "", "retry later"},
		{answer(52, "shutting down"), Unavailable, "", "retry later"},
		{answer(53, "operation restricted"), Invalid, "invalidValue", "operation restricted"},
		{answer(54, ""), Upstream, "", "loop"},
		{answer(64, "naming attribute 'uid' is not present in entry"), Invalid, "invalidValue", "naming attribute"},
		{answer(65, "object class 'inetOrgPerson' requires attribute 'sn'"), Invalid, "invalidValue", "requires attribute"},
		{answer(66, "subordinate objects must be deleted first"), Conflict, "", "entries below it"},
		{answer(67, ""), Invalid, "invalidValue", "LDAP 67"},
		{answer(68, "Already exists"), Uniqueness, "uniqueness", "already holds"},
		{answer(69, ""), Internal, "", "internal error"},
		{answer(71, "cannot rename between naming contexts"), Invalid, "invalidValue", "another part"},
		{answer(80, "entry store failed"), Internal, "", "internal error"},
		{answer(122, ""), Precondition, "", "modified by someone else"},
		{answer(119, ""), Internal, "", "internal error"},                                    // no such operation (RFC 3909): not in the table
		{answer(ldap.ErrorUnexpectedResponse, "unexpected"), Internal, "", "internal error"}, // go-ldap's own
		{answer(ldap.ErrorNetwork, "connection closed"), Unavailable, "", "retry later"},
		{&ldap.Error{ResultCode: ldap.ErrorNetwork, Err: context.DeadlineExceeded}, Unavailable, "", "retry later"},
		{redial(answer(49, "")), Unavailable, "", "retry later"},
		{redial(answer(53, "account disabled")), Unavailable, "", "retry later"},
		{redial(answer(32, "")), Unavailable, "", "retry later"},
		{&ldapstore.UnavailableError{Err: context.DeadlineExceeded}, Unavailable, "", "retry later"},
		{redial(answer(13, "confidentiality required")), Upstream, "", "SCIM2LDAP_LDAP_STARTTLS"},
		{errors.New("something else"), Internal, "", "internal error"},
	}
	for _, c := range cases {
		var e *Error
		if !errors.As(classify(c.err, "User 42"), &e) {
			t.Fatalf("%v: not classified", c.err)
		}
		if e.Kind != c.kind || e.ScimType != c.scimType || !strings.Contains(e.Detail, c.mention) {
			t.Errorf("%v: %v %q %q; want %v %q mentioning %q", c.err, e.Kind, e.ScimType, e.Detail, c.kind, c.scimType, c.mention)
		}
		if !errors.Is(e, c.err) || !errors.Is(e, c.kind) {
			t.Errorf("%v: the error does not carry it as its cause, or is not errors.Is its kind", c.err)
		}
		if (c.kind == Internal || c.kind == Unavailable) && strings.Contains(e.Detail, "LDAP Result Code") {
			t.Errorf("%v: the detail tells the client the directory's error: %q", c.err, e.Detail)
		}
	}
	// What is classified already, and the client's value errors, stay as they are.
	own := refuse(Precondition, "", "changed")
	ve := &mapping.ValueError{ScimType: "invalidValue", Msg: "bad"}
	for _, err := range []error{own, fmt.Errorf("update: %w", own), ve} {
		if classify(err, "x") != err {
			t.Errorf("%v was classified again", err)
		}
	}
}

// Every result code of RFC 4511 Appendix A.2 has its answer in the table, but
// those that are no errors of the operations the gateway sends.
func TestLDAPCodesComplete(t *testing.T) {
	notErrors := map[uint16]bool{0: true, 5: true, 6: true, 14: true} // success, compareFalse/True, saslBindInProgress
	rfc4511 := []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 32, 33, 34, 36,
		48, 49, 50, 51, 52, 53, 54, 64, 65, 66, 67, 68, 69, 71, 80}
	for _, code := range rfc4511 {
		if _, ok := ldapCodes[code]; ok == notErrors[code] {
			t.Errorf("LDAP %d %s: in the table %v", code, ldap.LDAPResultCodeMap[code], ok)
		}
	}
}

// A directory's password-quality check may quote the password it refuses in
// its diagnostic (a check module's message is passed on as it is): the error
// setPassword returns never holds it, so neither the client's detail (400) nor
// the request log (5xx) does; the result code, which decides the answer, stays.
func TestPasswordScrubbedFromErrors(t *testing.T) {
	const pw = "Summer2024!"
	for _, err := range []error{
		&ldap.Error{ResultCode: ldap.LDAPResultConstraintViolation, Err: errors.New(`password "Summer2024!" is in the dictionary`)},
		&ldap.Error{ResultCode: ldap.LDAPResultOther, Err: errors.New("check module failed on Summer2024!")},
	} {
		got := scrubPassword(err, pw)
		want := classify(err, "the password").(*Error)
		e := classify(got, "the password").(*Error)
		if strings.Contains(got.Error(), pw) || strings.Contains(e.Detail, pw) || e.Kind != want.Kind || e.ScimType != want.ScimType {
			t.Errorf("%v: scrubbed to %v, answered %v %q %q", err, got, e.Kind, e.ScimType, e.Detail)
		}
	}
	plain := &ldap.Error{ResultCode: ldap.LDAPResultConstraintViolation, Err: errors.New("Password fails quality checking policy")}
	if scrubPassword(plain, pw) != plain || scrubPassword(nil, pw) != nil {
		t.Error("an error without the password was changed")
	}
}
